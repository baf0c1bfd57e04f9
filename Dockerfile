# Slim, non-root image running the bot; its SQLite database lives on the /data volume.
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 policybot
# A Chinese font for the PDF report and the staff charts (bot/report/fonts.py looks for it).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY eligibility ./eligibility
COPY locales ./locales
RUN pip install --no-cache-dir . && mkdir /data && chown policybot /data

USER policybot
ENV DATABASE_PATH=/data/policybot.sqlite3
VOLUME ["/data"]
CMD ["policybot", "run"]
