"""The enterprise profile: what screening knows about one applicant.

Field names are a public contract (batch screening files use them as keys). Every field is
optional: None means "not known yet". Money is in yuan unless the name says usd; areas in m²;
"this year" is the application year.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from knowledge.loader import read_yaml
from knowledge.models import Localized
from knowledge.units import Unit

NonNegative = Annotated[Decimal, Field(ge=0, allow_inf_nan=False, max_digits=20)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


class Warehouse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    area_m2: NonNegative
    annual_rent_cny: NonNegative | None = None  # not known yet ("海外仓800平米能补吗")


class Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # base (一、支持范围)
    registered_in_hengyang: bool | None = None
    pays_tax_in_hengyang: bool | None = None
    independent_legal_person: bool | None = None
    cbec_in_customs_stats: bool | None = None
    # m1
    operates_park: bool | None = None
    park_recognized: bool | None = None
    park_new_cbec_tenants: Count | None = None
    park_cbec_total_usd: NonNegative | None = None
    # m2
    operates_incubator: bool | None = None
    incubated_enterprises: Count | None = None
    # m3
    builds_cbec_platform: bool | None = None
    # m4
    supervision_site_investment_cny: NonNegative | None = None
    # m5
    cbec_export_usd: NonNegative | None = None
    # m6
    platform_promotion_fees_cny: NonNegative | None = None
    new_store_annual_fees_cny: NonNegative | None = None
    # m7 (cbec_total_usd is shared with m8)
    newly_entered_recognized_park: bool | None = None
    rented_area_m2: NonNegative | None = None
    annual_rent_cny: NonNegative | None = None
    cbec_total_usd: NonNegative | None = None
    # m8
    newly_introduced: bool | None = None
    # m9
    o2o_store_area_m2: NonNegative | None = None
    new_community_o2o_stores: Count | None = None
    # m10
    provincial_public_overseas_warehouse: bool | None = None
    overseas_warehouses: list[Warehouse] | None = None
    # m11
    provides_support_services: bool | None = None
    # m12
    small_or_micro: bool | None = None
    export_credit_insurance_premium_cny: NonNegative | None = None
    insured_via_single_window: bool | None = None
    # m13
    traditional_foreign_trade: bool | None = None
    staff_cbec_training_fees_cny: NonNegative | None = None
    # m14
    college_or_training_institution: bool | None = None
    recognized_talent_base: bool | None = None
    talent_base_investment_cny: NonNegative | None = None
    # m15
    runs_subsidized_training: bool | None = None
    # m16
    annual_social_insurance_cny: NonNegative | None = None

    def known(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)

    def with_fact(self, name: str, value: Any) -> Facts:
        """A copy with one fact set (None forgets it), validated like any profile."""
        data = self.model_dump(exclude_none=True)
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
        return Facts.model_validate(data)


FACT_NAMES: tuple[str, ...] = tuple(Facts.model_fields)


class Kind(StrEnum):
    """How a fact is answered."""

    YES_NO = "yes_no"
    COUNT = "count"
    USD = "usd"
    CNY = "cny"
    AREA = "area"
    WAREHOUSES = "warehouses"

    @property
    def unit(self) -> Unit | None:
        """The unit a figure of this kind is in (None: not a figure)."""
        return _KIND_UNITS.get(self)


_KIND_UNITS = {Kind.USD: Unit.USD, Kind.CNY: Unit.CNY, Kind.AREA: Unit.M2, Kind.COUNT: Unit.COUNT}


class Plausible(BaseModel):
    """The figures an answer to a numeric fact is expected to fall in: zero (none) or `min`..`max`.
    An answer outside is not refused; the interview asks to confirm it ("确定是 20000 家吗？")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: Decimal = Decimal(0)
    max: Decimal

    def admits(self, value: Any) -> bool:
        number = Decimal(str(value))
        return number == 0 or self.min <= number <= self.max


class FactSpec(BaseModel):
    """How to ask for one fact: the question, its answer kind and help where a term needs it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Kind
    question: Localized
    help: Localized | None = None
    group: str | None = None  # facts of one group may be asked together, as a checklist
    label: Localized | None = None  # the short form for a checklist
    plausible: Plausible | None = None  # numeric facts: outside it, an answer is confirmed first

    def short(self, lang: str) -> str:
        """The checklist label, or the question where there is none."""
        return (self.label or self.question).get(lang)

    @model_validator(mode="after")
    def _grouped_facts_are_yes_no_with_a_label(self) -> FactSpec:
        if self.group is not None and (self.kind != Kind.YES_NO or self.label is None):
            raise ValueError(f"{self.name}: a grouped fact is yes/no and has a label")
        return self


FACTS_FILE = Path(__file__).resolve().parent / "data" / "facts.yaml"
SECTIONS = frozenset({"activities"})  # top-level keys of the fact file that are not facts (eligibility/interview.py)


@lru_cache(maxsize=4)
def _fact_file(path: Path) -> dict[str, Any]:
    """The fact file, parsed once per process (every door and the situation reader ask for it)."""
    raw: dict[str, Any] = read_yaml(path)
    return raw


def load_fact_specs(path: Path = FACTS_FILE) -> dict[str, FactSpec]:
    raw = _fact_file(path)
    specs = {name: FactSpec(name=name, **body) for name, body in raw.items() if name not in SECTIONS}
    missing = set(FACT_NAMES) - set(specs)
    extra = set(specs) - set(FACT_NAMES)
    if missing or extra:
        raise ValueError(
            f"{path.name}: facts without a question: {sorted(missing)}; unknown facts: {sorted(extra)}"
        )
    return {name: specs[name] for name in FACT_NAMES}
