"""Strict loading of policy data files: YAML → validated models → one knowledge base.

Every error names the file, the entry and the field, so staff can fix a file without a
programmer: "hengzhengfa-2024-4.yaml: entry m4: benefits[0].amount.cap: must be ≥ 0".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import ValidationError

from knowledge.models import Condition, Document, Entry, PolicyFile, Section

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data" / "policies"
SOURCE_DIR = PACKAGE_DIR / "source"


class KnowledgeError(ValueError):
    """A data file is not valid; the message says where and why."""


# libyaml's parser where PyYAML was built with it (several times faster on the policy files);
# the constructors, and so the checks below, are the same Python code either way.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """A data file of the project's own (lexicons, cues): plain YAML, read fast."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader)


class _StrictLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """YAML loader that refuses duplicate keys (PyYAML keeps the last one silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise KnowledgeError(f"line {line}: duplicate key '{key}'")
        seen.add(key)
    return dict(loader.construct_mapping(node, deep=deep))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except KnowledgeError as exc:
        raise KnowledgeError(f"{name}: {exc}") from None
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{name}: not valid YAML: {exc}") from None


_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Whitespace-insensitive form: the scan spaces digits inconsistently ("超过 10 家")."""
    return _SPACE.sub("", text)


@dataclass(frozen=True)
class Policy:
    """One document with its entries and the text they quote."""

    data: PolicyFile
    source_text: str
    path: Path | None = None

    @property
    def document(self) -> Document:
        return self.data.document


KEY_SEP: Final = "/"  # a qualified entry key: "hengzhengfa-2026-9/m2"
MAX_KEY_BYTES: Final = 40  # a key travels in button payloads (Telegram: 64 bytes with the rest)
DOCUMENT_KEY: Final = "document"  # a document's own fields (its dates), keyed like an entry of it


def entry_keys(documents: Iterable[tuple[str, date, Iterable[str]]]) -> dict[tuple[str, str], str]:
    """The key of every (document id, entry id): the entry's own id, unless a document printed
    earlier (or, on the same day, with a smaller id) uses it — then "DOC/ID". So the ids of the
    first document (m1…m16, scope…: public in `check --json` and the CSV) never change when a
    successor reusing them is added. Pure, so the version store keys raw documents alike."""
    keys: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for doc, _, ids in sorted(documents, key=lambda d: (d[1], d[0])):
        for entry_id in ids:
            key = entry_id if entry_id not in taken else f"{doc}{KEY_SEP}{entry_id}"
            keys[(doc, entry_id)] = key
            taken.add(entry_id)
    return keys


@dataclass(frozen=True)
class KnowledgeBase:
    """Every document's entries by key (see `entry_keys`). The entries kept here are copies
    whose `id` is the key and whose `related` names keys, so code that passes `entry.id` around
    never confuses two documents' "m2"."""

    policies: tuple[Policy, ...]
    entries: dict[str, Entry] = field(init=False)
    _policy_of: dict[str, Policy] = field(init=False, repr=False)
    _keys: dict[tuple[str, str], str] = field(init=False, repr=False)
    _raw: dict[str, str] = field(init=False, repr=False)
    _by_doc: dict[str, tuple[Entry, ...]] = field(init=False, repr=False)
    _doc_keys: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        docs = [p.document.id for p in self.policies]
        if len(docs) != len(set(docs)):
            twice = next(d for d in docs if docs.count(d) > 1)
            raise KnowledgeError(f"document '{twice}' is given twice")
        keys = entry_keys(
            (p.document.id, p.document.printed, [e.id for e in p.data.entries]) for p in self.policies
        )
        entries: dict[str, Entry] = {}
        owner: dict[str, Policy] = {}
        by_doc: dict[str, tuple[Entry, ...]] = {}
        for policy in self.policies:
            doc = policy.document.id
            keyed = []
            for entry in policy.data.entries:
                key = keys[(doc, entry.id)]
                if len(key.encode()) > MAX_KEY_BYTES:
                    raise KnowledgeError(
                        f"{doc}: entry {entry.id}: its key '{key}' is longer than {MAX_KEY_BYTES} bytes "
                        "(shorten the document id or the entry id)"
                    )
                related = [keys[(doc, r)] for r in entry.related]
                keyed_entry = entry if key == entry.id else entry.model_copy(update={"id": key})
                if related != entry.related:
                    keyed_entry = keyed_entry.model_copy(update={"related": related})
                entries[key] = keyed_entry
                owner[key] = policy
                keyed.append(keyed_entry)
            by_doc[doc] = tuple(keyed)
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "_policy_of", owner)
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_raw", {key: entry_id for (_, entry_id), key in keys.items()})
        object.__setattr__(self, "_by_doc", by_doc)
        doc_keys = entry_keys((p.document.id, p.document.printed, [DOCUMENT_KEY]) for p in self.policies)
        object.__setattr__(self, "_doc_keys", {doc: key for (doc, _), key in doc_keys.items()})

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def get(self, entry_id: str) -> Entry | None:
        return self.entries.get(entry_id)

    def key(self, doc: str, entry_id: str) -> str:
        """The key of a document's entry, by the id its data file gives it."""
        return self._keys[(doc, entry_id)]

    def raw_id(self, key: str) -> str:
        """The id the entry has in its own data file ("m2" for "hengzhengfa-2026-9/m2")."""
        return self._raw[key]

    def document_key(self, doc: str) -> str:
        """How staff name a document's own fields: "document", or "DOC/document" for a later one."""
        return self._doc_keys[doc]

    def keyed_document(self, key: str) -> Document | None:
        """The document a `document_key` names (None: `key` names no document)."""
        doc = next((d for d, k in self._doc_keys.items() if k == key), None)
        policy = self.policy(doc) if doc is not None else None
        return policy.document if policy is not None else None

    def policy_of(self, entry_id: str) -> Policy:
        return self._policy_of[entry_id]

    def document_of(self, entry_id: str) -> Document:
        return self._policy_of[entry_id].document

    def policy(self, doc: str) -> Policy | None:
        return next((p for p in self.policies if p.document.id == doc), None)

    def entries_of(self, doc: str) -> tuple[Entry, ...]:
        """A document's entries (by key), in its data file's order."""
        return self._by_doc.get(doc, ())

    def section(self, entry_id: str) -> Section:
        policy = self._policy_of[entry_id]
        wanted = self.entries[entry_id].section
        return next(s for s in policy.data.sections if s.id == wanted)

    def measures(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.kind == "measure"]

    def scope_of(self, entry_id: str) -> Entry | None:
        """The `scope` entry of the entry's document: its conditions bind every measure."""
        doc = self._policy_of[entry_id].document.id
        return next((e for e in self._by_doc[doc] if e.kind == "scope"), None)

    @property
    def documents(self) -> list[Document]:
        return [p.document for p in self.policies]


