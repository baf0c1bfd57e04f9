"""The knowledge base staff keep current: every version in SQLite, the shipped files merged in.

The project ships the knowledge base as data files (knowledge/data/policies/*.yaml); staff change
it at run time. A document's state is a *version*: its full raw data (what the YAML loads) after
one change, with who made it, when, why (the action) and the fields it changed, before and after.

At start (`KnowledgeStore.sync`), for each shipped file:

* no version yet: the shipped file is recorded as the first version (action ``shipped``);
* the latest version was made on this very shipped file (same fingerprint): it is used as is;
* the shipped file changed (a new release): the staff edits are merged onto it field by field
  (`knowledge.overlay.merge`, base = the shipped file the edits were made on). A field only one
  side changed takes that side; a field both changed keeps the staff's value and is recorded as
  an open conflict, which staff settle with /conflicts (keep theirs, or take the release's).
  The merge is a new version (action ``merge``), so it shows in /history and can be rolled back.

Every change is validated by the same models as the data files (and the rules' vocabulary)
before it is stored; an invalid one is refused with the reason and changes nothing.

Staff may also add a document that did not ship (action ``add``: its data and its source text,
validated together, the text kept with the version) and remove one (action ``remove``: a version
marked removed; rolling it back restores the document). Entries are named by their keys
(`knowledge.loader.entry_keys`: "m2", or "hengzhengfa-2026-9/m2" where an earlier document has
an "m2"); the versions keep each document's own ids, and the store translates.

`LiveKnowledge` ties the store to the running `Assistant`: after a change the new knowledge base
and matcher are built off the event loop and swapped in whole.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal

import aiosqlite

from bot.store.db import Database
from bot.store.shipped import Shipped, build, doc_id, read_shipped, source_text
from knowledge import overlay
from knowledge.loader import DATA_DIR, KnowledgeBase, KnowledgeError, entry_keys, squash
from knowledge.matcher import Referral, Ruling
from knowledge.models import Localized

logger = logging.getLogger("policybot")

# A version's action: shipped, merge (a new release), edit, attach (from the inbox), out_of_scope
# (a staff ruling), import, rollback, resolve (a conflict settled).
RELEASE: Final = "release"  # `who` of the versions the shipped files make
REFERRAL: Final = "referral"  # the target of a staff out-of-scope ruling in a change
STAFF_REFERRAL: Final = "staff-"  # the id prefix of a staff ruling's referral


class StaleError(KnowledgeError):
    """The knowledge base changed since the preview the change was based on."""


@dataclass(frozen=True)
class Change:
    """One field one version changed."""

    target: str  # an entry id, "document", or REFERRAL
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Version:
    id: int
    ts: int
    who: str
    action: str
    doc: str  # "" for a change outside the documents (an out-of-scope ruling)
    note: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Current:
    """One document as the bot serves it now."""

    doc: str
    name: str  # the shipped file's name, used in error messages
    version_id: int
    raw: dict[str, Any]
    source: str | None = None  # the source text of a document staff added (None: the shipped one's)
    removed: bool = False  # the latest version removed the document (not served)


@dataclass(frozen=True)
class Synced:
    """What start-up did with one shipped file."""

    doc: str
    outcome: Literal["first", "current", "merged"]
    version_id: int
    conflicts: int = 0


@dataclass(frozen=True)
class ConflictRow:
    id: int
    version_id: int
    doc: str
    target: str
    field: str
    base: Any
    ours: Any
    theirs: Any
    status: str  # open | kept | taken | superseded
    key: str = ""  # the target as the knowledge base names it (an entry's key)


@dataclass(frozen=True)
class StaffReferral:
    id: int
    version_id: int
    phrasing: str
    message: Localized


@dataclass(frozen=True)
class Plan:
    """A change worked out and validated, not yet stored: what a preview shows."""

    action: str
    doc: str
    base_id: int  # the version it applies to; stale if another change came first
    changes: tuple[Change, ...]
    raw: dict[str, Any] | None = None  # the document's new data (None: not a document change)
    referral: int | None = None  # rollback of a ruling: the referral to withdraw or restore
    note: str = ""
    source: str | None = None  # a source text the version brings (a document staff added)
    removed: bool = False  # the version removes the document


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=False)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _changes(pairs: Iterable[overlay.FieldChange]) -> tuple[Change, ...]:
    return tuple(Change(c.target, c.field, c.before, c.after) for c in pairs)


def printed_on(raw: dict[str, Any]) -> date:
    document = raw.get("document")
    try:
        return date.fromisoformat(str(document.get("printed") if isinstance(document, dict) else ""))
    except ValueError:
        return date.max


def keys_of(documents: Sequence[Current]) -> dict[tuple[str, str], str]:
    """(document, id in its file) → key, as the knowledge base names entries; a document's own
    fields are the pseudo-entry "document" ("hengzhengfa-2026-9/document" for a later one's)."""
    return entry_keys(
        (d.doc, printed_on(d.raw), [overlay.DOCUMENT, *(str(e.get("id")) for e in d.raw.get("entries", []))])
        for d in documents
    )


def summary(raw: dict[str, Any]) -> dict[str, Any]:
    """What a change adding or removing a whole document shows of it."""
    document = raw.get("document") if isinstance(raw.get("document"), dict) else {}
    assert isinstance(document, dict)
    return {"id": document.get("id"), "number": document.get("number"), "title": document.get("title")}


def _source_note(name: str, text: str | None) -> str | None:
    return None if text is None else f"{name} ({len(text)} 字)"


# --- the store ----------------------------------------------------------------------------------


class KnowledgeStore:
    """Versions, conflicts and staff rulings in SQLite (tables of migration 4 in bot/db.py)."""

    def __init__(self, db: Database, shipped_dir: Path = DATA_DIR) -> None:
        self.db = db
        self.shipped_dir = shipped_dir
        self._shipped: list[Shipped] | None = None
        self._synced = False
        self._sync_lock = asyncio.Lock()

    # start-up ----------------------------------------------------------------------------------

    async def shipped(self) -> list[Shipped]:
        if self._shipped is None:
            self._shipped = await asyncio.to_thread(read_shipped, self.shipped_dir)
        return self._shipped

    async def sync(self) -> list[Synced]:
        """Record the shipped files, merging a new release onto the staff edits."""
        async with self._sync_lock:
            results = [await self._sync_one(shipped) for shipped in await self.shipped()]
            self._synced = True
        for result in results:
            if result.outcome == "merged":
                logger.warning(
                    "knowledge base %s: a new release was merged with the staff edits (change #%s, %s conflicts)",
                    result.doc,
                    result.version_id,
                    result.conflicts,
                )
        return results

    async def _ready(self) -> None:
        if not self._synced:
            await self.sync()

    async def _sync_one(self, shipped: Shipped) -> Synced:
        now = int(time.time())
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT OR IGNORE INTO kb_shipped (fingerprint, doc, first_seen, data) VALUES (?, ?, ?, ?)",
                (shipped.fingerprint, shipped.doc, now, _dumps(shipped.raw)),
            )
            latest = await _latest(conn, shipped.doc)
            if latest is None:
                vid = await _insert_version(
                    conn, who=RELEASE, action="shipped", doc=shipped.doc, data=shipped.raw,
                    fingerprint=shipped.fingerprint, note=shipped.name, changes=(),
                )  # fmt: skip
                return Synced(shipped.doc, "first", vid)
            latest_id, ours, fingerprint = latest
            if fingerprint == shipped.fingerprint or await _is_removed(conn, latest_id):
                # (staff removed the document: a new release of it does not bring it back)
                return Synced(shipped.doc, "current", latest_id)
            async with conn.execute(
                "SELECT data FROM kb_shipped WHERE fingerprint = ?", (fingerprint,)
            ) as cur:
                row = await cur.fetchone()
            theirs = shipped.raw
            if row is None:  # the base is unknown: keep every staff value and report each difference
                merged = ours
                conflicts = [
                    overlay.Conflict(c.target, c.field, None, c.after, c.before)
                    for c in overlay.diff(theirs, ours)
                ]
            else:
                merged, conflicts = await asyncio.to_thread(overlay.merge, _loads(row[0]), ours, theirs)
                try:
                    await asyncio.to_thread(build, [(shipped.name, merged)], self.shipped_dir)
                except KnowledgeError as exc:  # the two do not fit together: the release, every edit reported
                    logger.error(
                        "knowledge base %s: staff edits do not fit the new release: %s", shipped.doc, exc
                    )
                    merged = theirs
                    conflicts = [
                        overlay.Conflict(
                            c.target,
                            c.field,
                            c.before,
                            c.after,
                            overlay.field_value(theirs, c.target, c.field),
                        )
                        for c in overlay.diff(_loads(row[0]), ours)
                    ]
            vid = await _insert_version(
                conn, who=RELEASE, action="merge", doc=shipped.doc, data=merged,
                fingerprint=shipped.fingerprint, note=f"{shipped.name} {shipped.fingerprint}",
                changes=_changes(overlay.diff(ours, merged)),
            )  # fmt: skip
            for conflict in conflicts:
                await conn.execute(
                    "UPDATE kb_conflicts SET status = 'superseded' "
                    "WHERE status = 'open' AND doc = ? AND target = ? AND field = ?",
                    (shipped.doc, conflict.target, conflict.field),
                )
                await conn.execute(
                    "INSERT INTO kb_conflicts (version_id, doc, target, field, base, ours, theirs) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        vid,
                        shipped.doc,
                        conflict.target,
                        conflict.field,
                        _dumps(conflict.base),
                        _dumps(conflict.ours),
                        _dumps(conflict.theirs),
                    ),
                )
            return Synced(shipped.doc, "merged", vid, len(conflicts))

    # reading -----------------------------------------------------------------------------------

    async def heads(self) -> list[Current]:
        """Every document as its latest version left it, removed ones included (marked): the
        shipped files in their order, then the documents staff added, oldest first."""
        await self._ready()
        shipped = await self.shipped()
        names = {s.doc: s.name for s in shipped}
        rows = await self.db.fetchall(
            "SELECT doc, MIN(id) FROM kb_versions WHERE doc != '' GROUP BY doc ORDER BY MIN(id)"
        )
        first = {str(doc): int(vid) for doc, vid in rows}
        heads = []
        for doc in [*names, *(d for d in first if d not in names)]:
            if doc not in first:  # recorded by sync; only a database edited by hand lacks it
                raise KnowledgeError(f"{names[doc]}: no version in the database")
            found = await self.db.fetchone("SELECT action, note FROM kb_versions WHERE id = ?", (first[doc],))
            assert found is not None
            if doc not in names and found[0] != "add":
                continue  # shipped once (another release, another --kb): not served any more
            note = str(found[1])  # an added document's note: the file it came in
            name = names.get(doc) or (note if note.endswith((".yaml", ".yml")) else f"{doc}.yaml")
            row = await self.db.fetchone(
                "SELECT id, data, removed FROM kb_versions WHERE doc = ? AND data IS NOT NULL "
                "ORDER BY id DESC LIMIT 1",
                (doc,),
            )
            assert row is not None
            source = None if doc in names else await self._source(doc, int(row[0]))
            heads.append(Current(doc, name, int(row[0]), _loads(row[1]), source, bool(row[2])))
        return heads

    async def current(self) -> list[Current]:
        """Every document served now: the shipped ones (unless removed), then those staff added."""
        return [head for head in await self.heads() if not head.removed]

    async def _source(self, doc: str, upto: int) -> str | None:
        """The source text a document staff added had at version `upto`."""
        row = await self.db.fetchone(
            "SELECT source FROM kb_versions WHERE doc = ? AND source IS NOT NULL AND id <= ? "
            "ORDER BY id DESC LIMIT 1",
            (doc, upto),
        )
        return None if row is None else str(row[0])

    async def find(self, target: str) -> tuple[Current, str]:
        """The document an entry key (or a document target: "document", "DOC/document") names, and
        the id the entry has in that document's file."""
        documents = await self.current()
        for (doc, entry_id), key in keys_of(documents).items():
            if key == target:
                return next(d for d in documents if d.doc == doc), entry_id
        raise KnowledgeError(f"no entry '{target}'")

    def _key(self, documents: Sequence[Current], doc: str, target: str) -> str:
        """The key of a document's entry (or pseudo-entry "document") for the people reading."""
        if target == REFERRAL:
            return target
        return keys_of(documents).get((doc, target), f"{doc}/{target}" if doc else target)

    async def document(self, doc: str | None = None, *, entry: str | None = None) -> Current:
        """One document: by id, the one holding `entry` (a key), or the first."""
        documents = await self.current()
        if doc is not None:
            found = next((d for d in documents if d.doc == doc), None)
            if found is not None:
                return found
        elif entry is not None:
            return (await self.find(entry))[0]
        elif documents:
            return documents[0]
        known = ", ".join(d.doc for d in documents)
        raise KnowledgeError(
            f"unknown document '{doc}' (this bot has: {known}); a new document is added with its "
            "source text (kb import FILE with the text beside it, or both files sent to the bot)"
        )

    async def knowledge(self) -> tuple[KnowledgeBase, list[Ruling]]:
        """The validated knowledge base and the staff rulings the matcher applies."""
        documents = await self.current()
        kb = await asyncio.to_thread(build, *self._inputs(documents))
        shipped = {s.doc: s.raw for s in await self.shipped()}
        rulings = [
            Ruling(r.phrasing, referral=Referral(f"{STAFF_REFERRAL}{r.id}", "out_of_scope", r.message))
            for r in await self.referrals()
        ]
        for current in documents:
            # Sample questions staff added (attached from the inbox, edited, imported) are rulings:
            # a question nearly identical to one is answered with its entry, whatever else it names.
            # (a document staff added has no shipped questions: all of its own count as shipped)
            base = shipped.get(current.doc, current.raw)
            original = {str(e.get("id")): set(e.get("questions") or []) for e in base.get("entries", [])}
            for entry in current.raw.get("entries", []):
                entry_id = str(entry.get("id"))
                for question in entry.get("questions") or []:
                    if question not in original.get(entry_id, set()):
                        rulings.append(Ruling(str(question), entry_id=kb.key(current.doc, entry_id)))
        return kb, rulings

    def _inputs(
        self, documents: Sequence[Current]
    ) -> tuple[list[tuple[str, dict[str, Any]]], Path, dict[str, str]]:
        """What `build` takes for these documents: (name, data), the shipped files' directory, and
        the source texts of the documents staff added."""
        sources = {d.name: d.source for d in documents if d.source is not None}
        return [(d.name, d.raw) for d in documents], self.shipped_dir, sources

    async def export(self, current: Current) -> str:
        """A document as YAML: the shipped file with only the fields staff changed rewritten."""
        shipped = next((s for s in await self.shipped() if s.doc == current.doc), None)
        if shipped is None:
            return overlay.export(current.raw)
        return overlay.export(current.raw, original_text=shipped.text, original=shipped.raw)

    async def referrals(self) -> list[StaffReferral]:
        """Active out-of-scope rulings, newest first."""
        rows = await self.db.fetchall(
            "SELECT id, version_id, phrasing, message_zh, message_en FROM kb_referrals "
            "WHERE withdrawn_by IS NULL ORDER BY id DESC"
        )
        return [StaffReferral(int(r[0]), int(r[1]), str(r[2]), Localized(zh=r[3], en=r[4])) for r in rows]

    async def stamp(self) -> int:
        """Grows with every change: the running bot reloads when it moves (e.g. after the CLI)."""
        row = await self.db.fetchone("SELECT COALESCE(MAX(id), 0) FROM kb_versions")
        return int(row[0]) if row is not None else 0

    async def history(self, target: str | None = None, *, limit: int = 20) -> list[Version]:
        """Recent changes, newest first; with `target` (an entry key, "document"), those touching it.
        Changes name entries by their keys."""
        await self._ready()
        documents = await self.current()
        columns = "SELECT id, ts, who, action, doc, note FROM kb_versions"
        if target is None:
            rows = await self.db.fetchall(f"{columns} ORDER BY id DESC LIMIT ?", (limit,))
        else:
            doc, raw = self._locate(documents, target)
            rows = await self.db.fetchall(
                f"{columns} WHERE id IN (SELECT version_id FROM kb_changes WHERE target = ?) "
                "AND (? = '' OR doc = ?) ORDER BY id DESC LIMIT ?",
                (raw, doc, doc, limit),
            )
        if not rows:
            return []
        ids = [int(r[0]) for r in rows]
        doc_of = {int(r[0]): str(r[4]) for r in rows}
        marks = ", ".join("?" * len(ids))
        changes: dict[int, list[Change]] = {i: [] for i in ids}
        for vid, t, f, before, after in await self.db.fetchall(
            f"SELECT version_id, target, field, before, after FROM kb_changes WHERE version_id IN ({marks}) "
            "ORDER BY version_id, seq",
            ids,
        ):
            key = self._key(documents, doc_of[int(vid)], str(t))
            if target is None or key == target:
                changes[int(vid)].append(Change(key, f, _loads(before), _loads(after)))
        return [
            Version(
                int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), tuple(changes[int(r[0])])
            )
            for r in rows
        ]

    def _locate(self, documents: Sequence[Current], target: str) -> tuple[str, str]:
        """(document, id in its file) of a key; ("", key) when no document of today has it."""
        for (doc, entry_id), key in keys_of(documents).items():
            if key == target:
                return doc, entry_id
        doc, _, entry_id = target.rpartition("/")
        return doc, entry_id

    async def version(self, version_id: int) -> Version | None:
        rows = await self.db.fetchall(
            "SELECT id, ts, who, action, doc, note FROM kb_versions WHERE id = ?", (version_id,)
        )
        if not rows:
            return None
        found = await self.db.fetchall(
            "SELECT target, field, before, after FROM kb_changes WHERE version_id = ? ORDER BY seq",
            (version_id,),
        )
        r = rows[0]
        documents = await self.current()
        changes = tuple(
            Change(self._key(documents, str(r[4]), t), f, _loads(b), _loads(a)) for t, f, b, a in found
        )
        return Version(int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), changes)

    async def conflicts(self, *, open_only: bool = True) -> list[ConflictRow]:
        where = "WHERE status = 'open' " if open_only else ""
        rows = await self.db.fetchall(
            "SELECT id, version_id, doc, target, field, base, ours, theirs, status FROM kb_conflicts "
            f"{where}ORDER BY id"
        )
        if not rows:
            return []
        documents = await self.current()  # (conflicts come from a sync: this syncs nothing new)
        return [
            ConflictRow(
                int(r[0]),
                int(r[1]),
                str(r[2]),
                str(r[3]),
                str(r[4]),
                _loads(r[5]),
                _loads(r[6]),
                _loads(r[7]),
                str(r[8]),
                self._key(documents, str(r[2]), str(r[3])),
            )
            for r in rows
        ]

    async def handled(self) -> set[int]:
        """Question-log ids staff have decided on (attached, ruled out of scope, ignored)."""
        return {int(r[0]) for r in await self.db.fetchall("SELECT question_id FROM inbox_handled")}

    # planning: a change worked out and validated, for a preview -----------------------------

    async def plan_edit(self, target: str, field: str, value: Any, *, doc: str | None = None) -> Plan:
        """`target`: an entry's key, or a document's fields ("document" — of `doc` if given —
        or "DOC/document")."""
        if target == overlay.DOCUMENT and doc is not None:
            current, raw_target = await self.document(doc), overlay.DOCUMENT
        else:
            current, raw_target = await self.find(target)
        new = overlay.set_field(current.raw, raw_target, field, value)
        return await self._plan("edit", current, new)

    async def plan_attach(self, entry_id: str, phrasing: str) -> Plan:
        current, raw_id = await self.find(entry_id)
        questions = list(overlay.get_field(current.raw, raw_id, "questions") or [])
        if phrasing not in questions:
            questions.append(phrasing)
        new = overlay.set_field(current.raw, raw_id, "questions", questions)
        return await self._plan("attach", current, new, allow_empty=True)

    async def plan_import(self, raw: dict[str, Any], name: str, source: str | None = None) -> Plan:
        """A document's new data; for a document the bot does not serve (a new one, or one
        removed), an addition — then `source`, its text, is required and kept with it."""
        doc = doc_id(raw, name)
        heads = {h.doc: h for h in await self.heads()}
        head = heads.get(doc)
        shipped = any(s.doc == doc for s in await self.shipped())
        if head is None or head.removed:
            if source is None and not shipped:
                await self.document(doc)  # refused: an unknown document, and how to add one
            # a shipped document staff removed comes back with its shipped text
            return await self._plan_add(overlay.plain(raw), name, None if shipped else source, head)
        if source is not None and shipped:
            current_text = source_text(head.raw, head.name, self.shipped_dir)
            if squash(source) != squash(current_text):
                raise KnowledgeError(
                    f"{name}: {doc} shipped with its source text: a new text ships with a release"
                )
            source = None
        if source is not None and source == head.source:
            source = None
        plan = await self._plan(
            "import",
            head,
            overlay.plain(raw),
            name=name,
            note=name,
            source=source,
            allow_empty=source is not None,
        )
        if source is not None:  # a new text for a document staff added
            text = Change(
                overlay.DOCUMENT, "source", _source_note(head.name, head.source), _source_note(name, source)
            )
            plan = replace(plan, changes=(*plan.changes, text))
        return plan

    async def _plan_add(
        self, raw: dict[str, Any], name: str, source: str | None, head: Current | None
    ) -> Plan:
        doc = doc_id(raw, name)
        documents = [d for d in await self.current() if d.doc != doc]
        added = Current(doc, head.name if head is not None and source is None else name, 0, raw, source)
        await asyncio.to_thread(build, *self._inputs([*documents, added]))
        change = Change(overlay.DOCUMENT, "*", None, summary(raw))
        base = head.version_id if head is not None else 0
        return Plan("add", doc, base, (change,), raw=raw, note=name, source=source)

    async def plan_remove(self, doc: str) -> Plan:
        """Take a document out of the knowledge base (a version like any other: rollback restores it)."""
        current = await self.document(doc)
        rest = [d for d in await self.current() if d.doc != doc]
        if not rest:
            raise KnowledgeError(f"{doc} is the only document: the knowledge base cannot be empty")
        await asyncio.to_thread(build, *self._inputs(rest))
        change = Change(overlay.DOCUMENT, "*", summary(current.raw), None)
        return Plan(
            "remove", doc, current.version_id, (change,), raw=current.raw, note=current.name, removed=True
        )

    async def plan_resolve(self, conflict: ConflictRow, *, keep: bool) -> Plan:
        current = await self.document(conflict.doc)
        new = overlay.put(
            current.raw, conflict.target, conflict.field, conflict.ours if keep else conflict.theirs
        )
        verb = "kept the staff value" if keep else "took the release's value"
        return await self._plan(
            "resolve", current, new, allow_empty=True, note=f"conflict {conflict.id}: {verb}"
        )

    async def plan_rollback(self, version_id: int) -> Plan:
        """Undo change `version_id`: its document back to the version before it (undoing every
        later change to that document too), or its out-of-scope ruling withdrawn (or restored)."""
        await self._ready()
        row = await self.db.fetchone("SELECT doc, data FROM kb_versions WHERE id = ?", (version_id,))
        if row is None:
            raise KnowledgeError(f"no change #{version_id}")
        doc = str(row[0])
        note = f"#{version_id}"
        if not doc:
            target = await self.version(version_id)
            assert target is not None
            rulings = [c for c in target.changes if c.target == REFERRAL]
            if not rulings:
                raise KnowledgeError(f"change #{version_id} has nothing to undo")
            change = rulings[0]
            referral = int(change.field)
            withdrawn = await self.db.fetchone(
                "SELECT withdrawn_by FROM kb_referrals WHERE id = ?", (referral,)
            )
            active = withdrawn is not None and withdrawn[0] is None
            wanted_active = change.before is not None  # undoing a withdrawal restores it
            if active == wanted_active:
                raise KnowledgeError(f"nothing to undo: change #{version_id} is undone already")
            undo = Change(REFERRAL, change.field, change.after, change.before)
            return Plan("rollback", "", await self.stamp(), (undo,), referral=referral, note=note)
        previous = await self.db.fetchone(
            "SELECT id, data, removed FROM kb_versions WHERE doc = ? AND data IS NOT NULL AND id < ? "
            "ORDER BY id DESC LIMIT 1",
            (doc, version_id),
        )
        heads = {h.doc: h for h in await self.heads()}
        head = heads.get(doc)
        if head is None:
            raise KnowledgeError(f"change #{version_id}: {doc} is no longer served (not shipped any more)")
        action = await self.db.fetchone("SELECT action FROM kb_versions WHERE id = ?", (version_id,))
        if previous is None and action is not None and action[0] == "add" and not head.removed:
            # before its addition the document was not there: undoing it removes it
            return replace(await self.plan_remove(doc), action="rollback", note=note)
        if previous is None:
            raise KnowledgeError(
                f"change #{version_id} is the first version of {doc}: there is nothing before it"
            )
        before = _loads(previous[1])
        source = (
            await self._source(doc, int(previous[0])) if head.source is not None or head.removed else None
        )
        if bool(previous[2]):  # before N the document was removed: undoing N removes it again
            if head.removed:
                raise KnowledgeError(f"nothing to undo: {doc} is removed already, as before #{version_id}")
            return replace(await self.plan_remove(doc), action="rollback", note=note)
        if head.removed:  # undoing the removal (or what led to it) brings the document back
            plan = await self._plan_add(before, head.name, source, head)
            return replace(plan, action="rollback", note=note)
        plan = await self._plan(
            "rollback",
            head,
            before,
            allow_empty=True,
            note=note,
            source=source if source != head.source else None,
        )
        if not plan.changes and plan.source is None:
            raise KnowledgeError(f"nothing to undo: the knowledge base already is as before #{version_id}")
        return plan

    async def _plan(
        self,
        action: str,
        current: Current,
        new: dict[str, Any],
        *,
        allow_empty: bool = False,
        name: str | None = None,
        note: str = "",
        source: str | None = None,
    ) -> Plan:
        """`new` in place of `current`'s data (and `source` of its text), validated with the other
        documents; an uploaded file's problems are named by its own name."""
        documents = [
            replace(d, name=name or d.name, raw=new, source=source or d.source) if d.doc == current.doc else d
            for d in await self.current()
        ]
        await asyncio.to_thread(build, *self._inputs(documents))
        changes = _changes(overlay.diff(current.raw, new))
        if not changes and not allow_empty:
            raise KnowledgeError("no change: the knowledge base already has this")
        return Plan(action, current.doc, current.version_id, changes, raw=new, note=note, source=source)

    # committing ------------------------------------------------------------------------------

    async def commit(
        self,
        plan: Plan,
        who: str,
        *,
        handled: Sequence[int] = (),
        decision: str | None = None,
        after: Callable[[aiosqlite.Connection, int | None], Awaitable[None]] | None = None,
    ) -> Version | None:
        """Store a plan as a new version (None when it changes nothing), if the knowledge base is
        still as the plan found it; StaleError otherwise. `handled` question ids are marked decided."""
        now = int(time.time())
        async with self.db.transaction() as conn:
            vid: int | None = None
            if plan.doc and plan.action == "add" and plan.base_id == 0:  # a document new to the store
                if await _latest(conn, plan.doc) is not None:
                    raise StaleError(
                        "the knowledge base changed since this preview; nothing was saved, start again"
                    )
                assert plan.raw is not None
                vid = await _insert_version(
                    conn, who=who, action=plan.action, doc=plan.doc, data=plan.raw, fingerprint="",
                    note=plan.note, changes=plan.changes, source=plan.source,
                )  # fmt: skip
            elif plan.doc:
                latest = await _latest(conn, plan.doc)
                if latest is None or latest[0] != plan.base_id:
                    raise StaleError(
                        "the knowledge base changed since this preview; nothing was saved, start again"
                    )
                if plan.changes:
                    assert plan.raw is not None
                    vid = await _insert_version(
                        conn, who=who, action=plan.action, doc=plan.doc, data=plan.raw, fingerprint=latest[2],
                        note=plan.note, changes=plan.changes, source=plan.source, removed=plan.removed,
                    )  # fmt: skip
            elif plan.referral is not None:
                vid = await _insert_version(
                    conn, who=who, action=plan.action, doc="", data=None, fingerprint="", note=plan.note,
                    changes=plan.changes,
                )  # fmt: skip
                withdraw = plan.changes[0].after is None
                await conn.execute(
                    "UPDATE kb_referrals SET withdrawn_by = ? WHERE id = ?",
                    (vid if withdraw else None, plan.referral),
                )
            if after is not None:
                await after(conn, vid)
            for question_id in handled:
                await conn.execute(
                    "INSERT OR REPLACE INTO inbox_handled (question_id, decision, version_id, who, ts) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (question_id, decision or plan.action, vid, who, now),
                )
        if vid is None:
            return None
        return Version(vid, now, who, plan.action, plan.doc, plan.note, plan.changes)

    async def refer(
        self, who: str, phrasing: str, message: Localized, *, handled: Sequence[int] = ()
    ) -> Version:
        """An out-of-scope ruling: questions nearly identical to `phrasing` are declined with `message`."""
        now = int(time.time())
        async with self.db.transaction() as conn:
            vid = await _insert_version(
                conn, who=who, action="out_of_scope", doc="", data=None, fingerprint="", note="", changes=()
            )
            cursor = await conn.execute(
                "INSERT INTO kb_referrals (version_id, phrasing, message_zh, message_en) VALUES (?, ?, ?, ?)",
                (vid, phrasing, message.zh, message.en),
            )
            referral = int(cursor.lastrowid or 0)
            after = {"phrasing": phrasing, "zh": message.zh, "en": message.en}
            change = Change(REFERRAL, str(referral), None, after)
            await _insert_changes(conn, vid, (change,))
            for question_id in handled:
                await conn.execute(
                    "INSERT OR REPLACE INTO inbox_handled (question_id, decision, version_id, who, ts) "
                    "VALUES (?, 'out_of_scope', ?, ?, ?)",
                    (question_id, vid, who, now),
                )
        return Version(vid, now, who, "out_of_scope", "", "", (change,))

    async def ignore(self, who: str, question_ids: Sequence[int]) -> None:
        now = int(time.time())
        async with self.db.transaction() as conn:
            for question_id in question_ids:
                await conn.execute(
                    "INSERT OR REPLACE INTO inbox_handled (question_id, decision, version_id, who, ts) "
                    "VALUES (?, 'ignore', NULL, ?, ?)",
                    (question_id, who, now),
                )

    async def resolve(self, conflict_id: int, who: str, *, keep: bool) -> Version | None:
        """Settle an open conflict: keep the staff value, or take the release's."""
        found = [c for c in await self.conflicts(open_only=False) if c.id == conflict_id]
        if not found:
            raise KnowledgeError(f"no conflict {conflict_id}")
        conflict = found[0]
        if conflict.status != "open":
            raise KnowledgeError(f"conflict {conflict_id} is settled already ({conflict.status})")
        plan = await self.plan_resolve(conflict, keep=keep)

        async def settle(conn: aiosqlite.Connection, vid: int | None) -> None:
            await conn.execute(
                "UPDATE kb_conflicts SET status = ?, resolved_by = ?, resolved_at = ?, resolution = ? "
                "WHERE id = ? AND status = 'open'",
                ("kept" if keep else "taken", who, int(time.time()), vid, conflict_id),
            )

        return await self.commit(plan, who, after=settle)


