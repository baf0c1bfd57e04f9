"""FSM state and data. The interview keeps `interview` (Interview.to_json()) and `screen` (Screen:
what its message shows) in the data."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.state import State, StatesGroup
from pydantic import BaseModel, ConfigDict, ValidationError

MAX_BELOW = 3  # the user's own messages under the interview message before a step comes anew


class InterviewStates(StatesGroup):
    asking = State()


class Screen(BaseModel):
    """The interview message and what it shows now."""

    model_config = ConfigDict(extra="ignore")

    msg: int | None = None  # the interview message's id
    below: int = MAX_BELOW  # how many of the user's messages are under it (MAX_BELOW: too far up)
    head: str | None = None  # the line above the step: the answer just recorded, or a note
    checked: list[str] = []  # a checklist's ticks so far
    toggled: list[str] = []  # the checklist presses applied (a press delivered twice ticks once)
    question: str | None = None  # a question typed mid-interview, offered an answer first
    resuming: bool = False  # picked up again: a "start over" button too
    seen: int | None = None  # the last typed answer's message id: one redelivered is not applied twice

    @classmethod
    def of(cls, data: dict[str, Any]) -> Screen:
        raw = data.get("screen")
        try:
            return cls.model_validate(raw) if isinstance(raw, dict) else cls()
        except ValidationError:
            return cls()
