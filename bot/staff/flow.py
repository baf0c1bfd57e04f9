"""Where the staff dialogue of one chat is kept, and the filters that read it.

`StaffFlow` reads and writes the step (a `StaffStates` state), its `Prompt` and the open
`Preview` (bot/staff/states.py); what cannot be read back (stale, or written by another version)
is no prompt and no preview. `StaffFlowMiddleware` hands it to every staff handler as `flow`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final, TypeVar

from aiogram import BaseMiddleware
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import TelegramObject
from pydantic import ValidationError

from bot.middlewares import Handler
from bot.staff.states import PREVIEW, PROMPTS, STEP_OF, Preview, Prompt, StaffStates

# The staff flows have an FSM destiny of their own. The user's eligibility interview lives in the
# same chat's default context (state InterviewStates.asking; data "interview", "seen", "checked",
# "toggled") and clears it whole when it ends. In a context of their own the staff steps are real
# aiogram states (set_state, clear) that can never replace the interview's, and the interview's
# clear() cannot drop a staff preview; SQLiteStorage.forget_user deletes every destiny.
DESTINY: Final = "staff"
PROMPT: Final = "prompt"
PREVIEW_KEY: Final = "preview"

P = TypeVar("P", bound=Prompt)


class StaffFlow:
    """The staff dialogue of one chat: its step, prompt and preview."""

    def __init__(self, context: FSMContext) -> None:
        self.context = context

    @classmethod
    def beside(cls, state: FSMContext) -> StaffFlow:
        """The staff flow of the chat whose default context (the interview's) is `state`."""
        return cls(FSMContext(state.storage, dataclasses.replace(state.key, destiny=DESTINY)))

    async def step(self) -> str | None:
        return await self.context.get_state()

    async def prompt(self, kind: type[P]) -> P | None:
        """The prompt of the current step, if it is a `kind` and can be read."""
        model = PROMPTS.get(await self.step())
        if model is None or not issubclass(model, kind):
            return None
        try:
            found = model.model_validate(await self.context.get_value(PROMPT))
        except ValidationError:
            return None
        return found if isinstance(found, kind) else None

    async def preview(self) -> Preview | None:
        try:
            return PREVIEW.validate_python(await self.context.get_value(PREVIEW_KEY))
        except ValidationError:
            return None

    async def tokens(self) -> set[str]:
        """The tokens whose buttons still act: the open preview's and the prompt's."""
        preview, prompt = await self.preview(), await self.prompt(Prompt)
        return {found.token for found in (preview, prompt) if found is not None}

    async def ask(self, prompt: Prompt, preview: Preview | None = None) -> None:
        """Wait for the text `prompt` asks for; any preview before it is dropped."""
        data: dict[str, Any] = {PROMPT: prompt.model_dump(mode="json")}
        if preview is not None:
            data[PREVIEW_KEY] = preview.model_dump(mode="json")
        await self.context.set_state(STEP_OF[type(prompt)])
        await self.context.set_data(data)

    async def replace(self, preview: Preview) -> None:
        """A new preview for the same prompt (typing again replaces the one before)."""
        await self.context.update_data({PREVIEW_KEY: preview.model_dump(mode="json")})

    async def show(self, preview: Preview) -> None:
        """A preview that waits for its buttons only; any prompt before it is dropped."""
        await self.context.set_state(StaffStates.previewing)
        await self.context.set_data({PREVIEW_KEY: preview.model_dump(mode="json")})

    async def end(self) -> None:
        await self.context.clear()


class StaffFlowMiddleware(BaseMiddleware):
    """Gives the staff handlers and filters their `flow` (set on the staff router, outer: filters
    read it too)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        state = data.get("state")
        if isinstance(state, FSMContext):
            data["flow"] = StaffFlow.beside(state)
        return await handler(event, data)


async def busy(event: TelegramObject, flow: StaffFlow) -> bool:
    """A staff flow waits for text or for a preview's buttons: /cancel is theirs."""
    return await flow.step() is not None


class At(Filter):
    """The staff flow is at `state`."""

    def __init__(self, state: State) -> None:
        self.state = state.state

    async def __call__(self, event: TelegramObject, flow: StaffFlow) -> bool:
        return await flow.step() == self.state
