"""Words a user may type instead of pressing an interview button (matched after normalising)."""

from __future__ import annotations

from typing import Final

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
# "None" to a figure question (their text says 没有请填0).
NONE: Final = frozenset({"没有", "无", "没", "暂无", "零", "否", "不", "none", "no", "nothing", "n/a"})
