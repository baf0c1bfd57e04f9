"""The answer to a free question: what the message asks (the matcher's decision), what it says
about the enterprise (eligibility.situation), and the chat's recent turns (`Context`), turned
into what the user reads — the direct answer first (可以 / 不可以 / 要看…, and the maximum for the
stated situation), then the clause's card.

It sits in eligibility/ because the amounts come from the same evaluator the screening uses
(eligibility.rules.evaluate): one computation for the free answer, the interview and the batch
check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from rapidfuzz import fuzz

from eligibility.facts import Facts, FactSpec, load_fact_specs
from eligibility.labels import fact_label
from eligibility.rules import MeasureResult, evaluate
from eligibility.situation import Situation, read_situation
from knowledge.loader import KnowledgeBase, read_yaml
from knowledge.matcher import Decision, Match, Matcher, Ruling
from knowledge.models import Benefit, Entry, Localized, Per, ShortAnswer
from knowledge.numbers import find_quantities
from knowledge.render import format_money, format_per, format_quantity, render_card
from knowledge.text import is_english, normalize, strip_punct
from knowledge.units import Unit
from knowledge.validity import ValidityStatus, governing, validity_on

ASKING_FILE = Path(__file__).resolve().parent / "data" / "asking.yaml"
CONTEXT_SECONDS = 30 * 60  # a chat's context older than this is forgotten
STRONG = 7.0  # evidence above which a message names its own topic, whatever came before
SHORT_ANSWER_SIMILARITY = 62.0
SHORT_ANSWER_COVERAGE = 0.7  # of a phrasing's own pieces the question must repeat

DirectAnswer = Literal["yes", "no", "depends"]


def _decline(kb: KnowledgeBase) -> Localized:
    numbers = "、".join(d.number for d in kb.documents)
    return Localized(
        zh=f"抱歉，{numbers}（衡阳市支持跨境电商发展的若干措施）没有涉及这个问题。",
        en=f"Sorry, {numbers} (Hengyang's cross-border e-commerce support measures) does not cover this.",
    )


CLARIFY = Localized(zh="您是想问下面哪一项？", en="Did you mean one of these?")
THANKS = Localized(
    zh="不客气！还有问题随时问我，也可以发送 /check 预审能申请哪些支持。",
    en="You're welcome! Ask me anything else, or send /check to pre-screen which support you may get.",
)


@dataclass(frozen=True)
class Asking:
    yes_no: tuple[str, ...]
    how_much: tuple[str, ...]
    followup: tuple[str, ...]
    thanks: frozenset[str]
    assumed_roles: frozenset[str]
    exists: tuple[str, ...]
    concepts: dict[str, tuple[str, ...]]


@lru_cache(maxsize=1)
def load_asking(path: Path = ASKING_FILE) -> Asking:
    raw = read_yaml(path)

    def words(key: str) -> tuple[str, ...]:
        return tuple(normalize(str(w)).lower() for w in raw.get(key, []))

    roles = frozenset(str(w) for w in raw.get("assumed_roles", []))
    concepts = {
        str(name): tuple(normalize(str(w)).lower() for w in cues)
        for name, cues in (raw.get("concepts") or {}).items()
    }
    return Asking(
        words("yes_no"),
        words("how_much"),
        words("followup"),
        frozenset(words("thanks")),
        roles,
        words("exists"),
        concepts,
    )


def _compact(text: str) -> str:
    return re.sub(r"\s+", " ", strip_punct(normalize(text).lower())).strip()


def asks_yes_no(text: str) -> bool:
    plain = normalize(text).lower()
    return any(cue in plain for cue in load_asking().yes_no)


def is_followup(text: str) -> bool:
    plain = normalize(text).lower().strip()
    return any(plain.startswith(cue) for cue in load_asking().followup) or plain.endswith(
        ("呢", "呢?", "呢？")
    )


def is_thanks(text: str) -> bool:
    return _compact(text) in load_asking().thanks


@dataclass(frozen=True)
class Context:
    """What the chat has established so far: the clause being discussed, the facts stated about
    it (`facts`, reset on a new topic), every fact stated in the conversation (`known`, for the
    interview to start from), and a question waiting for a "did you mean" choice."""

    entry: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    known: dict[str, Any] = field(default_factory=dict)
    pending: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "facts": Facts.model_validate(self.facts).model_dump(mode="json", exclude_none=True),
            "known": Facts.model_validate(self.known).model_dump(mode="json", exclude_none=True),
            "pending": self.pending,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Context:
        try:
            facts = Facts.model_validate(data.get("facts") or {}).model_dump(exclude_none=True)
            known = Facts.model_validate(data.get("known") or {}).model_dump(exclude_none=True)
        except ValidationError:
            return cls()
        entry = data.get("entry")
        pending = data.get("pending")
        return cls(
            entry if isinstance(entry, str) else None,
            facts,
            known,
            pending if isinstance(pending, str) else None,
        )


def merge_facts(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """`old` updated by `new`; a list of the same length is updated item by item ("那如果是1500平米呢"
    changes the warehouse's area and keeps its rent)."""
    merged = dict(old)
    for name, value in new.items():
        before = merged.get(name)
        if isinstance(value, list) and isinstance(before, list) and len(value) == len(before):
            merged[name] = [
                {
                    **(b if isinstance(b, Mapping) else dict(b)),
                    **{k: v for k, v in dict(n).items() if v is not None},
                }
                for b, n in zip(before, value, strict=True)
            ]
        else:
            merged[name] = value
    return merged


@dataclass(frozen=True)
class Direct:
    """The direct answer: yes / no / depends to a yes-or-no question (None when the message asks
    no such question), the maximum for the situation stated, and what it rests on."""

    answer: DirectAnswer | None
    max_amount_cny: int | None
    measure: str | None
    facts: dict[str, Any]
    depends_on: tuple[str, ...]
    text: Localized  # the lines that lead the reply
    results: tuple[MeasureResult, ...] = ()

    def as_json(self) -> dict[str, Any]:
        # Decimals stay numbers (the doors' JSON writers turn them into JSON numbers)
        facts = Facts.model_validate(self.facts).model_dump(exclude_none=True)
        return {
            "answer": self.answer,
            "max_amount_cny": self.max_amount_cny,
            "measure": self.measure,
            "facts": facts,
            "depends_on": list(self.depends_on),
        }


@dataclass(frozen=True)
class Answer:
    decision: Decision
    text: str
    entry_ids: tuple[str, ...]
    direct: Direct | None = None
    lang: str = "zh"
    context: Context = field(default_factory=Context)
    thanks: bool = False

    @property
    def outcome(self) -> str:
        return self.decision.outcome

    def as_json(self, kb: KnowledgeBase | None = None) -> dict[str, Any]:
        matches = []
        for m in self.decision.matches:
            item: dict[str, Any] = {"id": m.id, "score": round(m.score, 4)}
            if kb is not None and m.id in kb.entries:
                item["document"] = kb.document_of(m.id).number
            matches.append(item)
        empty: dict[str, Any] = {
            "answer": None,
            "max_amount_cny": None,
            "measure": None,
            "facts": {},
            "depends_on": [],
        }
        return {
            "query": self.decision.query,
            "outcome": self.decision.outcome,
            "matches": matches,
            "answer": self.text,
            "direct": self.direct.as_json() if self.direct is not None else empty,
        }


# --- the direct answer ---------------------------------------------------------------------------


def _benefit_facts(entry: Entry, benefit_id: str) -> set[str]:
    benefit = next(b for b in entry.benefits if b.id == benefit_id)
    if benefit.for_each is not None:
        return {benefit.for_each}
    names = {c.fact for c in benefit.conditions} | {c.fact for t in benefit.tiers for c in t.conditions}
    return names | ({benefit.amount.of} if benefit.amount is not None and benefit.amount.of else set())


def _base_facts(kb: KnowledgeBase, entry_id: str) -> list[str]:
    scope = kb.scope_of(entry_id)
    return [c.fact for c in scope.conditions] if scope is not None else []


def assumed(kb: KnowledgeBase, entry_id: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The stated facts with the general eligibility (支持范围) taken as met where the message says
    nothing of it, and the asker taken to be the kind of applicant the clause is for (data:
    asking.yaml `assumed_roles`): the direct answer is about the clause asked, and says so."""
    values = dict(facts)
    for name in _base_facts(kb, entry_id):
        values.setdefault(name, True)
    roles = load_asking().assumed_roles
    entry = kb.entries[entry_id]
    for condition in entry.conditions:
        if condition.fact in roles and condition.op.value == "is_true":
            values.setdefault(condition.fact, True)
    return values


def _probe(entry: Entry, missing: Sequence[str], stated: Mapping[str, Any]) -> dict[str, Any]:
    """The stated facts with every figure still missing that only needs to be above zero set to a
    token amount: would the yes/no question be yes, whatever the figure?"""
    values = dict(stated)
    conditions = [c for b in entry.benefits for c in b.conditions] + list(entry.conditions)
    for name in missing:
        tests = [c for c in conditions if c.fact == name]
        if tests and all(c.op.value == ">" and c.value == 0 for c in tests):
            values[name] = 1
    for benefit in entry.benefits:  # list items: a field only needing to be above zero, too
        items = values.get(benefit.for_each) if benefit.for_each else None
        if benefit.for_each is not None and isinstance(items, list):
            positive = [c.fact for c in benefit.conditions if c.op.value == ">" and c.value == 0]
            values[benefit.for_each] = [
                {**dict(i), **{f: 1 for f in positive if dict(i).get(f) is None}} for i in items
            ]
    return values


def _money(value: int, lang: str) -> str:
    return format_money(value, lang)


def _labels(kb: KnowledgeBase, specs: Mapping[str, FactSpec], names: Sequence[str], lang: str) -> str:
    sep = "; " if lang == "en" else "；"
    return sep.join(fact_label(kb, specs, n, lang) for n in names)


def _heading(entry: Entry, lang: str, kb: KnowledgeBase | None = None) -> str:
    """ "第5条" — with the document's 文号 in front when several documents could be meant."""
    name = (
        (f"Measure {entry.number}" if lang == "en" else f"第{entry.number}条")
        if entry.kind == "measure"
        else entry.title.get(lang)
    )
    if kb is not None and len(kb.documents) > 1:
        key = next((k for k, e in kb.entries.items() if e is entry), None)
        if key is not None:
            return f"{kb.document_of(key).number} {name}"
    return name


def _pieces(text: str) -> set[str]:
    """Two-character pieces (and English words) of a compacted text."""
    joined = text.replace(" ", "")
    return {joined[i : i + 2] for i in range(len(joined) - 1)} | set(re.findall(r"[a-z]{3,}", text))


def short_answer(entry: Entry, query: str) -> ShortAnswer | None:
    """The entry's short answer whose phrasing the question repeats, if any: similar as a whole,
    and covering most of the phrasing's own pieces — "人才基地补贴能拿吗" does not repeat
    "人才基地补贴每年都能拿吗", whose point is 每年."""
    plain = _compact(query)
    asked = _pieces(plain)
    best: tuple[float, ShortAnswer] | None = None
    for short in entry.answers:
        for phrasing in short.questions:
            compact = _compact(phrasing)
            own = _pieces(compact)
            covered = len(own & asked) / len(own) if own else 0.0
            score = max(fuzz.token_set_ratio(plain, compact), fuzz.ratio(plain, compact))
            close = score >= SHORT_ANSWER_SIMILARITY and covered >= SHORT_ANSWER_COVERAGE
            if close and (best is None or score > best[0]):
                best = (score, short)
    return None if best is None else best[1]


def _asked_benefits(entry: Entry, query: str) -> list[Benefit]:
    """The benefit a question names (开办费, 租金奖补…): the one whose label shares the most
    two-character pieces with it; all of them when none stands out."""
    plain = normalize(query).lower()

    def shared(benefit: Benefit) -> int:
        label = benefit.label.zh
        return sum(1 for i in range(len(label) - 1) if label[i : i + 2] in plain)

    scores = [shared(b) for b in entry.benefits]
    best = max(scores, default=0)
    if best == 0 or scores.count(best) > 1:
        return list(entry.benefits)
    return [entry.benefits[scores.index(best)]]


def concept_answer(entry: Entry, query: str) -> Direct | None:
    """ "是一次性的吗", "每年都有吗", "按每个仓算吗", "两项各自封顶吗": answered from the clause's own
    data (its amounts' `per` and its combined cap), for any measure."""
    if entry.kind != "measure":
        return None
    plain = normalize(query).lower()
    asked = [name for name, cues in load_asking().concepts.items() if any(cue in plain for cue in cues)]
    if not asked:
        return None
    benefits = _asked_benefits(entry, query)
    pers: list[Per] = []
    for benefit in benefits:
        amounts = [benefit.amount] if benefit.amount is not None else [t.amount for t in benefit.tiers]
        for amount in amounts:
            pers += [p for p in amount.per if p not in pers]
    concept = asked[0]
    answer: DirectAnswer | None = None
    if concept == "one_time" and {"one_time", "year"} & set(pers):
        answer = "yes" if "one_time" in pers and "year" not in pers else "no"
    elif concept == "year" and {"one_time", "year"} & set(pers):
        answer = "yes" if "year" in pers else "no"
    elif concept == "per_item" and pers:
        answer = "yes" if {"warehouse", "store", "park", "incubator", "base"} & set(pers) else "no"
    elif concept == "each_capped" and len(entry.benefits) > 1:
        answer = "no" if entry.cap is not None else "yes"
    elif concept == "fixed_figure":
        answer = "yes" if any(b.amount is not None or b.tiers for b in benefits) else "no"
    if answer is None:
        return None
    yes_zh, yes_en = ("是", "Yes") if answer == "yes" else ("不是", "No")
    if concept == "each_capped" and entry.cap is not None:
        zh = f"{yes_zh}：这几项合计最高{format_money(entry.cap, 'zh')}。"
        en = f"{yes_en}: together they are capped at {format_money(entry.cap, 'en')}."
    elif concept == "each_capped":
        zh, en = f"{yes_zh}：各项分别计算。", f"{yes_en}: each is counted on its own."
    elif concept == "fixed_figure" and answer == "no":
        zh = (
            f"没有：{entry.title.zh}，文件没有写具体金额（"
            + "；".join((b.note or b.label).zh for b in benefits)
            + "）。"
        )
        en = f"No: the text sets no figure for {entry.title.en}."
    elif concept == "fixed_figure":
        zh, en = f"有：{entry.title.zh}的金额见下。", f"Yes: {entry.title.en} has figures, below."
    else:
        zh = f"{yes_zh}：按原文，{'、'.join(b.label.zh for b in benefits)}为{format_per(pers, 'zh')}。"
        en = f"{yes_en}: per the text, {'; '.join(b.label.en for b in benefits)}: {format_per(pers, 'en')}."
    return Direct(answer, None, entry.id, {}, (), Localized(zh=zh, en=en))


def direct_answer(
    kb: KnowledgeBase,
    entry: Entry,
    facts: Mapping[str, Any],
    specs: Mapping[str, FactSpec],
    *,
    yes_no: bool,
    status: ValidityStatus,
    query: str = "",
) -> Direct | None:
    """The direct answer to a question on `entry` with the situation `facts` (see `Direct`)."""
    stated = dict(facts)
    base = _base_facts(kb, entry.id) if kb.scope_of(entry.id) is not None else []
    failed_base = [n for n in base if stated.get(n) is False]
    short = short_answer(entry, query) if query and yes_no and not failed_base else None
    if short is not None:  # the text answers this very question: its answer comes first
        return Direct(
            short.answer, None, entry.id if entry.kind == "measure" else None, stated, (), short.text
        )
    concept = concept_answer(entry, query) if query and yes_no and not failed_base else None
    if concept is not None:  # a question about how the clause pays, whatever figures it quotes
        return replace(concept, facts=stated)
    if entry.kind == "measure":
        return _measure_answer(kb, entry, stated, specs, yes_no=yes_no, failed_base=failed_base, query=query)
    if failed_base:  # "我们是分公司能申请吗": the general eligibility answers it
        why = _labels(kb, specs, failed_base, "zh"), _labels(kb, specs, failed_base, "en")
        return Direct(
            "no",
            0,
            None,
            stated,
            (),
            Localized(
                zh=f"不可以：支持范围要求{why[0]}。" + _status_hint(failed_base, "zh"),
                en=f"No: the policy requires that the applicant {why[1]}." + _status_hint(failed_base, "en"),
            ),
        )
    if entry.kind == "overlap" and yes_no:  # "能两个都拿吗": the better one only
        return Direct(
            "no",
            None,
            None,
            stated,
            (),
            Localized(zh="不能重复享受：" + entry.summary.zh, en="No double support: " + entry.summary.en),
        )
    if entry.kind == "validity" and yes_no:
        doc = kb.document_of(entry.id)
        if status.in_force:
            text = Localized(
                zh=f"可以：{doc.number}在有效期内（至 {status.effective_until.isoformat()}）。",
                en=f"Yes: {doc.number} is in force (until {status.effective_until.isoformat()}).",
            )
            return Direct("yes", None, None, stated, (), text)
        text = Localized(
            zh=f"按原文不可以：{doc.number}已于 {status.effective_until.isoformat()} 届满；是否延期或有新政策，请向衡阳市商务局确认。",
            en=f"Not under this text: {doc.number} lapsed after {status.effective_until.isoformat()}; ask the Hengyang Bureau of Commerce whether it was extended or replaced.",
        )
        return Direct("no", None, None, stated, (), text)
    if entry.kind == "scope" and yes_no and entry.audience is not None:
        kinds = [k for k in re.split(r"[、，,]", entry.audience.zh) if k]
        named = [k for k in kinds if k[:4] in normalize(query) or k[-4:] in normalize(query)]
        if named:  # "公共服务机构也在支持范围里吗": the text names who is covered
            return Direct(
                "yes",
                None,
                None,
                stated,
                (),
                Localized(
                    zh=f"在：支持范围包括{named[0]}，同样须在衡阳注册纳税、具有独立法人资质并纳入衡阳海关跨境电商统计。",
                    en=f"Yes: the scope covers {entry.audience.en}, on the same general conditions.",
                ),
            )
    if entry.kind == "scope" and yes_no:
        known = [n for n in base if stated.get(n) is True]
        if base and len(known) == len(base):
            return Direct(
                "yes",
                None,
                None,
                stated,
                (),
                Localized(
                    zh="可以：这些都符合支持范围的基本条件。", en="Yes: that meets the general eligibility."
                ),
            )
        missing = [n for n in base if n not in stated]
        need_zh, need_en = _labels(kb, specs, missing, "zh"), _labels(kb, specs, missing, "en")
        return Direct(
            "depends",
            None,
            None,
            stated,
            tuple(missing),
            Localized(zh=f"要看是否符合：{need_zh}。", en=f"It depends on whether the applicant {need_en}."),
        )
    return None


def _status_hint(failed: Sequence[str], lang: str) -> str:
    if "independent_legal_person" in failed:
        return (
            " Branch offices and sole proprietors usually are not; a wholly-owned subsidiary is."
            if lang == "en"
            else "分公司、个体户一般不具有独立法人资质（全资子公司可以）。"
        )
    return ""


def _concerned(kb: KnowledgeBase, entry: Entry, stated: Mapping[str, Any]) -> list[Entry]:
    """The measure asked about, and every other measure the stated figures make eligible
    ("出口80万美元，社保交了60万" is 第5条 and 第16条)."""
    named = set(stated)
    found = [entry]
    for other in kb.measures():
        if other.id == entry.id or kb.document_of(other.id) != kb.document_of(entry.id):
            continue
        own = other.own_facts()
        if not own & named:
            continue
        result = evaluate(kb, other, Facts.model_validate(assumed(kb, other.id, stated)))
        if result.verdict == "eligible" and result.max_amount_cny:
            found.append(other)
    return found


def _measure_answer(
    kb: KnowledgeBase,
    entry: Entry,
    stated: dict[str, Any],
    specs: Mapping[str, FactSpec],
    *,
    yes_no: bool,
    failed_base: Sequence[str],
    query: str = "",
) -> Direct | None:
    own = entry.own_facts()
    if not (own & set(stated)) and not failed_base:
        if yes_no and any(cue in normalize(query).lower() for cue in load_asking().exists):
            text = Localized(
                zh=f"有：{_heading(entry, 'zh', kb)}（{entry.title.zh}），条件和金额见下。",
                en=f"Yes: {_heading(entry, 'en', kb)} ({entry.title.en}); its conditions and amounts are below.",
            )
            return Direct("yes", None, entry.id, stated, (), text)
        if not yes_no:
            return None  # a question about the clause, with no situation: the card answers it
    results = []
    for measure in _concerned(kb, entry, stated):
        facts = Facts.model_validate(assumed(kb, measure.id, stated))
        results.append(evaluate(kb, measure, facts))
    main = results[0]
    verdict: DirectAnswer = {"eligible": "yes", "ineligible": "no", "unknown": "depends"}[main.verdict]  # type: ignore[assignment]
    if verdict == "depends":
        touched = [b for b in main.benefits if _benefit_facts(entry, b.benefit_id) & set(stated)]
        if touched and all(b.status is False for b in touched):
            verdict = "no"  # what was asked about fails; the other parts were not asked
        elif yes_no:
            probe = evaluate(
                kb, entry, Facts.model_validate(assumed(kb, entry.id, _probe(entry, main.missing, stated)))
            )
            if probe.verdict == "eligible":
                verdict = "yes"  # yes whatever the figure: the amount follows from it
    amounts = [r.max_amount_cny for r in results if r.verdict == "eligible" and r.max_amount_cny]
    total = sum(amounts) if amounts else (0 if verdict == "no" else None)
    depends = tuple(m for m in main.missing if m not in stated)
    lines_zh, lines_en = [], []
    asked = _asked_amount(entry, query, stated)
    if yes_no and asked is not None and verdict == "yes" and total is not None and total < asked:
        # "是能拿10万那档吧": a sum the clause pays, asked about, that the situation does not reach
        lines_zh.append(
            f"不能：按您说的情况，{_heading(entry, 'zh', kb)}最高 {_money(total, 'zh')}，达不到 {_money(asked, 'zh')}。"
        )
        lines_en.append(
            f"No: from what you said, {_heading(entry, 'en', kb)} gives up to {_money(total, 'en')}, not {_money(asked, 'en')}."
        )
        return Direct(
            "no",
            total,
            entry.id,
            stated,
            depends,
            Localized(zh="\n".join(lines_zh), en="\n".join(lines_en)),
            tuple(results),
        )
    head_zh, head_en = _heading(entry, "zh", kb), _heading(entry, "en", kb)
    if verdict == "no":
        why_zh = "；".join(dict.fromkeys(r.text.zh for r in main.reasons if r.met is False))
        why_en = "; ".join(dict.fromkeys(r.text.en for r in main.reasons if r.met is False))
        lines_zh.append(f"不可以：{why_zh}。" + _status_hint(failed_base, "zh"))
        lines_en.append(f"No: {why_en}." + _status_hint(failed_base, "en"))
    elif verdict == "depends":
        need_zh, need_en = _labels(kb, specs, depends, "zh"), _labels(kb, specs, depends, "en")
        lines_zh.append(f"要看：{need_zh}。")
        lines_en.append(f"It depends on: {need_en}.")
        if total:
            lines_zh.append(f"按您说的情况，目前能确定的最高 {_money(total, 'zh')}。")
            lines_en.append(f"From what you said, at least up to {_money(total, 'en')} so far.")
    else:
        if len(results) > 1 and total:
            parts_zh = "、".join(
                f"{_heading(kb.entries[r.id], 'zh', kb)}最高{_money(r.max_amount_cny, 'zh')}"
                for r in results
                if r.max_amount_cny
            )
            parts_en = ", ".join(
                f"{_heading(kb.entries[r.id], 'en', kb)} up to {_money(r.max_amount_cny, 'en')}"
                for r in results
                if r.max_amount_cny
            )
            lines_zh.append(f"可以：按您说的情况，合计最高 {_money(total, 'zh')}（{parts_zh}）。")
            lines_en.append(f"Yes: from what you said, up to {_money(total, 'en')} in all ({parts_en}).")
        elif total:
            said_zh, said_en = _figures(stated, "zh"), _figures(stated, "en")
            lines_zh.append(f"可以：按您提到的 {said_zh}，{head_zh}最高 {_money(total, 'zh')}。")
            lines_en.append(
                f"Yes: with the figures you gave ({said_en}), {head_en} gives up to {_money(total, 'en')}."
            )
        elif any(b.amount is not None or b.tiers for b in entry.benefits):
            lines_zh.append(f"可以：符合{head_zh}的条件；金额按您的实际费用计算，标准见下。")
            lines_en.append(
                f"Yes: that meets {head_en}'s conditions; the amount follows your actual costs (below)."
            )
        else:
            lines_zh.append(f"可以：符合{head_zh}的条件（文件未定具体金额）。")
            lines_en.append(f"Yes: that meets {head_en}'s conditions (the text sets no figure).")
        could_raise = [m for m in main.missing if m not in stated]
        if could_raise:
            lines_zh.append(f"另外，{_labels(kb, specs, could_raise, 'zh')}会影响金额。")
            lines_en.append(f"Also, {_labels(kb, specs, could_raise, 'en')} could change the amount.")
            depends = tuple(could_raise)
    unstated = [n for n in _base_facts(kb, entry.id) if n not in stated]
    if verdict != "no" and unstated:
        lines_zh.append(
            "（前提是符合支持范围的基本条件：在衡阳注册纳税、独立法人、纳入衡阳海关跨境电商统计。）"
        )
        lines_en.append(
            "(Provided the general eligibility holds: registered and paying tax in Hengyang, an independent "
            "legal person, in Hengyang Customs' CBEC statistics.)"
        )
    return Direct(
        verdict if yes_no or verdict == "no" or total is not None else None,
        total,
        entry.id,
        stated,
        depends,
        Localized(zh="\n".join(lines_zh), en="\n".join(lines_en)),
        tuple(results),
    )


def _asked_amount(entry: Entry, query: str, stated: Mapping[str, Any]) -> int | None:
    """A sum the clause itself pays that the question names ("能拿10万那档吗"), if any."""
    paid: set[int] = set()
    for benefit in entry.benefits:
        amounts = [benefit.amount] if benefit.amount is not None else [t.amount for t in benefit.tiers]
        paid |= {a.value for a in amounts if a is not None and a.kind == "fixed" and a.value}
        paid |= {a.cap for a in amounts if a is not None and a.cap}
    if entry.cap:
        paid.add(entry.cap)
    figures = {int(v) for v in stated.values() if isinstance(v, (int, Decimal)) and not isinstance(v, bool)}
    for quantity in find_quantities(normalize(query)):
        value = int(quantity.value)
        if quantity.unit in (Unit.CNY, Unit.NONE) and value in paid and value not in figures:
            return value
    return None


def _figures(stated: Mapping[str, Any], lang: str) -> str:
    """The figures the user gave, as they would say them ("80万美元、1500平方米")."""
    specs = load_fact_specs()
    shown: list[str] = []
    for name, value in stated.items():
        spec = specs.get(name)
        if spec is None:
            continue
        if isinstance(value, list):
            described = []
            for item in value:
                fields = dict(item)
                parts = [
                    format_quantity(fields[name], unit, lang)
                    for name, unit in (("area_m2", Unit.M2), ("annual_rent_cny", Unit.CNY))
                    if fields.get(name) is not None
                ]
                described.append(("/" if lang == "zh" else " / ").join(parts))
            if len(set(described)) == 1 and len(described) > 1:  # "两个…各": said once, counted
                shown.append(
                    f"{len(described)}×（{described[0]}）"
                    if lang == "zh"
                    else f"{len(described)} × ({described[0]})"
                )
            else:
                shown += described
        elif spec.kind.unit is not None and not isinstance(value, bool):
            shown.append(format_quantity(value, spec.kind.unit, lang))
    return ("、" if lang == "zh" else ", ").join(shown) or ("您说的情况" if lang == "zh" else "what you said")


def _reasons(kb: KnowledgeBase, direct: Direct, lang: str) -> list[str]:
    """The conditions and amounts worked out, for the figures the user gave."""
    scopes = {key for key, entry in kb.entries.items() if entry.kind == "scope"}
    lines: list[str] = []
    for result in direct.results:
        for reason in result.reasons:
            if reason.clause in scopes and reason.met is not False:
                continue  # the assumed general eligibility is said once, above
            text = reason.text.get(lang)
            if reason.met is False:
                lines.append(f" ✗ {text}")
            elif reason.met and any(mark in text for mark in ("→", "最高", "up to", "合计", "together")):
                lines.append(f" ✓ {text}")  # the amounts worked out; met conditions are in the card
    return list(dict.fromkeys(lines))


# --- the assistant -------------------------------------------------------------------------------


class Assistant:
    """Everything a door needs: ask a question, show a card, in the user's language.

    Swapping the knowledge base (staff edits) replaces the matcher whole, so a question in
    flight sees either the old or the new base.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        today: Callable[[], date] = date.today,
        extra_questions: Mapping[str, Sequence[str]] | None = None,
        rulings: Sequence[Ruling] = (),
    ) -> None:
        self._today = today
        self._specs = load_fact_specs()
        self._state = (kb, Matcher(kb, extra_questions, rulings=rulings))

    @property
    def kb(self) -> KnowledgeBase:
        return self._state[0]

    @property
    def matcher(self) -> Matcher:
        return self._state[1]

    def swap(
        self,
        kb: KnowledgeBase,
        extra_questions: Mapping[str, Sequence[str]] | None = None,
        rulings: Sequence[Ruling] = (),
    ) -> None:
        """Build the new matcher first, then replace the pair in one assignment."""
        self._state = (kb, Matcher(kb, extra_questions, rulings=rulings))

    def today(self) -> date:
        return self._today()

    def validity(self, entry_id: str | None = None) -> ValidityStatus:
        """Today's validity of the entry's document, or of the one that governs today."""
        kb = self.kb
        doc = kb.document_of(entry_id) if entry_id else governing(kb.documents, self._today())
        return validity_on(doc, self._today())

    def card(self, entry_id: str, lang: str = "zh") -> str:
        kb = self.kb
        entry = kb.entries[entry_id]
        return render_card(kb, entry, lang, validity_on(kb.document_of(entry_id), self._today()))

    def replay(self, messages: Sequence[str], lang: str = "zh") -> Context:
        """The context a chat's earlier messages (oldest first) establish."""
        context = Context()
        for message in messages:
            context = self.ask(message, lang, context=context).context
        return context

    def ask(self, query: str, lang: str = "zh", *, context: Context | Sequence[str] | None = None) -> Answer:
        kb, matcher = self._state
        if context is None:
            context = Context()
        elif not isinstance(context, Context):
            context = self.replay(context, lang)
        if is_thanks(query):
            decision = Decision(query, "decline", ())
            return Answer(
                decision,
                THANKS.get("en" if is_english(query) else lang),
                (),
                None,
                lang,
                context,
                thanks=True,
            )
        decision = matcher.decide(query, self._today())  # what is in force on the day asked
        top = decision.matches[0] if decision.matches else None
        prefer = self._prefer(context.entry, top.id if top else None)
        situation = self._read(query, prefer)
        known = merge_facts(context.known, situation.facts)
        entry_id, facts = self._topic(decision, context, situation, query)
        if entry_id is None:
            return self._unanswered(
                decision, lang, replace(context, known=known, pending=None), situation, query
            )
        entry = kb.entries[entry_id]
        if decision.outcome != "answer" or decision.matches[0].id != entry_id:
            score = decision.matches[0].score if decision.matches else 0.0
            decision = Decision(
                query,
                "answer",
                (Match(entry_id, score), *[m for m in decision.matches if m.id != entry_id][:2]),
            )
        new_context = Context(entry_id, facts, known, None)
        return self._answer(decision, entry, facts, lang, new_context, query)

    def answer_with(self, entry_id: str, context: Context, lang: str = "zh") -> Answer:
        """A "did you mean" choice: the waiting question answered with the chosen entry and the
        figures it carried."""
        query = context.pending or ""
        facts = merge_facts(context.facts, self._read(query, self._prefer(entry_id, None)).facts)
        decision = Decision(query, "answer", (Match(entry_id, 0.0),))
        entry = self.kb.entries[entry_id]
        return self._answer(
            decision, entry, facts, lang, Context(entry_id, facts, context.known, None), query
        )

    def _read(self, query: str, prefer: Sequence[str], only: Sequence[str] | None = None) -> Situation:
        """The situation the message states, as typed and as the matcher reads it (homophone
        typos corrected: 海外苍 → 海外仓); where the two differ, the words as typed win."""
        typed = read_situation(query, self._specs, prefer=prefer, only=only)
        reading = self.matcher.reading(query)
        if reading == normalize(query).lower():
            return typed  # nothing corrected: one reading is enough
        corrected = read_situation(reading, self._specs, prefer=prefer, only=only)
        return corrected.merged(typed)

    def _prefer(self, *entry_ids: str | None) -> tuple[str, ...]:
        names: list[str] = []
        for entry_id in entry_ids:
            entry = self.kb.get(entry_id) if entry_id else None
            if entry is not None and entry.kind == "measure":
                names += sorted(entry.own_facts())
        return tuple(dict.fromkeys(names))

    def _topic(
        self, decision: Decision, context: Context, situation: Situation, query: str
    ) -> tuple[str | None, dict[str, Any]]:
        """The entry the message is about and the facts that go with it: a new topic starts
        afresh, a follow-up carries the context's entry and facts (what it says overrides them)."""
        kb = self.kb
        previous = context.entry if context.entry in kb.entries else None
        top = decision.matches[0] if decision.matches else None
        referral = decision.referral
        anchor = previous or (top.id if top and top.id in kb.entries else next(iter(kb.entries)))
        base = _base_facts(kb, anchor)
        found = kb.scope_of(anchor)  # the general eligibility of the document at hand
        scope = found.id if found is not None else None
        failed = [n for n in base if situation.facts.get(n) is False]
        if failed and referral is not None and referral.id == "other_places":
            # "我们在长沙注册的": 不能，须在衡阳注册 — the scope answers, not another city's policy
            keep = previous if previous and kb.entries[previous].kind == "measure" else scope
            return keep, merge_facts(context.facts if previous else {}, situation.facts)
        if failed and decision.outcome != "answer" and referral is None and scope is not None:
            return scope, dict(situation.facts)  # "走外地海关报关的能申请吗": the scope says no
        if referral is not None:
            return None, {}
        if previous is not None:
            carried = self._followup(decision, context, previous, query, base)
            if carried is not None:
                return previous, carried
        if decision.outcome == "answer" and top is not None:
            # a new topic starts afresh, but what the chat said about the enterprise itself
            # (分公司, 注册在长沙) still holds
            carried = {n: v for n, v in context.known.items() if n in base and n not in situation.facts}
            return top.id, {**carried, **situation.facts}
        if decision.outcome == "clarify" and situation:
            # "出口80万美元，社保交了60万": the figures say which clauses are meant; the first leads
            stated = set(situation.facts)
            chosen = next((c for c in decision.choices if kb.entries[c].own_facts() & stated), None)
            if chosen is not None:
                return chosen, dict(situation.facts)
        return None, {}

    def _followup(
        self, decision: Decision, context: Context, previous: str, query: str, base: Sequence[str]
    ) -> dict[str, Any] | None:
        """The facts of a follow-up on `previous` ("那如果是1500平米呢", "花了7万"), or None when the
        message opens a topic of its own."""
        top = decision.matches[0] if decision.matches else None
        only = [*self._prefer(previous), *base]
        focused = self._read(query, self._prefer(previous), only)
        if top is not None and top.id == previous:
            # the same clause again: its own facts first ("投入了15万" is the base's investment), then
            # anything else the message says (a figure read both ways counts once, as the clause's)
            taken = {str(v) for v in focused.facts.values()}
            rest = {
                k: v
                for k, v in self._read(query, self._prefer(previous)).facts.items()
                if str(v) not in taken
            }
            return merge_facts(context.facts, {**rest, **focused.facts})
        if (
            decision.outcome != "decline"
            and top is not None
            and top.score >= STRONG
            and not is_followup(query)
        ):
            return None  # names its own topic (an answer, or a choice between other clauses)
        figures = [q for q in find_quantities(normalize(query)) if q.unit != Unit.PERCENT]
        carried_on = is_followup(query) and decision.outcome != "answer"  # "那第二个呢"
        if not focused and (figures or not carried_on):
            return None  # nothing about the clause under discussion: a question of its own
        return merge_facts(context.facts, focused.facts)

    def _unanswered(
        self, decision: Decision, lang: str, context: Context, situation: Situation, query: str
    ) -> Answer:
        kb = self.kb
        if decision.outcome == "clarify":
            ids = decision.choices
            lines = [CLARIFY.get(lang)] + [f" • {kb.entries[i].title.get(lang)}" for i in ids]
            pending = replace(context, facts=situation.facts, pending=query)
            return Answer(decision, "\n".join(lines), ids, None, lang, pending)
        parts = [_decline(kb).get(lang)]
        if decision.referral is not None:
            parts = [decision.referral.message.get(lang)]
        return Answer(decision, "\n".join(parts), (), None, lang, replace(context, entry=None, facts={}))

    def _answer(
        self, decision: Decision, entry: Entry, facts: dict[str, Any], lang: str, context: Context, query: str
    ) -> Answer:
        kb = self.kb
        status = validity_on(kb.document_of(entry.id), self._today())
        direct = direct_answer(
            kb, entry, facts, self._specs, yes_no=asks_yes_no(query), status=status, query=query
        )
        card = render_card(kb, entry, lang, status)
        if direct is None:
            return Answer(decision, card, (entry.id,), None, lang, context)
        lead = direct.text.get(lang)
        reasons = _reasons(kb, direct, lang)
        text = lead + ("\n" + "\n".join(reasons) if reasons else "") + "\n\n" + card
        return Answer(decision, text, (entry.id,), direct, lang, context)
