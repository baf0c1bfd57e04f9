"""Enterprise profiles from files, for batch screening: .json (one), .jsonl (one a line), .csv
(header = fact names). Every problem names its row and field; nothing is dropped silently."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eligibility.facts import FACT_NAMES, Facts, FactSpec, Kind, load_fact_specs
from eligibility.parse import AnswerError, parse_answer

ID_FIELDS = ("id", "name")  # optional labels for a profile; not facts


class ProfileError(ValueError):
    """Bad input; the message names row and field."""


@dataclass(frozen=True)
class Profile:
    row: int  # 1-based: line of a .jsonl, data row of a .csv, 1 for a .json
    label: str | None
    facts: Facts


def _label(data: dict[str, Any]) -> str | None:
    for key in ID_FIELDS:
        if data.get(key) not in (None, ""):
            return str(data[key])
    return None


def to_facts(data: Any, where: str) -> Facts:
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: a profile is a JSON object of fact names to values")
    facts = {k: v for k, v in data.items() if k not in ID_FIELDS}
    unknown = sorted(set(facts) - set(FACT_NAMES))
    if unknown:
        raise ProfileError(f"{where}: unknown fact name(s): {', '.join(unknown)}")
    try:
        return Facts.model_validate({k: v for k, v in facts.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        raise ProfileError(f"{where}: field {field}: {error['msg']} (got {error.get('input')!r})") from None


def _cell(spec: FactSpec, text: str, where: str) -> Any:
    if spec.kind == Kind.WAREHOUSES and text.strip().startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProfileError(f"{where}: field {spec.name}: not valid JSON: {exc}") from None
    try:
        return parse_answer(spec, text)
    except AnswerError as exc:
        raise ProfileError(f"{where}: field {spec.name}: {exc.message.en} ({text!r})") from None


def read_profiles(path: Path) -> Iterator[Profile]:
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path.name}: cannot read: {exc}") from None
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProfileError(f"{path.name}: not valid JSON: {exc}") from None
        yield Profile(1, _label(data) if isinstance(data, dict) else None, to_facts(data, path.name))
    elif suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path.name}: line {number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ProfileError(f"{where}: not valid JSON: {exc}") from None
            yield Profile(number, _label(data) if isinstance(data, dict) else None, to_facts(data, where))
    elif suffix == ".csv":
        yield from _read_csv(text, path.name)
    else:
        raise ProfileError(f"{path.name}: expected a .json, .jsonl or .csv file")


def _read_csv(text: str, name: str) -> Iterator[Profile]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [h for h in header if h not in FACT_NAMES and h not in ID_FIELDS]
    if unknown:
        raise ProfileError(f"{name}: header: unknown fact name(s): {', '.join(unknown)}")
    specs = load_fact_specs()
    for number, row in enumerate(reader, start=1):
        where = f"{name}: row {number}"
        if None in row:
            raise ProfileError(f"{where}: more cells than header columns")
        values = {
            k: _cell(specs[k], v, where) for k, v in row.items() if k in specs and v is not None and v.strip()
        }
        yield Profile(number, _label(row), to_facts(values, where))
