"""The staff dialogue's steps and what each carries, typed.

`StaffStates` says what the dialogue waits for. A typing step carries its `Prompt` (the state
names which one: there is no kind to disagree with it); a change worked out and not yet saved is
a `Preview` (a union discriminated by `kind`). Both are stored as JSON in the FSM data and
validated when read back (bot/staff/flow.py). Every prompt and preview has a token, carried by
its buttons: a button whose token is no longer the current one does nothing.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

from aiogram.fsm.state import State, StatesGroup
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class StaffStates(StatesGroup):
    typing_value = State()  # a field's new value (the guided edit); its preview may be open
    typing_referral = State()  # the referral of a group ruled out of scope; its preview may be open
    typing_phrasing = State()  # an attach preview is open: typed text is a new wording
    previewing = State()  # an import or rollback preview waits for its buttons only
    uploading = State()  # half of a new document came (its .yaml or its source text): the other half


def new_token() -> str:
    return secrets.token_hex(4)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- what a typing step carries -----------------------------------------------------------------


class Prompt(_Frozen):
    """Typed text is asked for; `token` is the one of the prompt's cancel button."""

    token: str


class ValuePrompt(Prompt):
    """The new value of `field` of `target` (StaffStates.typing_value)."""

    target: str  # an entry id or overlay.DOCUMENT
    field: str


class ReferralPrompt(Prompt):
    """The referral for questions like `phrasing` (StaffStates.typing_referral)."""

    phrasing: str
    ids: tuple[int, ...]  # the group's questions


class PhrasingPrompt(Prompt):
    """A new wording for the attach preview of the same token (StaffStates.typing_phrasing)."""


class UploadPrompt(Prompt):
    """A new document comes in two files (StaffStates.uploading): the one that came waits here
    for the other — its data (`raw`, from the file `name`) for its source text, or the text."""

    name: str = ""
    raw: dict[str, Any] | None = None
    source_name: str = ""
    source: str | None = None


STEP_OF: dict[type[Prompt], State] = {
    ValuePrompt: StaffStates.typing_value,
    ReferralPrompt: StaffStates.typing_referral,
    PhrasingPrompt: StaffStates.typing_phrasing,
    UploadPrompt: StaffStates.uploading,
}
PROMPTS: dict[str | None, type[Prompt]] = {step.state: model for model, step in STEP_OF.items()}


# --- what a preview carries (what its Save button saves) ----------------------------------------


class EditPreview(_Frozen):
    kind: Literal["edit"] = "edit"
    token: str
    target: str
    field: str
    value: Any  # the field's new value, as overlay.set_field takes it (JSON)
    base: int  # the version previewed against: saving refuses if another change came first


class AttachPreview(_Frozen):
    kind: Literal["attach"] = "attach"
    token: str
    entry: str
    phrasing: str
    ids: tuple[int, ...]


class ReferPreview(_Frozen):
    kind: Literal["refer"] = "refer"
    token: str
    phrasing: str
    zh: str
    en: str
    ids: tuple[int, ...]


class ImportPreview(_Frozen):
    kind: Literal["import"] = "import"
    token: str
    name: str  # the uploaded file's name
    raw: dict[str, Any]
    base: int
    source: str | None = None  # a new document's source text (its second file)


class RemovePreview(_Frozen):
    kind: Literal["remove"] = "remove"
    token: str
    doc: str
    base: int


class RollbackPreview(_Frozen):
    kind: Literal["rollback"] = "rollback"
    token: str
    change: int
    base: int | None = None  # None: the rollback of a ruling, outside the documents


Preview = Annotated[
    EditPreview | AttachPreview | ReferPreview | ImportPreview | RollbackPreview | RemovePreview,
    Field(discriminator="kind"),
]
PREVIEW: TypeAdapter[Preview] = TypeAdapter(Preview)
