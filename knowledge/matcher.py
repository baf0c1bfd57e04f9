"""Which entry does a question ask about? Answer, ask back, or decline honestly.

Evidence, from strongest to weakest:
0. homophone typos are read as the base's word of the same pinyin (海外苍 → 海外仓);
1. decisive phrases: an entry's keywords and synonyms found in the question, weighted by
   how few entries use them; a phrase inside a longer matched phrase counts little ("出口"
   inside "出口退税"), so near-misses lose to the out-of-scope topic that names them;
2. BM25 over jieba words and over character bigrams of every field (the bigrams catch
   words jieba splits differently, and typos that keep one character of two);
3. rapidfuzz similarity to the entry's sample questions (tokens joined with spaces);
4. English: phrase hits and BM25 over the English fields.

Out-of-scope topics (data/out_of_scope.yaml) compete as pseudo-entries; when one wins, the
question is declined with its referral. A `decisive` topic (another city's policy) does not
compete: naming it declines, unless one of its `unless` words is there too or the mention is
mere `context` ("去广州参加培训").
"""

from __future__ import annotations

import copy
import heapq
import logging
import math
import os
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import jieba
from rapidfuzz import fuzz

# Homophones are matched character by character, on both sides alike: pypinyin's phrase table
# (tens of MB, most of its import time) is not needed, nor its defensive copy of its tables.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
from pypinyin import lazy_pinyin

from knowledge.documents import DocumentNames
from knowledge.loader import PACKAGE_DIR, KnowledgeBase, read_yaml, subject
from knowledge.models import Localized
from knowledge.text import normalize, strip_punct
from knowledge.validity import validity_on

jieba.setLogLevel(logging.WARNING)

Outcome = Literal["answer", "clarify", "decline"]
TOPICS_FILE = PACKAGE_DIR / "data" / "out_of_scope.yaml"
USER_DICT = PACKAGE_DIR / "data" / "userdict.txt"
GLOSSARY_FILE = PACKAGE_DIR / "data" / "glossary.yaml"
STOPWORDS_FILE = PACKAGE_DIR / "data" / "stopwords.yaml"


@dataclass(frozen=True)
class Match:
    id: str
    score: float


@dataclass(frozen=True)
class Referral:
    """Why a question was declined, and where to ask instead (office None: nowhere obvious)."""

    id: str
    kind: Literal["out_of_scope", "greeting"]
    message: Localized
    office: str | None = None
    office_en: str | None = None

    def office_in(self, lang: str) -> str | None:
        """Where to ask instead, in the reply's language."""
        return (self.office_en or self.office) if lang == "en" else self.office


@dataclass(frozen=True)
class Ruling:
    """A staff decision on a phrasing: answer it (and close paraphrases) with an entry, or
    decline it with a referral. Nothing is learned without one."""

    phrasing: str
    entry_id: str | None = None
    referral: Referral | None = None


def _ruling_text(text: str) -> str:
    """A phrasing compared as text: (already normalised) without punctuation or spaces."""
    return re.sub(r"\s+", "", strip_punct(text))


@dataclass(frozen=True)
class Decision:
    query: str
    outcome: Outcome
    matches: tuple[Match, ...]  # best first, up to three
    referral: Referral | None = None
    choices: tuple[str, ...] = ()  # for clarify: the entries close enough to ask about


# --- text to tokens -----------------------------------------------------------------------


def _load_stopwords(path: Path = STOPWORDS_FILE) -> tuple[frozenset[str], frozenset[str]]:
    raw = read_yaml(path)
    return frozenset(str(w) for w in raw["zh"]), frozenset(str(w) for w in raw["en"])


CJK = re.compile(r"[\u4e00-\u9fff]+")
_LATIN = re.compile(r"[a-z][a-z0-9+'-]*|\d{4}")
_NUMBER = re.compile(r"\d[\d,.]*\s*(?:万|亿|千|百|w|k)?")
STOP_ZH, _STOP_EN = _load_stopwords()


def _strip_numbers(text: str) -> str:
    return _NUMBER.sub(" ", text)


