"""`policybot kb export|import|history|rollback` and `policybot stats` on the bot's database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.store.db import open_database
from bot.store.stats import FINISHED, STARTED, record_event
from bot.store.users import QuestionLog
from knowledge import overlay


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "bot.sqlite3")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_edit_by_import_rollback_and_export_equal_the_state_before(
    tmp_path: Path, db_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tmp_path / "before.yaml"
    code, _, err = run(capsys, "kb", "export", str(before), "--db", db_path)
    assert code == 0
    assert "exported hengzhengfa-2024-4 (change #1)" in err
    raw = overlay.load_raw(before.read_text(encoding="utf-8"))

    edited = tmp_path / "edited.yaml"
    edited.write_text(overlay.dump(overlay.set_field(raw, "m5", "synonyms", ["洋人生意"])), encoding="utf-8")
    code, out, _ = run(capsys, "kb", "import", str(edited), "--dry-run", "--db", db_path)
    assert code == 0
    assert "m5.synonyms: + 洋人生意" in out
    assert "dry run: nothing changed" in out
    code, out, _ = run(capsys, "kb", "import", str(edited), "--db", db_path)
    assert (code, out.splitlines()[-1]) == (0, "imported as change #2")

    code, out, _ = run(capsys, "kb", "history", "m5", "--json", "--db", db_path)
    [change] = json.loads(out)
    assert (change["id"], change["action"], change["note"]) == (2, "import", "edited.yaml")
    assert change["who"].startswith("cli")
    assert change["changes"][0]["after"] == ["洋人生意"]

    code, out, _ = run(capsys, "kb", "rollback", "#2", "--db", db_path)
    assert code == 0
    assert "m5.synonyms: " in out
    assert "− 洋人生意" in out
    assert out.splitlines()[-1] == "rolled back as change #3"

    code, out, _ = run(capsys, "kb", "export", "-", "--db", db_path)
    assert overlay.load_raw(out) == raw
    code, out, _ = run(capsys, "kb", "history", "--db", db_path)
    assert [line.split()[0] for line in out.splitlines() if line.startswith("#")] == ["#3", "#2", "#1"]


def test_an_import_of_a_broken_file_changes_nothing_and_names_the_problem(
    tmp_path: Path, db_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    run(capsys, "kb", "export", str(good), "--db", db_path)
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        good.read_text(encoding="utf-8").replace("有效期两年。", "有效期三年。", 1), encoding="utf-8"
    )
    code, out, err = run(capsys, "kb", "import", str(broken), "--db", db_path)
    assert code == 1
    assert "broken.yaml: document.validity.quote: quote not found in the source text" in err
    assert "nothing changed" in err
    code, out, _ = run(capsys, "kb", "history", "--json", "--db", db_path)
    assert [v["action"] for v in json.loads(out)] == ["shipped"]
    code, _, err = run(capsys, "kb", "import", str(tmp_path / "missing.yaml"), "--db", db_path)
    assert code == 1
    assert "cannot read" in err
    code, _, err = run(capsys, "kb", "rollback", "7", "--db", db_path)
    assert (code, "no change #7" in err) == (1, True)


def test_stats_print_what_staff_see(db_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    async def seed() -> None:
        db = await open_database(db_path)
        qlog = QuestionLog(db)
        for text, outcome, top in (
            ("租海外仓", "answer", "m10"),
            ("海外仓", "answer", "m10"),
            ("火星", "decline", None),
        ):
            await qlog.record(
                user_id=1, chat_id=1, lang="zh", text=text, outcome=outcome, top_id=top, top_score=9.0
            )
        await record_event(db, STARTED)
        await record_event(db, STARTED)
        await record_event(db, FINISHED)
        await db.close()

    asyncio.run(seed())
    code, out, _ = run(capsys, "stats", "--json", "--days", "7", "--db", db_path)
    assert code == 0
    data = json.loads(out)
    assert data["questions"] == 3
    assert len(data["per_day"]) == 7
    assert data["per_day"][-1]["questions"] == 3
    assert data["outcomes"] == {"answer": 2, "clarify": 0, "decline": 1}
    assert data["shares"]["answer"] == pytest.approx(0.6667)
    assert data["top_entries"] == [{"id": "m10", "questions": 2}]
    assert data["interviews"] == {"started": 2, "finished": 1}
    code, out, _ = run(capsys, "stats", "--db", db_path)
    assert "outcomes: answer 2 (67%)  clarify 0 (0%)  decline 1 (33%)" in out
    assert "m10" in out
    assert "海外仓建设和租赁扶持" in out
    assert "interviews: 2 started, 1 finished" in out


def test_an_export_keeps_the_shipped_file_and_an_edit_touches_only_its_lines(
    tmp_path: Path, db_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from knowledge.loader import DATA_DIR

    shipped = (DATA_DIR / "hengzhengfa-2024-4.yaml").read_text(encoding="utf-8")
    exported = tmp_path / "export.yaml"
    assert run(capsys, "kb", "export", str(exported), "--db", db_path)[0] == 0
    assert exported.read_text(encoding="utf-8") == shipped  # comments and layout included

    raw = overlay.load_raw(shipped)
    edited = tmp_path / "edited.yaml"
    edited.write_text(overlay.dump(overlay.set_field(raw, "m5", "synonyms", ["洋人生意"])), encoding="utf-8")
    assert run(capsys, "kb", "import", str(edited), "--db", db_path)[0] == 0
    assert run(capsys, "kb", "export", str(exported), "--db", db_path)[0] == 0
    before, after = shipped.splitlines(), exported.read_text(encoding="utf-8").splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1
    assert "洋人生意" in changed[0][1]
    assert changed[0][1].lstrip().startswith("synonyms: [")  # written in the file's own flow style