def subject(entry: Entry) -> frozenset[str]:
    """What an entry is about, to tell two documents' entries on the same topic: a measure by
    the facts its own conditions and amounts test (both documents' overseas-warehouse measures
    test `overseas_warehouses`), any other entry by its kind (scope, apply, overlap, validity)."""
    if entry.kind != "measure":
        return frozenset({f"kind:{entry.kind}"})
    return frozenset(entry.own_facts())


def _describe(loc: tuple[int | str, ...], raw: Any) -> str:
    """Turn pydantic's location into "entry m4: benefits[0].amount.cap"."""
    parts = list(loc)
    where = ""
    if len(parts) >= 2 and parts[0] == "entries" and isinstance(parts[1], int):
        index = parts[1]
        entry_id = None
        if isinstance(raw, dict) and isinstance(raw.get("entries"), list) and index < len(raw["entries"]):
            item = raw["entries"][index]
            entry_id = item.get("id") if isinstance(item, dict) else None
        where = f"entry {entry_id}: " if entry_id else f"entries[{index}] (no id): "
        parts = parts[2:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + part
    if not path and where:  # the entry as a whole ("a measure needs its responsible units")
        return where.removesuffix(": ")
    return where + (path or "(file)")


def _iter_quotes(entry: Entry) -> Iterable[tuple[str, str]]:
    yield "source", entry.source
    conditions: list[tuple[str, Condition]] = [
        (f"conditions[{i}]", c) for i, c in enumerate(entry.conditions)
    ]
    for b, benefit in enumerate(entry.benefits):
        conditions += [(f"benefits[{b}].conditions[{i}]", c) for i, c in enumerate(benefit.conditions)]
        if benefit.amount and benefit.amount.quote:
            yield f"benefits[{b}].amount.quote", benefit.amount.quote
        for t, tier in enumerate(benefit.tiers):
            conditions += [
                (f"benefits[{b}].tiers[{t}].conditions[{i}]", c) for i, c in enumerate(tier.conditions)
            ]
            if tier.amount.quote:
                yield f"benefits[{b}].tiers[{t}].amount.quote", tier.amount.quote
    for where, condition in conditions:
        if condition.quote:
            yield f"{where}.quote", condition.quote
    for a, short in enumerate(entry.answers):
        yield f"answers[{a}].quote", short.quote


def _find_source(path: Path | None, source_file: str) -> Path:
    candidates = [SOURCE_DIR / source_file]
    if path is not None:
        candidates.insert(0, path.parent / source_file)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise KnowledgeError(f"document.source_file: '{source_file}' not found")


def parse_policy(text: str, name: str, *, path: Path | None = None, source_text: str | None = None) -> Policy:
    """Validate one data file's text. `name` prefixes every error message."""
    raw = parse_yaml(text, name)
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{name}: expected a mapping with document, sections and entries")
    try:
        data = PolicyFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = first["msg"].removeprefix("Value error, ")
        raise KnowledgeError(f"{name}: {_describe(tuple(first['loc']), raw)}: {message}{more}") from None
    if source_text is None:
        try:
            source_text = _find_source(path, data.document.source_file).read_text(encoding="utf-8")
        except KnowledgeError as exc:
            raise KnowledgeError(f"{name}: {exc}") from None
    haystack = squash(source_text)
    for entry in data.entries:
        for where, quote in _iter_quotes(entry):
            if squash(quote) not in haystack:
                raise KnowledgeError(
                    f"{name}: entry {entry.id}: {where}: quote not found in the source text: '{quote[:60]}'"
                )
    validity_quote = data.document.validity.quote
    if squash(validity_quote) not in haystack:
        raise KnowledgeError(f"{name}: document.validity.quote: quote not found in the source text")
    return Policy(data=data, source_text=source_text, path=path)


def load_policy_file(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path.name}: cannot read: {exc}") from None
    return parse_policy(text, path.name, path=path)


def policy_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise KnowledgeError(f"{root}: no such file or directory")
    return sorted(p for p in root.iterdir() if p.suffix in (".yaml", ".yml"))


def load_knowledge_base(root: Path | None = None) -> KnowledgeBase:
    """Load every policy data file under `root` (default: the shipped data)."""
    files = policy_files(root or DATA_DIR)
    if not files:
        raise KnowledgeError(f"{root}: no policy data files (*.yaml)")
    return KnowledgeBase(tuple(load_policy_file(p) for p in files))
