"""Words a user may type instead of pressing an interview button (matched after normalising), and
the cues that a message is a question rather than an answer."""

from __future__ import annotations

import re
from typing import Final

from knowledge.text import normalize

SKIP: Final = frozenset(
    {
        "不清楚",
        "不知道",
        "不确定",
        "跳过",
        "不清楚/跳过",
        "skip",
        "unsure",
        "not sure",
        "don't know",
        "dont know",
        "?",
        "？",
    }
)
BACK: Final = frozenset({"上一题", "返回", "返回上一题", "back", "previous", "prev"})
CANCEL: Final = frozenset({"取消", "退出", "cancel", "stop", "quit"})
# "None" to a figure question (their text says 没有请填0), or to a checklist (none applies).
NONE: Final = frozenset(
    {
        "没有",
        "无",
        "没",
        "暂无",
        "零",
        "否",
        "不",
        "none",
        "no",
        "nothing",
        "n/a",
        "都没有",
        "都不是",
        "都不符合",
    }
)
GO_ON: Final = frozenset({"继续", "继续自测", "go on", "continue"})

# A message is a question (not an answer) when it ends with a question mark, contains one of these,
# or (English) starts with a question word.
QUESTION_CUES: Final = (
    "吗",
    "多少",
    "怎么",
    "怎样",
    "如何",
    "哪些",
    "哪个",
    "哪里",
    "什么",
    "为什么",
    "能不能",
    "可不可以",
    "有没有",
    "是不是",
    "是否",
    "能否",
    "请问",
)
QUESTION_STARTS: Final = frozenset(
    "what how can could is are do does which who where why when will should may".split()
)


def looks_like_a_question(text: str) -> bool:
    """Words asking something ("我们出口80万美元能拿多少？"), not an answer to the question shown."""
    plain = normalize(text).strip()
    if len(plain) < 2:
        return False
    if plain.endswith(("?", "？")):
        return True
    if len(plain) >= 4 and any(cue in plain for cue in QUESTION_CUES):
        return True
    words = re.findall(r"[a-z']+", plain.lower())
    return len(words) >= 3 and words[0] in QUESTION_STARTS
