"""Settings from the environment (and an optional `.env`); `.env.example` documents each one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE = Path("data") / "policybot.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    telegram_api_url: str | None = None  # a custom Bot API server; None: Telegram's
    database_path: Path = DEFAULT_DATABASE
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    # `policybot run --webhook`: Telegram posts to WEBHOOK_URL + WEBHOOK_PATH; this process listens on
    # WEBHOOK_HOST:WEBHOOK_PORT behind a TLS-terminating proxy. Without WEBHOOK_SECRET a random secret
    # is set with setWebhook at each start.
    webhook_url: str | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    # Load and faults (bot/middlewares.py RateLimitMiddleware, bot/delivery.py, bot/polling.py):
    # each user may send RATE_LIMIT_BURST updates at once, then RATE_LIMIT_PER_SECOND (0 burst: off);
    # Bot API calls that fail on the network or with 5xx are retried API_MAX_RETRIES times (429 is
    # always waited out, up to API_MAX_RETRY_AFTER seconds a time); on SIGTERM, updates in flight
    # get SHUTDOWN_TIMEOUT seconds to finish.
    rate_limit_burst: int = Field(default=5, ge=0)
    rate_limit_per_second: float = Field(default=1.0, gt=0)
    api_max_retries: int = Field(default=5, ge=0)
    api_max_retry_after: int = Field(default=60, ge=1)
    shutdown_timeout: float = Field(default=20.0, gt=0)
    # Privacy (bot/privacy.py): questions are kept this many days for staff, then purged.
    question_log_retention_days: int = Field(default=90, ge=1)
    # The web door (`policybot web`, bot/web/): served on WEB_HOST:WEB_PORT behind the bureau's HTTPS
    # reverse proxy, whose address (WEB_TRUSTED_PROXIES) is the one whose X-Forwarded-For is believed.
    # WEB_SECURE_COOKIES marks the session cookie Secure (on once the page is served over https).
    # A session idle WEB_SESSION_DAYS is deleted with its transcript. Requests are capped in size,
    # texts in length, and rated per session, per address, and sessions created per address.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    web_secure_cookies: bool = False
    web_trusted_proxies: str = "127.0.0.1 ::1"
    web_session_days: int = Field(default=30, ge=1)
    web_max_body_bytes: int = Field(default=16_384, ge=1024)
    web_max_text_chars: int = Field(default=2000, ge=1)
    web_rate_session_burst: int = Field(default=10, ge=1)
    web_rate_session_per_second: float = Field(default=2.0, gt=0)
    web_rate_address_burst: int = Field(default=120, ge=1)
    web_rate_address_per_second: float = Field(default=20.0, gt=0)
    web_new_sessions_burst: int = Field(default=20, ge=1)
    web_new_sessions_per_minute: float = Field(default=6.0, gt=0)
    # Pictures for staff (/stats) and reports: a .ttf/.ttc with Chinese glyphs; None: a system one
    # (bot/report/fonts.py). Without any, /stats sends its text only.
    report_font: str | None = None
    # The knowledge base: a directory of policy documents (NAME.yaml beside its source NAME.md) in
    # place of the shipped one (`--kb DIR` on the command line); staff edits go on top, as ever.
    kb_dir: Path | None = None

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """`ADMIN_IDS=1,2 3` → {1, 2, 3}."""
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(",", " ").split())
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("telegram_api_url", "webhook_url", "bot_token", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
