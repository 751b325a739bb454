"""What a test must not leave behind in a service: a FAILED state or an open stream.

One function, shared by the sync and async starters and the every-transport
fixture, so the rule reads the same everywhere. It reads only ``state`` (and,
where a handle keeps one, the last error of its restart policy): on a remote
handle ``state`` is the last state the handle saw, never a network round trip.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nanoservices import Handle, State

if TYPE_CHECKING:
    from nanoservices.aio import AsyncHandleProtocol

__all__ = ["leftover", "started_where"]


def leftover(handle: Handle[Any, Any] | AsyncHandleProtocol[Any, Any]) -> str | None:
    """What is wrong with ``handle`` at the end of a test, or None when it is clean.

    Clean is READY, BUSY (only seen mid-call) or CLOSED: a test that means to
    leave a service FAILED closes (or restarts) it itself.
    """
    state = handle.state
    name = handle.name
    if state is State.FAILED:
        return f"the service {name!r} was left FAILED{_cause(handle)}"
    if state is State.STREAMING:
        return (
            f"the service {name!r} was left with an open stream: finish it, "
            "leave it with 'with', or cancel() / aclose() it"
        )
    return None


def _cause(handle: object) -> str:
    """``": ValueError: ..."`` from the handle's restart record, when it keeps one."""
    try:
        error = getattr(handle, "supervision").last_error  # noqa: B009
    except Exception:  # remote handles keep no restart record
        return ""
    if error is None:
        return ""
    cause = error.__cause__ or error
    return f" by {type(cause).__name__}: {cause}"


def started_where() -> str:
    """``file:line in function`` of the code that started a service: the test, as a rule.

    The first frame outside ``nanoservices.testing`` (the starters and fixtures),
    so a leftover's message points at the line of the test that started the
    service, not at the plugin that noticed it. The path is relative to the
    current folder when it lies inside it (as pytest shows test paths).
    """
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(
        "nanoservices.testing"
    ):
        frame = frame.f_back
    path = Path(frame.f_code.co_filename)
    try:
        shown = str(path.relative_to(Path.cwd()))
    except ValueError:
        shown = str(path)
    return f"{shown}:{frame.f_lineno} in {frame.f_code.co_name}"
