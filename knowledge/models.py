"""The knowledge base's shape: one policy document, its sections and its entries.

Conditions and amounts are data (OpenFisca-style): thresholds, percentages and caps sit
beside the clause they come from, and `eligibility/` evaluates them without knowing any
measure by name.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from knowledge.units import Unit


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a data file must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class Op(StrEnum):
    IS_TRUE = "is_true"
    IS_FALSE = "is_false"
    GT = ">"  # 超过, 破零 (> 0)
    GE = ">="  # 以上, 达到


class Condition(Strict):
    """One test on one fact, as the text states it."""

    fact: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    op: Op
    value: Decimal | None = None
    unit: Unit | None = None
    label: Localized
    quote: str | None = None  # the words of the text this condition encodes

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        if self.op in (Op.IS_TRUE, Op.IS_FALSE):
            if self.value is not None or self.unit is not None:
                raise ValueError(f"{self.op.value} takes no value or unit")
        else:
            if self.value is None or self.unit is None:
                raise ValueError(f"'{self.op.value}' needs a value and a unit")
            if self.value < 0:
                raise ValueError(f"threshold must not be negative: {self.value}")
            if self.unit in (Unit.PERCENT, Unit.NONE):
                raise ValueError(f"unit '{self.unit.value}' is not a unit a threshold is measured in")
        return self


Per = Literal["enterprise", "park", "incubator", "warehouse", "store", "base", "year", "one_time"]


class Amount(Strict):
    """How much: a fixed maximum, a percentage of a fact, or an amount per unit counted."""

    kind: Literal["fixed", "percent", "per_unit"]
    value: int | None = Field(default=None, ge=0)  # fixed: the maximum; per_unit: the amount per unit
    rate: Decimal | None = Field(default=None, gt=0, le=100)  # percent, 0-100
    of: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9_]*$"
    )  # the fact the rate or count applies to
    cap: int | None = Field(default=None, ge=0)  # yuan
    per: list[Per] = []
    quote: str | None = None

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> Amount:
        need = {"fixed": ("value",), "percent": ("rate", "of"), "per_unit": ("value", "of")}[self.kind]
        for name in need:
            if getattr(self, name) is None:
                raise ValueError(f"amount of kind '{self.kind}' needs '{name}'")
        if self.kind == "fixed" and (self.rate is not None or self.of is not None):
            raise ValueError("a fixed amount takes no 'rate' or 'of'")
        return self


class Tier(Strict):
    conditions: list[Condition] = Field(min_length=1)
    amount: Amount


class Benefit(Strict):
    """One part of a measure's support. Its conditions add to the measure's own.

    With `tiers`, the highest tier whose conditions hold gives the amount.
    With `for_each`, the conditions and the amount apply to each item of a list fact
    (e.g. each overseas warehouse), and the amounts add up.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Localized
    conditions: list[Condition] = []
    amount: Amount | None = None  # None: the text names no figure (适当支持, 一定支持)
    tiers: list[Tier] = []
    for_each: str | None = None
    note: Localized | None = None

    @model_validator(mode="after")
    def _one_amount_form(self) -> Benefit:
        if self.tiers and self.amount is not None:
            raise ValueError("a benefit has either 'tiers' or 'amount', not both")
        return self


class ShortAnswer(Strict):
    """A yes/no question the text answers without the asker's figures ("省级资金之外市里还能给吗"):
    its phrasings, the one- or two-line answer, and the words of the text it rests on."""

    questions: list[str] = Field(min_length=1)
    answer: Literal["yes", "no", "depends"]
    text: Localized
    quote: str


EntryKind = Literal["measure", "scope", "apply", "overlap", "validity"]


class Entry(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: EntryKind
    number: int | None = None  # the measure's number in the text
    section: str
    title: Localized
    summary: Localized
    audience: Localized | None = None
    source: str = Field(min_length=1)  # verbatim from the policy text
    units: list[str] = []  # 责任单位
    conditions: list[Condition] = []  # for `scope`: the base conditions every measure needs
    benefits: list[Benefit] = []
    combine: Literal["sum", "best"] = "sum"  # sum the benefits, or the best one alone
    cap: int | None = Field(default=None, ge=0)  # a cap on the benefits together, yuan
    cap_per: list[Per] = []
    notes: list[Localized] = []  # conditions the data cannot check (须经批准, 需海关备案…)
    keywords: list[str] = []
    keywords_en: list[str] = []
    synonyms: list[str] = []
    hints: list[str] = []  # words that point to the entry without deciding it (platform names…)
    questions: list[str] = []  # sample questions in users' words: tuning data for the matcher
    answers: list[ShortAnswer] = []  # yes/no questions the text answers directly
    related: list[str] = []

    def own_facts(self) -> set[str]:
        """The facts the entry's own conditions and amounts test (the document's base conditions
        aside); a per-item benefit counts as its list fact."""
        names = {c.fact for c in self.conditions}
        for benefit in self.benefits:
            if benefit.for_each is not None:
                names.add(benefit.for_each)
                continue
            names |= {c.fact for c in benefit.conditions}
            names |= {c.fact for tier in benefit.tiers for c in tier.conditions}
            if benefit.amount is not None and benefit.amount.of:
                names.add(benefit.amount.of)
        return names

    @model_validator(mode="after")
    def _measure_shape(self) -> Entry:
        if self.kind == "measure":
            if self.number is None:
                raise ValueError("a measure needs its 'number'")
            if not self.benefits:
                raise ValueError("a measure needs at least one benefit")
            if not self.units:
                raise ValueError("a measure needs its responsible units ('units')")
        elif self.benefits:
            raise ValueError(f"an entry of kind '{self.kind}' has no benefits")
        ids = [b.id for b in self.benefits]
        if len(ids) != len(set(ids)):
            raise ValueError("benefit ids must be unique within an entry")
        return self


class Section(Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=16)  # short: browse buttons carry it
    number: str  # as printed: 一、 / （三）
    title: Localized
    parent: str | None = None


class Validity(Strict):
    effective_from: date
    effective_until: date  # the last day in force
    quote: str

    @model_validator(mode="after")
    def _ordered(self) -> Validity:
        if self.effective_until < self.effective_from:
            raise ValueError("effective_until is before effective_from")
        return self


class Document(Strict):
    # Short: it qualifies entry ids ("hengzhengfa-2026-9/m2") that buttons carry (64 bytes).
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=24)
    title: Localized
    number: str  # 文号
    normative_number: str | None = None
    issuer: Localized
    printed_by: str | None = None
    printed: date
    implements: list[str] = []
    validity: Validity
    source_file: str  # beside the data file, or in knowledge/source/
    contact: Localized | None = None
    unit_names: dict[str, str] = {}  # responsible units' English names, by their Chinese name


class PolicyFile(Strict):
    """One data file: a document and all its entries."""

    document: Document
    sections: list[Section]
    entries: list[Entry]

    @field_validator("entries")
    @classmethod
    def _unique_ids(cls, entries: list[Entry]) -> list[Entry]:
        seen: set[str] = set()
        for entry in entries:
            if entry.id in seen:
                raise ValueError(f"duplicate entry id '{entry.id}'")
            seen.add(entry.id)
        return entries

    @model_validator(mode="after")
    def _sections_known(self) -> PolicyFile:
        known = {s.id for s in self.sections}
        for entry in self.entries:
            if entry.section not in known:
                raise ValueError(f"entry '{entry.id}': unknown section '{entry.section}'")
            for rel in entry.related:
                if rel not in {e.id for e in self.entries}:
                    raise ValueError(f"entry '{entry.id}': related entry '{rel}' does not exist")
        return self
