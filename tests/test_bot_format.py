"""HTML escaping and splitting under Telegram's limit; settings from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Settings
from bot.format import MESSAGE_LIMIT, esc, html_to_plain, plain_to_html, split_message, utf16_len
from tests.botapi_stub import parse_html

ROOT = Path(__file__).resolve().parents[1]


def test_escape_and_back() -> None:
    text = "<b>A&B</b> 第5条 > 3"
    assert esc(text) == "&lt;b&gt;A&amp;B&lt;/b&gt; 第5条 &gt; 3"
    assert html_to_plain(f"<b>{esc(text)}</b>") == text


def test_plain_card_markup_parses() -> None:
    html = plain_to_html("【第5条 <测试>】\n正文 & 更多\n⚠️ 提示：已过期")
    assert html.startswith("<b>【第5条 &lt;测试&gt;】</b>")
    assert "<i>⚠️ 提示：已过期</i>" in html
    text, entities = parse_html(html)
    assert text.startswith("【第5条 <测试>】")
    assert {e["type"] for e in entities} == {"bold", "italic"}


def test_short_text_is_one_piece() -> None:
    assert split_message("你好") == ["你好"]


@given(
    st.lists(
        st.text(alphabet=st.sampled_from(["跨", "境", "a", "&", "<", "😀", " "]), max_size=300).map(esc),
        min_size=1,
        max_size=80,
    )
)
def test_split_keeps_everything_under_the_limit(lines: list[str]) -> None:
    text = "\n".join(f"<b>{line}</b>" if i % 3 == 0 else line for i, line in enumerate(lines))
    pieces = split_message(text, limit=500)
    assert all(utf16_len(p) <= 500 for p in pieces)
    for piece in pieces:
        parse_html(piece)  # no tag or entity cut in two
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")


def test_one_huge_line_is_cut_hard() -> None:
    pieces = split_message("跨" * 10_000)
    assert len(pieces) >= 3
    assert all(utf16_len(p) <= MESSAGE_LIMIT for p in pieces)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081")
    monkeypatch.setenv("DATABASE_PATH", "/tmp/x.sqlite3")
    monkeypatch.setenv("ADMIN_IDS", "1, 2 3")
    monkeypatch.setenv("WEBHOOK_URL", "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings)
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert str(settings.database_path) == "/tmp/x.sqlite3"
    assert settings.admin_ids == {1, 2, 3}
    assert settings.webhook_url is None


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_PATH", "ADMIN_IDS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.bot_token is None
    assert settings.telegram_api_url is None
    assert settings.database_path == Path("data/policybot.sqlite3")
    assert settings.admin_ids == frozenset()


def test_env_example_documents_every_setting() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"{name.upper()}=" in example, name


def test_run_without_a_token_says_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "BOT_TOKEN" in result.stderr
    assert "policybot chat" in result.stderr
    assert not (tmp_path / "data").exists()  # nothing created
