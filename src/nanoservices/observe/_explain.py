"""Readable failures: which service failed, on which request, where, and what
the restart policy did, in one screen.

A raw traceback of a failed service is long and mostly the library's own
frames. [`explain`][] keeps what matters: the service, the request (bounded,
secrets masked), the ``yield from`` chain down to the line that raised (read
from the original traceback, which stays available as ``error.__cause__``), the
locals where it raised, and the restart policy's decision.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from inspect import CO_ASYNC_GENERATOR, CO_GENERATOR
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from nanoservices.core import (
    InvalidRequestError,
    RemoteCause,
    RestartLimitError,
    ServiceBusyError,
    ServiceClosedError,
    ServiceError,
    ServiceFailedError,
    State,
    Where,
)
from nanoservices.core.seam import (
    DEFAULT_SECRET_NAMES,
    Redact,
    exception_text,
    is_plumbing,
    safe_repr,
)

from ._inspect import FrameView, frame_view, live_services

if TYPE_CHECKING:
    from rich.panel import Panel

    from ._types import AnyHandle

__all__ = [
    "Explanation",
    "explain",
    "install_excepthook",
    "uninstall_excepthook",
]

_GENERATORS: Final = CO_GENERATOR | CO_ASYNC_GENERATOR  # a service's body, sync or async


@dataclass(frozen=True, slots=True)
class Explanation:
    """A failure, sorted out by [`explain`][]: ``str()`` it, or ``.rich()`` for a panel."""

    service: str | None
    request: str | None
    error: str
    frames: tuple[FrameView, ...]
    policy: str
    hint: str
    caused_by: Explanation | None

    def __str__(self) -> str:
        """One screen of plain text: headline, frames, locals, policy, hint."""
        return _render_text(self)

    def rich(self) -> Panel:
        """The same as ``str()``, as a ``rich`` panel (``rich`` is imported here)."""
        from rich.markup import escape
        from rich.panel import Panel
        from rich.tree import Tree

        def build(ex: Explanation) -> Tree:
            root = Tree(f"[bold red]{escape(_headline(ex))}[/]")
            if ex.service is not None:
                root.add(f"[red]{escape(ex.error)}[/]")
            node = root
            for view in ex.frames:
                kind = " [dim](called)[/]" if view.status == "function" else ""
                label = f"[bold]{escape(view.function)}[/]{kind}  [dim]{escape(view.where)}[/]"
                if view.source:
                    label += f"\n[cyan]> {escape(view.source)}[/]"
                for name, value in view.locals.items():
                    label += f"\n  [magenta]{escape(name)}[/] = {escape(value)}"
                node = node.add(label)
            if ex.policy:
                root.add(f"[yellow]restart policy:[/] {escape(ex.policy)}")
            if ex.caused_by is not None:
                root.add("because another service failed:").add(build(ex.caused_by))
            if ex.hint:
                root.add(f"[dim]{escape(ex.hint)}[/]")
            return root

        return Panel(build(self), title="nanoservices")


def _frames(exc: BaseException, redact: Redact) -> tuple[FrameView, ...]:
    raw: list[tuple[Any, int]] = []
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if not is_plumbing(tb.tb_frame.f_code.co_filename):
            raw.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    views = []
    for i, (frame, lineno) in enumerate(raw):
        code = frame.f_code
        status = "generator" if code.co_flags & _GENERATORS else "function"
        innermost = i == len(raw) - 1
        views.append(frame_view(code.co_qualname, frame, lineno, status, redact, innermost))
    return tuple(views)


def _frames_named(where: Where) -> tuple[FrameView, ...]:
    """The chain a [`Where`][nanoservices.core.Where] names, for an error that came
    from another process (its traceback stayed there): names, and the raising line."""
    names = where.chain or (where.function,)
    last = len(names) - 1
    return tuple(
        FrameView(
            function=name,
            filename=(where.file or where.module) if i == last else "",
            lineno=where.line if i == last else None,
            source="",
            status="remote",
        )
        for i, name in enumerate(names)
    )


def _find_handle(name: str) -> AnyHandle | None:
    matches = [h for h in live_services(include_closed=True) if h.name == name]
    return matches[0] if len(matches) == 1 else None


def _policy(error: ServiceError, handle: object) -> str:
    if isinstance(error, RestartLimitError):
        return (
            f"not restarted: the restart policy gave up after {error.restarts} restart(s) "
            "in its window; the service stays FAILED (call restart() when the cause is fixed)"
        )
    if not isinstance(error, ServiceFailedError) or error.__cause__ is None:
        return ""
    sup = getattr(handle, "supervision", None) if handle is not None else None
    counts = f" ({sup.failures} failure(s), {sup.restarts} restart(s) so far)" if sup else ""
    if error.restarted:
        return f"restarted from its factory: the next call gets a fresh instance{counts}"
    left = error.left_state  # what the failure left, not what the handle is now
    state = State(left) if left is not None else getattr(handle, "state", None)
    if state is State.READY:
        return f"not needed: only this request's stream failed, the service is still ready{counts}"
    if state is None:
        return "not restarted (unless only a streamed reply failed: then the service is ready)"
    return (
        f"not restarted: no restart policy, the service is {state.value}{counts}; "
        "call restart(), or give it restart=OnFailure(...)"
    )


def _hint(error: BaseException) -> str:
    if isinstance(error, InvalidRequestError):
        return "the request was refused before the service saw it; its state is untouched"
    if isinstance(error, ServiceClosedError):
        return "the service was closed (or its generator returned); make a new one from its factory"
    if isinstance(error, ServiceBusyError):
        return "not a failure: the service was in use; try again, or use handle.shared()"
    cause = error.__cause__ if isinstance(error, ServiceFailedError) else None
    if cause is None:
        return ""
    if cause.__traceback__ is not None:
        return "full traceback: error.__cause__ (traceback.print_exception(error))"
    if getattr(cause, "__notes__", None):  # Ray: the host's traceback came as a note
        return (
            "raised in another process: its traceback is in the notes of error.__cause__ "
            "(traceback.print_exception(error))"
        )
    return "raised in another process: its traceback is in that server's log"


def _headline(ex: Explanation) -> str:
    if ex.service is None:
        return ex.error
    what = f"service {ex.service!r} failed"
    if ex.request is not None:
        what += f" on request {ex.request}"
    return what


def _render_text(ex: Explanation, depth: int = 0) -> str:
    pad = "  " * depth
    lines = [pad + _headline(ex)]
    if ex.service is not None:
        lines.append(f"{pad}  {ex.error}")
    if ex.frames:
        lines.append(f"{pad}where (outermost first):")
        for i, view in enumerate(ex.frames):
            indent = pad + "  " + "   " * i
            kind = " (called)" if view.status == "function" else ""
            lines.append(f"{indent}└─ {view.function}{kind}  {view.where}".rstrip())
            if view.source:
                lines.append(f"{indent}     > {view.source}")
        last = ex.frames[-1]
        if last.locals:
            lines.append(f"{pad}locals in {last.function}:")
            lines.extend(f"{pad}  {name} = {value}" for name, value in last.locals.items())
    if ex.policy:
        lines.append(f"{pad}restart policy: {ex.policy}")
    if ex.caused_by is not None:
        lines.append(f"{pad}because another service failed:")
        lines.append(_render_text(ex.caused_by, depth + 1))
    if ex.hint:
        lines.append(f"{pad}({ex.hint})")
    return "\n".join(lines)


def explain(
    error: BaseException,
    handle: AnyHandle | None = None,
    *,
    redact: Redact = DEFAULT_SECRET_NAMES,
) -> Explanation:
    """Sort out why a service call failed: service, request, frames, restart policy.

    ``str()`` of the result is one screen of plain text; ``.rich()`` is the
    same as a ``rich`` panel (for the CLI and the excepthook).

    Args:
        error: what a call raised (a ``ServiceError``, or any exception).
        handle: the handle that raised it, to report its supervision counts;
            found among live services by name when unique, if not given.
        redact: which local variable names to hide (see ``inspect_service``).
    """
    service = error.service if isinstance(error, ServiceError) else None
    if handle is None and service is not None:
        handle = _find_handle(service)
    handle = getattr(handle, "local", None) or handle  # None: an async service
    request = getattr(error, "request", None) if isinstance(error, ServiceError) else None
    cause = error.__cause__ if isinstance(error, ServiceFailedError) else None
    origin = cause if cause is not None else error
    if isinstance(error, ServiceError) and cause is None:
        message = error.message or str(error)
    elif isinstance(origin, RemoteCause):  # the original's type name and text
        message = str(origin)
    else:
        message = exception_text(origin)
    caused_by = None
    if (
        isinstance(cause, ServiceFailedError)
        and cause.service != service
        and cause.__cause__ is not None
    ):
        caused_by = explain(cause, redact=redact)
    frames = _frames(origin, redact)
    where = getattr(error, "where", None)
    if not frames and isinstance(where, Where):  # it crossed HTTP or Ray: no traceback
        frames = _frames_named(where)
    return Explanation(
        service=service,
        request=None if request is None else safe_repr(request),
        error=message,
        frames=frames,
        policy=_policy(error, handle) if isinstance(error, ServiceError) else "",
        hint=_hint(error),
        caused_by=caused_by,
    )


_previous_hook: Callable[..., Any] | None = None


def install_excepthook(*, traceback: bool = False, rich: bool = True) -> None:
    """Opt in: uncaught service errors print [`explain`][] instead of a raw
    traceback (also the traceback when ``traceback``). Other errors are left
    to the hook that was there. Undo with [`uninstall_excepthook`][]."""
    global _previous_hook
    previous = _previous_hook or sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if not isinstance(value, ServiceError):
            previous(kind, value, tb)
            return
        if traceback:
            previous(kind, value, tb)
        if rich:
            from rich.console import Console

            Console(stderr=True).print(explain(value).rich())
        else:
            print(explain(value), file=sys.stderr)

    _previous_hook = previous
    sys.excepthook = hook


def uninstall_excepthook() -> None:
    """Put back the ``sys.excepthook`` that [`install_excepthook`][] replaced."""
    global _previous_hook
    if _previous_hook is not None:
        sys.excepthook = _previous_hook
        _previous_hook = None