def bigrams(text: str) -> list[str]:
    grams: list[str] = []
    for run in CJK.findall(text):
        grams += [run[i : i + 2] for i in range(len(run) - 1)] or [run]
    return grams


def stem(word: str) -> str:
    """A light English stemmer: enough for rent/renting/rented, warehouse/warehouses."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def english_tokens(text: str) -> list[str]:
    return [stem(w) for w in _LATIN.findall(text.lower()) if w not in _STOP_EN]


def english_phrase(text: str) -> str:
    """A phrase's comparable form: lowercase words, stemmed."""
    return " ".join(stem(w) for w in re.findall(r"[a-z0-9][a-z0-9'-]*", text.lower()))


def longest_matches(
    words: Sequence[str], table: Mapping[str, str], joiner: str, *, span: int = 4, min_length: int = 1
) -> list[str]:
    """Left to right, the longest run of up to `span` words (joined with `joiner`) that `table`
    knows, and what it maps to; a word no run starts with is passed over."""
    found: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(span, len(words) - i), 0, -1):
            key = joiner.join(words[i : i + n])
            if len(key) >= min_length and key in table:
                found.append(table[key])
                i += n
                break
        else:
            i += 1
    return found


def pinyin_key(text: str) -> tuple[str, ...]:
    return tuple(lazy_pinyin(text))


# --- BM25 -----------------------------------------------------------------------------------


def as_if_alone(numbers: Iterable[int], groups: Sequence[str | None] | None) -> int:
    """How many of the docs `numbers` count towards a term's rarity: with `groups` (each doc's
    policy document; None for out-of-scope topics, which stand beside every document), the most
    any one document has, topics included. A successor repeating the shipped document's words
    must not halve their weight: each document's entries score as if it were alone."""
    if groups is None:
        return sum(1 for _ in numbers)
    shared = 0
    per: Counter[str] = Counter()
    for number in numbers:
        group = groups[number]
        if group is None:
            shared += 1
        else:
            per[group] += 1
    return shared + max(per.values(), default=0)


@dataclass
class BM25:
    """Okapi BM25 over weighted term counts. Each posting stores its document's saturated term
    weight, so a query only sums idf × weight over the postings of its terms."""

    k1: float = 1.2
    b: float = 0.6
    postings: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, docs: Sequence[Mapping[str, float]], groups: Sequence[str | None] | None = None) -> BM25:
        """`groups`: see `as_if_alone`."""
        index = cls()
        lengths = [sum(doc.values()) for doc in docs]
        average = (sum(lengths) / len(lengths) if lengths else 0.0) or 1.0
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for number, doc in enumerate(docs):
            norm = index.k1 * (1 - index.b + index.b * lengths[number] / average)
            for term, tf in doc.items():
                postings[term].append((number, tf * (index.k1 + 1) / (tf + norm)))
        index.postings = dict(postings)
        n = as_if_alone(range(len(docs)), groups)
        index.idf = {
            t: math.log(1 + (n - (df := as_if_alone((d for d, _ in p), groups)) + 0.5) / (df + 0.5))
            for t, p in postings.items()
        }
        return index

    def scores(self, terms: Iterable[str]) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for term in set(terms):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for doc, weight in self.postings[term]:
                out[doc] += idf * weight
        return out


# --- the index ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Doc:
    id: str
    topic: Referral | None  # set for out-of-scope pseudo-entries
    phrases: tuple[str, ...]
    phrases_en: tuple[str, ...]
    questions: tuple[str, ...]
    hints: frozenset[str] = frozenset()  # phrases that point here without deciding


@dataclass(frozen=True)
class _Topic:
    referral: Referral
    keywords: tuple[str, ...]
    keywords_en: tuple[str, ...]
    decisive: bool = False  # named (and none of `unless`): decline outright
    unless: tuple[str, ...] = ()
    context: tuple[str, ...] = ()  # words before a mention that make it mere context ("去广州")

    def names(self, text: str) -> bool:
        if any(u in text for u in self.unless):
            return False
        for keyword in self.keywords_en:  # in English, naming the place is enough
            if any(_whole_word(text, m.start(), m.end()) for m in re.finditer(re.escape(keyword), text)):
                return True
        for keyword in self.keywords:
            for found in re.finditer(re.escape(keyword), text):
                before = text[max(0, found.start() - 2) : found.start()]
                if not any(before.endswith(c) for c in self.context):
                    return True
        return False


