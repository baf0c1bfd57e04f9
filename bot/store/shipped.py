"""The knowledge base as shipped: the data files read raw (for the version store), their source
texts, and validation of raw documents into a knowledge base. No database, no aiogram."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from eligibility.validate import rule_problems
from knowledge import overlay
from knowledge.loader import DATA_DIR, SOURCE_DIR, KnowledgeBase, KnowledgeError, policy_files


@dataclass(frozen=True)
class Shipped:
    doc: str
    name: str
    raw: dict[str, Any]
    fingerprint: str
    text: str  # the file as shipped: exports keep its comments and layout


def doc_id(raw: dict[str, Any], name: str) -> str:
    document = raw.get("document")
    doc = document.get("id") if isinstance(document, dict) else None
    if not isinstance(doc, str) or not doc:
        raise KnowledgeError(f"{name}: document.id: missing")
    return doc


def read_shipped(root: Path = DATA_DIR) -> list[Shipped]:
    shipped = []
    for path in policy_files(root):
        text = path.read_text(encoding="utf-8")
        raw = overlay.load_raw(text, path.name)
        shipped.append(Shipped(doc_id(raw, path.name), path.name, raw, overlay.fingerprint(raw), text))
    return shipped


@lru_cache(maxsize=8)
def _read_source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def source_text(raw: dict[str, Any], name: str, root: Path = DATA_DIR) -> str:
    """The policy text a document quotes (beside the data files, or in knowledge/source/)."""
    document = raw.get("document")
    source_file = document.get("source_file") if isinstance(document, dict) else None
    if not isinstance(source_file, str):
        raise KnowledgeError(f"{name}: document.source_file: missing")
    for candidate in (root / source_file, SOURCE_DIR / source_file):
        if candidate.is_file():
            return _read_source(candidate)
    raise KnowledgeError(f"{name}: document.source_file: '{source_file}' not found")


def build(
    documents: Sequence[tuple[str, dict[str, Any]]],
    root: Path = DATA_DIR,
    sources: Mapping[str, str] | None = None,
) -> KnowledgeBase:
    """Validate (name, raw) documents as one knowledge base; KnowledgeError names the problem.
    `sources`: source texts by name, for documents that did not ship (staff added them); the
    others quote the text beside the shipped files."""
    given = sources or {}
    policies = tuple(
        overlay.validate(raw, given[name] if name in given else source_text(raw, name, root), name)
        for name, raw in documents
    )
    kb = KnowledgeBase(policies)
    problems = rule_problems(kb)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise KnowledgeError(f"{problems[0]}{more}")
    return kb
