"""aiogram runs every synchronous filter (each ``F.text``, ``F.chat.type == …``, ``is_admin``) and
synchronous handler in a worker thread (``asyncio.to_thread``). Ours are a few attribute lookups: the
thread hop (and the fight for the GIL that comes with it) costs far more than the filter — under load
it was the largest single item of an update's CPU time. :func:`run_inline` makes them plain calls on
the event loop; they must stay non-blocking (no I/O in a filter).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import CallableObject


def _inline(obj: CallableObject) -> None:
    if obj.awaitable:
        return
    sync: Callable[..., Any] = obj.callback

    async def call(*args: Any, **kwargs: Any) -> Any:
        return sync(*args, **kwargs)

    obj.callback = call  # `params`, computed from the original signature, stay as they were
    obj.awaitable = True


def run_inline(router: Router) -> None:
    """Every synchronous filter and handler of `router` and its sub-routers, run on the loop."""
    for observer in router.observers.values():
        for handler in observer.handlers:
            _inline(handler)
            for flt in handler.filters or ():
                _inline(flt)
        for flt in observer._handler.filters or ():  # the observer's own filters (router.message.filter)
            _inline(flt)
    for sub in router.sub_routers:
        run_inline(sub)