def load_glossary(path: Path = GLOSSARY_FILE) -> dict[str, str]:
    raw = read_yaml(path) if path.exists() else {}
    return {english_phrase(str(en)): normalize(str(zh)) for en, zh in (raw or {}).get("terms", {}).items()}


def _whole_word(text: str, start: int, end: int) -> bool:
    return (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum())


def load_topics(path: Path = TOPICS_FILE) -> list[_Topic]:
    raw = read_yaml(path)
    topics = []
    for item in raw["topics"]:
        referral = Referral(
            item["id"], item["kind"], Localized(**item["message"]), item.get("office"), item.get("office_en")
        )
        topics.append(
            _Topic(
                referral,
                tuple(normalize(str(k)) for k in item["keywords"]),
                tuple(normalize(str(k)) for k in item.get("keywords_en", [])),
                bool(item.get("decisive", False)),
                tuple(normalize(str(k)) for k in item.get("unless", [])),
                tuple(normalize(str(k)) for k in item.get("context", [])),
            )
        )
    return topics


@lru_cache(maxsize=1)
def _base_tokenizer() -> jieba.Tokenizer:
    """jieba with its dictionary and ours, loaded once per process (about a second)."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if USER_DICT.exists():
        with USER_DICT.open("rb") as words:  # given a path, jieba leaves the file open
            tokenizer.load_userdict(words)
    return tokenizer


def _tokenizer() -> jieba.Tokenizer:
    """A tokenizer of this matcher's own: the base one with copies of the tables `add_word`
    changes, so the phrases of one knowledge base (and staff edits) never leak into another."""
    base = _base_tokenizer()
    own = copy.copy(base)
    own.FREQ = dict(base.FREQ)
    own.user_word_tag_tab = dict(base.user_word_tag_tab)
    own.lock = threading.RLock()
    return own


@dataclass(frozen=True)
class Weights:
    """How the evidence adds up, and where answer / clarify / decline part (tuned on the dev sets)."""

    phrase: float = 1.0
    words: float = 0.35
    grams: float = 0.25
    fuzzy: float = 0.6
    english: float = 0.8
    nested_phrase: float = 0.25  # a phrase inside a longer matched phrase of another entry
    hint: float = 0.4  # a hint (a platform's name) points to an entry without deciding it
    topic_phrase: float = 2.5  # an out-of-scope concept named outright is what the question is about
    decline_below: float = 3.0  # absolute evidence under which nothing is answered
    ruling_similarity: float = 85.0  # a staff ruling covers phrasings this close (rapidfuzz token_set_ratio)
    ruling_text: float = 80.0  # …and this close as text: a few words of it ("移民", "第6条") are not it
    clarify_ratio: float = 0.7  # runner-up within this share of the best: ask back
    # An entry of a document not in force on the day asked gives way to an in-force entry on the
    # same topic scoring at least `lapsed_rival` of it: it drops to `lapsed` of the lower score,
    # under the clarify ratio, so the lapsed one neither wins nor makes the bot ask back.
    lapsed_rival: float = 0.6
    lapsed: float = 0.6


class Matcher:
    KEEP = 40  # candidates kept after scoring: the decision looks at the top few

    def __init__(
        self,
        kb: KnowledgeBase,
        extra_questions: Mapping[str, Sequence[str]] | None = None,
        *,
        rulings: Sequence[Ruling] = (),
        topics: Sequence[_Topic] | None = None,
        weights: Weights | None = None,
    ) -> None:
        self.kb = kb
        self.weights = weights or Weights()
        self._tokenizer = _tokenizer()
        self._glossary = load_glossary()
        extra: dict[str, list[str]] = {k: list(v) for k, v in (extra_questions or {}).items()}
        for ruling in rulings:  # a phrasing staff attached to an entry is one of its questions
            entry = kb.get(ruling.entry_id) if ruling.entry_id is not None else None
            if entry is not None and ruling.phrasing not in entry.questions:  # counted once
                extra.setdefault(entry.id, []).append(ruling.phrasing)
        docs: list[_Doc] = []
        self._topics = list(load_topics() if topics is None else topics)
        for entry in kb:
            hints = {normalize(h) for h in entry.hints}
            hints |= {english_phrase(h) for h in hints if not CJK.search(h)}
            phrases = {normalize(p) for p in (*entry.keywords, *entry.synonyms, entry.title.zh)}
            phrases |= {h for h in hints if CJK.search(h)}
            phrases_en = {english_phrase(normalize(p)) for p in (*entry.keywords_en, entry.title.en)}
            phrases_en |= {english_phrase(h) for h in hints if not CJK.search(h)}
            asked = [q for short in entry.answers for q in short.questions]
            questions = tuple(normalize(q) for q in (*entry.questions, *asked, *extra.get(entry.id, ())))
            docs.append(
                _Doc(
                    entry.id,
                    None,
                    tuple(sorted(p for p in phrases if p)),
                    tuple(sorted(phrases_en)),
                    questions,
                    frozenset(hints),
                )
            )
        for topic in (t for t in self._topics if not t.decisive):
            docs.append(
                _Doc(
                    topic.referral.id,
                    topic.referral,
                    topic.keywords,
                    tuple(english_phrase(k) for k in topic.keywords_en),
                    (),
                )
            )
        self._docs = docs
        self._names = DocumentNames(kb.documents)
        self._doc_of = [kb.document_of(d.id) if d.topic is None else None for d in docs]
        self._subjects = [subject(kb.entries[d.id]) if d.topic is None else frozenset() for d in docs]
        # one document: plain counts (as before documents could be several)
        self._groups = [doc.id if doc else None for doc in self._doc_of] if self._names.several else None
        for doc in docs:
            for phrase in doc.phrases:
                if CJK.search(phrase):
                    self._tokenizer.add_word(phrase, freq=2000)
        fields = self._fields(kb)  # normalised once for both indexes
        self._build_text_indexes(kb, fields)
        self._build_phrase_tables()
        self._build_homophones(kb, fields)
        self._question_tokens = [[" ".join(self.words(q)) for q in doc.questions] for doc in docs]
        self._rulings = [
            (r, " ".join(self.words(phrasing)), _ruling_text(phrasing))
            for r, phrasing in ((r, normalize(r.phrasing).lower()) for r in rulings)
            if r.entry_id in kb.entries or r.referral
        ]

    # building --------------------------------------------------------------------------

    def _fields(self, kb: KnowledgeBase) -> list[list[tuple[str, float]]]:
        fields: list[list[tuple[str, float]]] = []
        for doc in self._docs:
            entry = kb.get(doc.id) if doc.topic is None else None
            parts: list[tuple[str, float]] = [(" ".join(doc.phrases), 3.0)]
            if entry is not None:
                parts += [
                    (normalize(entry.title.zh), 3.0),
                    (" ".join(doc.questions), 1.0),
                    (normalize(entry.summary.zh), 1.0),
                    (normalize(entry.source), 0.5),
                ]
            fields.append(parts)
        return fields

    def _build_text_indexes(self, kb: KnowledgeBase, fields: list[list[tuple[str, float]]]) -> None:
        word_docs: list[dict[str, float]] = []
        gram_docs: list[dict[str, float]] = []
        english_docs: list[dict[str, float]] = []
        for doc, parts in zip(self._docs, fields, strict=True):
            words: defaultdict[str, float] = defaultdict(float)
            grams: defaultdict[str, float] = defaultdict(float)
            for text, weight in parts:
                for token in self.words(text):
                    words[token] += weight
                for gram in bigrams(_strip_numbers(text)):
                    grams[gram] += weight
            english: defaultdict[str, float] = defaultdict(float)
            entry = kb.get(doc.id) if doc.topic is None else None
            en_parts = [(" ".join(doc.phrases_en), 3.0)]
            if entry is not None:
                en_parts += [(entry.title.en, 2.0), (entry.summary.en, 1.0)]
            for text, weight in en_parts:
                for token in english_tokens(text):
                    english[token] += weight
            word_docs.append(words)
            gram_docs.append(grams)
            english_docs.append(english)
        self._words = BM25.build(word_docs, self._groups)
        self._grams = BM25.build(gram_docs, self._groups)
        self._english = BM25.build(english_docs, self._groups)

    def _build_phrase_tables(self) -> None:
        owners: dict[str, set[int]] = defaultdict(set)
        owners_en: dict[str, set[int]] = defaultdict(set)
        for number, doc in enumerate(self._docs):
            for phrase in doc.phrases:
                owners[phrase].add(number)
            for phrase in doc.phrases_en:
                owners_en[phrase].add(number)
        groups = self._groups
        n = as_if_alone(range(len(self._docs)), groups)
        self._phrase_owners = dict(owners)
        self._phrase_owners_en = dict(owners_en)
        self._phrase_weight = {p: self._weight(p, as_if_alone(o, groups), n) for p, o in owners.items()}
        self._phrase_weight_en = {p: self._weight(p, as_if_alone(o, groups), n) for p, o in owners_en.items()}
        self._longest = max((len(p) for p in owners), default=1)

    def _factor(self, doc: int, phrase: str) -> float:
        """Out-of-scope concepts weigh more, mere hints less, than an entry's own keywords."""
        if self._docs[doc].topic is not None:
            return self.weights.topic_phrase
        return self.weights.hint if phrase in self._docs[doc].hints else 1.0

    @staticmethod
    def _weight(phrase: str, owners: int, n: int) -> float:
        # Rare and long phrases decide; a phrase many entries share hardly does.
        length = min(len(phrase), 6) if CJK.search(phrase) else min(len(phrase.split()) * 2 + 1, 6)
        return math.log(1 + n / owners) * (0.5 + length / 4)

    # tokens -------------------------------------------------------------------------------

    def words(self, text: str) -> list[str]:
        text = _strip_numbers(text)
        tokens = []
        for token in self._tokenizer.lcut_for_search(text):
            token = token.strip()
            if not token or token in STOP_ZH or (not CJK.search(token) and not token.isalnum()):
                continue
            tokens.append(token)
        return tokens

    # scoring ------------------------------------------------------------------------------

    def _phrase_hits(self, text: str) -> dict[int, float]:
        """Decisive phrases found in the question; nested ones count little."""
        spans: list[tuple[int, int, str]] = []
        for start in range(len(text)):
            for end in range(start + 1, min(len(text), start + self._longest) + 1):
                if text[start:end] in self._phrase_owners:
                    spans.append((start, end, text[start:end]))
        scores: dict[int, float] = defaultdict(float)
        for start, end, phrase in spans:
            owners = self._phrase_owners[phrase]
            inside = any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
            for doc in owners:
                nested = inside and not any(
                    doc in self._phrase_owners[p]
                    for s, e, p in spans
                    if s <= start and end <= e and (e - s) > (end - start)
                )
                weight = self._phrase_weight[phrase] * (self.weights.nested_phrase if nested else 1.0)
                weight *= self._factor(doc, phrase)
                scores[doc] += weight
        return scores

    def _build_homophones(self, kb: KnowledgeBase, fields: list[list[tuple[str, float]]]) -> None:
        """Every word of the base by its pinyin, so a typed homophone can be read as the word."""
        counts: Counter[str] = Counter()
        for doc, parts in zip(self._docs, fields, strict=True):
            counts.update(p for p in doc.phrases if CJK.fullmatch(p))
            for text, _ in parts:
                counts.update(t for t in self._tokenizer.lcut(text) if 2 <= len(t) <= 8 and CJK.fullmatch(t))
        by_pinyin: dict[tuple[str, ...], str] = {}
        for word, _ in counts.most_common():
            by_pinyin.setdefault(pinyin_key(word), word)
        self._vocabulary = frozenset(counts)
        self._by_pinyin = by_pinyin
        self._longest_word = max((len(w) for w in counts), default=1)
        # Pinyin typed in Latin letters ("haiwaicang", "she bao butie"): joined syllables of a
        # word of the base, unless the letters are an English word the base itself uses.
        english = {w for doc in self._docs for p in doc.phrases_en for w in p.split()}
        english |= {w for e in kb for w in english_tokens(f"{e.title.en} {e.summary.en}")}
        self._by_spelling = {"".join(k): w for k, w in by_pinyin.items() if "".join(k) not in english}

    def _glossed(self, text: str) -> str:
        """The base's Chinese words for the English ones, appended: an English question gets the
        Chinese side's evidence too."""
        found = longest_matches(english_phrase(text).split(), self._glossary, " ")
        return f"{text} {' '.join(found)}" if found else text

    def _spelled(self, text: str) -> str:
        """The base's words for pinyin spelled in Latin letters, appended to the text."""
        found = longest_matches(re.findall(r"[a-z]+", text), self._by_spelling, "", min_length=4)
        return f"{text} {' '.join(found)}" if found else text

    def correct(self, text: str) -> str:
        """Replace homophone typos of the base's words (海外苍 → 海外仓, 奖历 → 奖励, 社宝 → 社保)."""
        out: list[str] = []
        for piece in re.split(r"([\u4e00-\u9fff]+)", text):
            if not piece or not CJK.fullmatch(piece):
                out.append(piece)
                continue
            syllables = lazy_pinyin(piece)
            i = 0
            while i < len(piece):
                longest = min(self._longest_word, len(piece) - i)
                exact = next((n for n in range(longest, 1, -1) if piece[i : i + n] in self._vocabulary), 0)
                sound = next(
                    (
                        n
                        for n in range(longest, exact, -1)
                        if n >= 2 and tuple(syllables[i : i + n]) in self._by_pinyin
                    ),
                    0,
                )
                if sound:
                    out.append(self._by_pinyin[tuple(syllables[i : i + sound])])
                    i += sound
                elif exact:
                    out.append(piece[i : i + exact])
                    i += exact
                else:
                    out.append(piece[i])
                    i += 1
        return "".join(out)

    def reading(self, query: str) -> str:
        """The question as the matcher reads it: normalised, homophone typos corrected (海外苍 →
        海外仓) and pinyin spelled in Latin letters read as the base's words."""
        return self._spelled(self.correct(normalize(query).lower()))

    def _english_hits(self, text: str) -> dict[int, float]:
        """English phrases (1 to 4 words, stemmed) found in the question."""
        words = english_phrase(text).split()
        scores: dict[int, float] = defaultdict(float)
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + 4) + 1):
                phrase = " ".join(words[start:end])
                for doc in self._phrase_owners_en.get(phrase, ()):
                    scores[doc] += self._phrase_weight_en[phrase] * self._factor(doc, phrase)
        return scores

    def scores(self, text: str) -> list[tuple[int, float]]:
        """(doc number, evidence) for every doc with any, best first; `text` normalised and
        lower-cased (`decide` does it once for the whole decision)."""
        text = self._glossed(self._spelled(self.correct(text)))
        w = self.weights
        phrase = self._phrase_hits(text)
        words = self.words(text)
        word_scores = self._words.scores(words)
        gram_scores = self._grams.scores(bigrams(_strip_numbers(text)))
        english = self._english.scores(english_tokens(text))
        english_phrase = self._english_hits(text)
        total: dict[int, float] = defaultdict(float)
        for doc, value in phrase.items():
            total[doc] += w.phrase * value
        for doc, value in word_scores.items():
            total[doc] += w.words * value
        for doc, value in gram_scores.items():
            total[doc] += w.grams * value / 2
        for doc, value in english.items():
            total[doc] += w.english * 0.5 * value
        for doc, value in english_phrase.items():
            total[doc] += w.english * value
        if words:
            joined = " ".join(words)
            candidates = heapq.nlargest(12, total, key=total.__getitem__)
            for doc in candidates:
                questions = self._question_tokens[doc]
                if questions:
                    best = max(fuzz.token_set_ratio(joined, q) for q in questions)
                    total[doc] += w.fuzzy * max(0.0, best - 50) / 25
        return heapq.nlargest(self.KEEP, total.items(), key=lambda item: item[1])

    def _ruling(self, query: str) -> Ruling | None:
        """The staff ruling on this (normalised) phrasing or a close paraphrase of it, if any."""
        if not self._rulings:
            return None
        words = " ".join(self.words(query))
        if not words:
            return None
        text = _ruling_text(query)
        best: tuple[float, Ruling] | None = None
        for ruling, ruled, ruled_text in self._rulings:
            score = fuzz.token_set_ratio(words, ruled) if ruled else 0.0
            if (
                score < self.weights.ruling_similarity
                or fuzz.ratio(text, ruled_text) < self.weights.ruling_text
            ):
                continue
            if best is None or score > best[0]:
                best = (score, ruling)
        return None if best is None else best[1]

    def decide(self, query: str, on: date | None = None) -> Decision:
        """`on`: the day asked about (default today), for which documents are in force."""
        text = normalize(query).lower()  # once, for every kind of evidence below
        named, unnamed = self._names.find(text)
        ranked = self.scores(unnamed)
        ruling = self._ruling(text)
        if ruling is not None and ruling.referral is not None:
            return Decision(query, "decline", tuple(self._matches(ranked[:3])), ruling.referral)
        if ruling is not None and ruling.entry_id is not None:
            first = Match(ruling.entry_id, round(max((s for _, s in ranked[:1]), default=1.0), 4))
            rest = [m for m in self._matches(ranked[:4]) if m.id != ruling.entry_id]
            return Decision(query, "answer", (first, *rest[:2]))
        w = self.weights
        decisive = next((t for t in self._topics if t.decisive and t.names(text)), None)
        if decisive is not None:
            return Decision(query, "decline", tuple(self._matches(ranked[:3])), decisive.referral)
        # A topic whose `unless` words appear ("衡阳" beside "长沙") is not what is asked.
        excused = {t.referral.id for t in self._topics if any(u in text for u in t.unless)}
        ranked = [(d, s) for d, s in ranked if self._docs[d].id not in excused or self._docs[d].topic is None]
        ranked = self._by_document(ranked, named, on or date.today())
        if not ranked or ranked[0][1] < w.decline_below:
            return Decision(query, "decline", tuple(self._matches(ranked[:3])))
        best_doc, best = ranked[0]
        top = self._docs[best_doc]
        if top.topic is not None:
            return Decision(query, "decline", tuple(self._matches(ranked[:3])), top.topic)
        entries = [(d, s) for d, s in ranked if self._docs[d].topic is None]
        matches = tuple(self._matches(entries[:3]))
        close = [(d, s) for d, s in entries[1:3] if s >= best * w.clarify_ratio]
        if close:
            choices = tuple(self._docs[d].id for d, _ in [entries[0], *close])
            return Decision(query, "clarify", matches, choices=choices)
        return Decision(query, "answer", matches)

    def _by_document(
        self, ranked: list[tuple[int, float]], named: frozenset[str], on: date
    ) -> list[tuple[int, float]]:
        """A question naming documents is answered from them alone. Otherwise an entry of a
        document not in force on `on` gives way to an in-force entry on the same topic (see
        `Weights.lapsed`); alone on its topic it keeps its score, and its card says it lapsed."""
        if named:
            return [(d, s) for d, s in ranked if (doc := self._doc_of[d]) is None or doc.id in named]
        if not self._names.several:
            return ranked
        in_force = {doc.id: validity_on(doc, on).in_force for doc in self.kb.documents}
        if len(set(in_force.values())) < 2:
            return ranked
        current = [(d, s) for d, s in ranked if (doc := self._doc_of[d]) is not None and in_force[doc.id]]
        w = self.weights
        out: list[tuple[int, float]] = []
        for number, score in ranked:
            doc = self._doc_of[number]
            if doc is None or in_force[doc.id]:
                out.append((number, score))
                continue
            rival = max(
                (
                    r
                    for c, r in current
                    if r >= score * w.lapsed_rival and self._subjects[c] & self._subjects[number]
                ),
                default=None,
            )
            out.append((number, score if rival is None else min(score, rival) * w.lapsed))
        out.sort(key=lambda item: item[1], reverse=True)
        return out

    def _matches(self, ranked: Iterable[tuple[int, float]]) -> list[Match]:
        return [Match(self._docs[d].id, round(s, 4)) for d, s in ranked if self._docs[d].topic is None]
