"""The enterprise's situation as a message states it: the facts it gives, in the public fact
vocabulary — figures bound to the fact their words name ("年租金50万" → annual_rent_cny), the
items of a list (each overseas warehouse with its own area and rent, "两个…各" repeated), and
statements of status ("分公司" → independent_legal_person false). The cues are data
(data/cues.yaml, keyed by fact, and data/places.yaml); nothing here knows a fact by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eligibility.facts import FACT_NAMES, Facts, FactSpec, Kind
from knowledge.loader import read_yaml
from knowledge.numbers import Quantity, find_quantities
from knowledge.text import normalize
from knowledge.units import Unit

DATA = Path(__file__).resolve().parent / "data"
CUES_FILE = DATA / "cues.yaml"
PLACES_FILE = DATA / "places.yaml"

_CLAUSE = re.compile(r"[，,。；;！!？?\n]")
_NEGATION = (
    "不是",
    "并非",
    "不属于",
    "不算",
    "没有",
    "不",
    "非",
    "not a ",
    "not an ",
    "not ",
    "isn't ",
    "aren't ",
    "no ",
)
_ITEM_UNITS = {"area_m2": Unit.M2, "annual_rent_cny": Unit.CNY}
_AFTER_PENALTY = 3  # a word after its figure ("50万的推广费") binds less readily than one before


@dataclass(frozen=True)
class Situation:
    """What a message says about the enterprise: fact name → value (as a profile would hold it)."""

    facts: dict[str, Any] = field(default_factory=dict)

    def merged(self, newer: Situation) -> Situation:
        """This situation updated by a later message: what the later one says wins."""
        return Situation({**self.facts, **newer.facts})

    def __bool__(self) -> bool:
        return bool(self.facts)


@dataclass(frozen=True)
class _Figure:
    """How figures of one fact (or one field of a list item) are recognised."""

    name: str
    unit: Unit
    words: tuple[str, ...]
    context: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Status:
    name: str
    phrases: tuple[tuple[str, bool], ...]  # (phrase, the value it states), longest first


@dataclass(frozen=True)
class _List:
    name: str
    anchors: tuple[str, ...]
    repeat: tuple[str, ...]
    none: tuple[str, ...]
    items: tuple[_Figure, ...]


@dataclass(frozen=True)
class Cues:
    figures: tuple[_Figure, ...]
    statuses: tuple[_Status, ...]
    lists: tuple[_List, ...]


def _words(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(normalize(str(v)).lower() for v in values)


def _expand(phrases: Iterable[Any], places: Mapping[str, Sequence[str]]) -> list[str]:
    out: list[str] = []
    for phrase in _words(phrases):
        slots = [name for name in places if "{" + name + "}" in phrase]
        if not slots:
            out.append(phrase)
            continue
        for place in places[slots[0]]:
            out.append(phrase.replace("{" + slots[0] + "}", place))
    return out


@lru_cache(maxsize=4)
def load_cues(path: Path = CUES_FILE, places_path: Path = PLACES_FILE) -> Cues:
    from eligibility.facts import load_fact_specs

    raw = read_yaml(path) or {}
    places = {k: _words(v) for k, v in (read_yaml(places_path) or {}).items()}
    specs = load_fact_specs()
    unknown = sorted(set(raw) - set(FACT_NAMES))
    if unknown:
        raise ValueError(f"{path.name}: unknown facts: {unknown}")
    figures: list[_Figure] = []
    statuses: list[_Status] = []
    lists: list[_List] = []
    for name, body in raw.items():
        kind = specs[name].kind
        if kind == Kind.WAREHOUSES:
            items = tuple(
                _Figure(
                    f"{name}.{item}",
                    _ITEM_UNITS[item],
                    _words(cue.get("words", [])),
                    _words(body.get("anchors", [])),
                )
                for item, cue in (body.get("items") or {}).items()
            )
            lists.append(
                _List(
                    name,
                    _words(body.get("anchors", [])),
                    _words(body.get("repeat", [])),
                    tuple(_expand(body.get("none", []), places)),
                    items,
                )
            )
        elif kind == Kind.YES_NO:
            phrases = [(p, True) for p in _expand(body.get("yes", []), places)]
            phrases += [(p, False) for p in _expand(body.get("no", []), places)]
            statuses.append(_Status(name, tuple(sorted(phrases, key=lambda item: -len(item[0])))))
        else:
            unit = kind.unit
            assert unit is not None
            figures.append(
                _Figure(
                    name,
                    unit,
                    _words(body.get("words", [])),
                    _words(body.get("context", [])),
                    _words(body.get("unless", [])),
                )
            )
    return Cues(tuple(figures), tuple(statuses), tuple(lists))


# --- statements of status -------------------------------------------------------------------


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 5) : start]
    return any(before.endswith(word) for word in _NEGATION)


def _find(text: str, word: str) -> Iterable[tuple[int, int]]:
    """Every occurrence of `word` (plain search: a regex per phrase costs more than the reading)."""
    start = text.find(word)
    while start >= 0 and word:
        yield start, start + len(word)
        start = text.find(word, start + 1)


def _statuses(text: str, cues: Cues) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for status in cues.statuses:
        taken: list[tuple[int, int]] = []
        best: tuple[int, int, int, bool] | None = None  # (negated, length, position, value)
        for phrase, value in status.phrases:
            for start, end in _find(text, phrase):
                if any(s <= start and end <= e for s, e in taken):
                    continue  # inside a longer phrase already read ("不在衡阳纳税" holds "衡阳纳税")
                taken.append((start, end))
                negated = _negated(text, start)
                # a negated statement outweighs an affirmed one ("没有被认定为人才培养基地")
                candidate = (int(negated), end - start, start, value != negated)
                if best is None or candidate[:3] > best[:3]:
                    best = candidate
        if best is not None:
            found[status.name] = best[3]
    return found


# --- figures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    quantity: Quantity
    start: int
    end: int


def _placed(text: str) -> list[_Placed]:
    out: list[_Placed] = []
    cursor = 0
    for quantity in find_quantities(text):
        start = text.find(quantity.text, cursor)
        if start < 0:
            start = cursor
        end = start + len(quantity.text)
        out.append(_Placed(quantity, start, end))
        cursor = end
    return out


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    left = max((m.end() for m in _CLAUSE.finditer(text, 0, start)), default=0)
    right = next((m.start() for m in _CLAUSE.finditer(text, end)), len(text))
    return left, right


def _occurrences(text: str, figures: Sequence[_Figure]) -> dict[str, list[tuple[int, int]]]:
    """Where each figure's words occur; an occurrence inside a longer one of another figure does
    not count ("出口" inside "进出口")."""
    spans = [
        (start, end, figure.name)
        for figure in figures
        for word in figure.words
        for start, end in _find(text, word)
    ]
    found: dict[str, list[tuple[int, int]]] = {}
    for start, end, name in spans:
        if any(s <= start and end <= e and (e - s) > (end - start) and n != name for s, e, n in spans):
            continue
        found.setdefault(name, []).append((start, end))
    return found


def _applies(figure: _Figure, text: str) -> bool:
    if figure.context and not any(word in text for word in figure.context):
        return False
    return not any(word in text for word in figure.unless)


def _fits(figure: _Figure, quantity: Quantity) -> bool:
    if quantity.unit == Unit.NONE:  # a bare figure: money, a dollar volume, or a count
        return figure.unit in (Unit.CNY, Unit.USD, Unit.COUNT)
    return quantity.unit == figure.unit


def _distance(placed: _Placed, spans: list[tuple[int, int]], clause: tuple[int, int]) -> int | None:
    best: int | None = None
    for start, end in spans:
        if start < clause[0] or end > clause[1]:
            continue
        if end <= placed.start:
            gap = placed.start - end
        elif start >= placed.end:
            gap = start - placed.end + _AFTER_PENALTY
        else:
            gap = 0
        best = gap if best is None else min(best, gap)
    return best


def _bind(
    text: str,
    placed: Sequence[_Placed],
    figures: Sequence[_Figure],
    prefer: Sequence[str],
    only: Sequence[str] | None = None,
) -> list[tuple[_Placed, _Figure]]:
    """Each figure of the message with the fact (or item field) it states, in message order."""
    spans = _occurrences(text, figures)
    if only is not None:  # a follow-up: its figures are about the facts already under discussion
        live = [f for f in figures if f.name.split(".")[0] in only]
    else:
        live = [f for f in figures if _applies(f, text) or (f.name.split(".")[0] in prefer and "." in f.name)]
    bound: list[tuple[_Placed, _Figure]] = []
    for item in placed:
        if item.quantity.unit == Unit.PERCENT:
            continue
        clause = _clause(text, item.start, item.end)
        scored = []
        for figure in live:
            if not _fits(figure, item.quantity):
                continue
            gap = _distance(item, spans.get(figure.name, []), clause)
            if gap is None:
                continue
            bare_order = (
                (Unit.CNY, Unit.USD, Unit.COUNT).index(figure.unit) if item.quantity.unit == Unit.NONE else 0
            )
            scored.append((gap, figure.name not in prefer, bare_order, figure))
        if not scored:  # a list's item ("一个36万，一个42万") may name its field a clause earlier
            whole = (0, len(text))
            for figure in live:
                if "." in figure.name and _fits(figure, item.quantity):
                    gap = _distance(item, spans.get(figure.name, []), whole)
                    if gap is not None:
                        scored.append((gap, False, 0, figure))
        if scored:
            bound.append((item, min(scored, key=lambda s: s[:3])[3]))
            continue
        fallback = next(
            (
                f
                for f in live
                if _fits(f, item.quantity)
                and (
                    f.name in prefer
                    or f.name.split(".")[0] in prefer
                    or ("." in f.name and item.quantity.unit == f.unit)
                )
            ),
            None,
        )
        if fallback is not None:  # no word names it: the fact of the clause asked about
            bound.append((item, fallback))
    return bound


def _repeats(text: str, placed: Sequence[_Placed], listing: _List) -> int:
    """ "两个海外仓都是…" / "3 warehouses, each…": how many items one description stands for."""
    if not any(word in text for word in listing.repeat):
        return 1
    for item in placed:
        after = text[item.end : item.end + 6]
        small = item.quantity.unit == Unit.COUNT or (
            item.quantity.unit == Unit.NONE and item.quantity.value < 20
        )
        if small and any(after.lstrip("个座处家间 ").startswith(anchor) for anchor in listing.anchors):
            return int(item.quantity.value)
    return 1


def _items(
    text: str,
    placed: Sequence[_Placed],
    bound: Sequence[tuple[_Placed, _Figure]],
    listing: _List,
    prefer: Sequence[str],
) -> list[dict[str, Decimal]] | None:
    if any(phrase in text for phrase in listing.none):
        return []
    if listing.name not in prefer and not any(anchor in text for anchor in listing.anchors):
        return None
    columns: dict[str, list[Decimal]] = {}
    for item, figure in bound:
        if figure.name.startswith(listing.name + "."):
            columns.setdefault(figure.name.split(".", 1)[1], []).append(item.quantity.value)
    if not columns:
        return None
    count = max(len(values) for values in columns.values())
    times = _repeats(text, placed, listing)
    if count == 1 and times > 1:
        columns = {k: v * times for k, v in columns.items()}
        count = times
    elif times == count:
        columns = {k: v if len(v) == count else v[:1] * count for k, v in columns.items()}
    items = [{k: v[i] for k, v in columns.items() if i < len(v)} for i in range(count)]
    return [item for item in items if "area_m2" in item] or None


_AREA_WORDS = re.compile(r"\s*(?:square\s+met(?:er|re)s?|sq\.?\s?m(?:eters|etres)?|sqm|㎡)(?![a-z])")
_COUNT_AFTER_FIGURE = re.compile(r"(?<=[\d万千亿])(?=[一两二三]个)")


_BARE_PING = re.compile(r"(?<=[\d十百千万两一二三四五六七八九])平(?![方米台安均整衡])")


def _prepare(text: str) -> str:
    """What people type, made plain for the number reader: "1000 sqm" and "800平能…" → 平米; a
    colon or an "一个" right after a figure ("各36万一个42万") starts a new clause."""
    text = _BARE_PING.sub("平米", _AREA_WORDS.sub("平米", text))
    text = text.replace("：", "，").replace(":", "，")
    return _COUNT_AFTER_FIGURE.sub("，", text)


def read_situation(
    text: str, specs: Mapping[str, FactSpec], *, prefer: Sequence[str] = (), only: Sequence[str] | None = None
) -> Situation:
    """The facts `text` states. `prefer`: the facts of the clause the message asks about, which
    take a figure no word names ("出口80万能拿多少" about 第5条) and win ties. `only`: read a
    follow-up ("那1500平米的呢") as being about these facts alone."""
    cues = load_cues()
    plain = _prepare(normalize(text).lower())
    facts: dict[str, Any] = dict(_statuses(plain, cues))
    if only is not None:
        facts = {k: v for k, v in facts.items() if k in only}
        prefer = tuple(dict.fromkeys([*only, *prefer]))
    placed = _placed(plain)
    item_figures = [f for listing in cues.lists for f in listing.items]
    bound = _bind(plain, placed, [*cues.figures, *item_figures], prefer, only)
    clauses: dict[str, set[tuple[int, int]]] = {}
    for item, figure in bound:
        if "." in figure.name:
            continue
        value = item.quantity.value
        where = _clause(plain, item.start, item.end)
        if figure.name not in facts:
            facts[figure.name] = int(value) if specs[figure.name].kind == Kind.COUNT else value
            clauses[figure.name] = {where}
        elif specs[figure.name].kind == Kind.CNY and where not in clauses.get(figure.name, set()):
            # costs of one kind in separate clauses add up ("查验设备60万，溯源系统40万")
            facts[figure.name] = facts[figure.name] + value
            clauses[figure.name].add(where)
    for listing in cues.lists:
        items = _items(plain, placed, bound, listing, prefer)
        if items is not None:
            facts[listing.name] = items
    return Situation(_valid(facts))


def _valid(facts: dict[str, Any]) -> dict[str, Any]:
    """Only values a profile could hold (a count that is no whole number is dropped, not guessed)."""
    kept: dict[str, Any] = {}
    for name, value in facts.items():
        try:
            Facts.model_validate({name: value})
        except ValidationError:
            continue
        kept[name] = value
    return kept