# --- SQL helpers ---------------------------------------------------------------------------------


async def _is_removed(conn: aiosqlite.Connection, version_id: int) -> bool:
    async with conn.execute("SELECT removed FROM kb_versions WHERE id = ?", (version_id,)) as cursor:
        row = await cursor.fetchone()
    return row is not None and bool(row[0])


async def _latest(conn: aiosqlite.Connection, doc: str) -> tuple[int, dict[str, Any], str] | None:
    async with conn.execute(
        "SELECT id, data, shipped_fingerprint FROM kb_versions WHERE doc = ? AND data IS NOT NULL "
        "ORDER BY id DESC LIMIT 1",
        (doc,),
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else (int(row[0]), _loads(row[1]), str(row[2]))


async def _insert_version(
    conn: aiosqlite.Connection,
    *,
    who: str,
    action: str,
    doc: str,
    data: dict[str, Any] | None,
    fingerprint: str,
    note: str,
    changes: Sequence[Change],
    source: str | None = None,
    removed: bool = False,
) -> int:
    cursor = await conn.execute(
        "INSERT INTO kb_versions (ts, who, action, doc, data, shipped_fingerprint, note, source, removed) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (int(time.time()), who, action, doc, _dumps(data), fingerprint, note, source, int(removed)),
    )
    vid = int(cursor.lastrowid or 0)
    await _insert_changes(conn, vid, changes)
    return vid


async def _insert_changes(conn: aiosqlite.Connection, vid: int, changes: Sequence[Change]) -> None:
    for seq, change in enumerate(changes):
        await conn.execute(
            "INSERT INTO kb_changes (version_id, seq, target, field, before, after) VALUES (?, ?, ?, ?, ?, ?)",
            (vid, seq, change.target, change.field, _dumps(change.before), _dumps(change.after)),
        )
