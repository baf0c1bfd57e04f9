"""FSM states. The interview keeps `interview` (Interview.to_json()) and `seen` (the last typed
answer's message id, so an update redelivered after a crash is not applied twice) in the data."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class InterviewStates(StatesGroup):
    asking = State()
