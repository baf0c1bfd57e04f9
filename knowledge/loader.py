"""Strict loading of policy data files: YAML → validated models → one knowledge base.

Every error names the file, the entry and the field, so staff can fix a file without a
programmer: "hengzhengfa-2024-4.yaml: entry m4: benefits[0].amount.cap: must be ≥ 0".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from knowledge.models import Condition, Document, Entry, PolicyFile, Section

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data" / "policies"
SOURCE_DIR = PACKAGE_DIR / "source"


class KnowledgeError(ValueError):
    """A data file is not valid; the message says where and why."""


class _StrictLoader(yaml.SafeLoader):
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


@dataclass(frozen=True)
class KnowledgeBase:
    policies: tuple[Policy, ...]
    entries: dict[str, Entry] = field(init=False)
    _policy_of: dict[str, Policy] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        entries: dict[str, Entry] = {}
        owner: dict[str, Policy] = {}
        for policy in self.policies:
            for entry in policy.data.entries:
                if entry.id in entries:
                    raise KnowledgeError(
                        f"entry id '{entry.id}' is used by both {owner[entry.id].document.id} "
                        f"and {policy.document.id}"
                    )
                entries[entry.id] = entry
                owner[entry.id] = policy
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "_policy_of", owner)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def get(self, entry_id: str) -> Entry | None:
        return self.entries.get(entry_id)

    def policy_of(self, entry_id: str) -> Policy:
        return self._policy_of[entry_id]

    def document_of(self, entry_id: str) -> Document:
        return self._policy_of[entry_id].document

    def section(self, entry_id: str) -> Section:
        policy = self._policy_of[entry_id]
        wanted = self.entries[entry_id].section
        return next(s for s in policy.data.sections if s.id == wanted)

    def measures(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.kind == "measure"]

    def scope_of(self, entry_id: str) -> Entry | None:
        """The `scope` entry of the entry's document: its conditions bind every measure."""
        policy = self._policy_of[entry_id]
        return next((e for e in policy.data.entries if e.kind == "scope"), None)

    @property
    def documents(self) -> list[Document]:
        return [p.document for p in self.policies]


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
