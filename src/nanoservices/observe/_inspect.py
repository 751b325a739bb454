"""Looking inside a live service: its state, where it is suspended, its locals,
the chain of sub-generators it delegates to through ``yield from``, and a
listing of every live service in the process.

Everything here reads the generator objects (``gi_frame``, ``gi_yieldfrom``)
when asked and costs nothing before. Listing live services walks the garbage
collector's objects (``gc.get_objects()``), which is slow-ish when asked (a few
milliseconds per 100k objects) but adds no cost at all to making a handle, unlike
a registry of every handle.
"""

from __future__ import annotations

import gc
import linecache
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import AsyncGeneratorType, CoroutineType, FrameType, GeneratorType
from typing import TYPE_CHECKING, Any, TypeGuard

from nanoservices.core import LocalHandle, State
from nanoservices.core.seam import DEFAULT_SECRET_NAMES, Redact, show_locals

from ._stats import Statistics, statistics

if TYPE_CHECKING:
    from rich.tree import Tree

    from nanoservices.aio import AsyncGenEngine, AsyncHandle

    from ._types import AnyHandle


def _async_engine_type() -> type[AsyncGenEngine] | None:
    """The async engine class, if asyncio services were loaded (never loads them)."""
    aio = sys.modules.get("nanoservices.aio")
    engine: type[AsyncGenEngine] | None = None if aio is None else aio.AsyncGenEngine
    return engine


__all__ = [
    "FrameView",
    "Inspection",
    "inspect_service",
    "live_services",
]


@dataclass(frozen=True, slots=True)
class FrameView:
    """One generator (or iterator) in a service's ``yield from`` chain.

    ``status`` is ``suspended`` (waiting at ``lineno``), ``running`` (executing
    right now, in this or another thread), ``finished``, or ``iterator`` for a
    plain iterator delegated to (``yield from some_list``), which has no frame.
    For async services the chain follows ``await`` (coroutines, then whatever
    has no frame, such as a future: ``awaiting``). In an [`explain`][] report it is
    ``generator`` or ``function`` (a plain call), or ``remote`` for a frame that
    ran in another process (only its name is known, and the raising line).
    """

    function: str
    filename: str
    lineno: int | None
    source: str
    status: str
    locals: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """``file:line``, or the empty string when there is no frame."""
        return f"{self.filename}:{self.lineno}" if self.lineno is not None else self.filename


@dataclass(frozen=True, slots=True)
class Inspection:
    """What a live service is doing, as of the moment it was inspected.

    ``chain`` starts at the service's own generator and follows ``yield from``
    to the innermost sub-generator; ``stream`` is the same for the source of an
    open streamed reply (native services), empty otherwise.
    """

    service: str
    state: State
    protocol: str
    chain: tuple[FrameView, ...]
    stream: tuple[FrameView, ...]
    statistics: Statistics

    def __str__(self) -> str:
        """A plain-text tree: the ``yield from`` chain, source lines and locals."""
        return _render_text(self)

    def tree(self) -> Tree:
        """The same as ``str()``, as a ``rich.tree.Tree`` (for the CLI)."""
        return _render_tree(self)


def _parts(obj: Any) -> tuple[Any, Any, bool, Any]:
    """Frame, code, running, and what it delegates to, of a generator, coroutine
    or async generator (the three spell them differently)."""
    if isinstance(obj, GeneratorType):
        return obj.gi_frame, obj.gi_code, obj.gi_running, obj.gi_yieldfrom
    if isinstance(obj, CoroutineType):
        return obj.cr_frame, obj.cr_code, obj.cr_running, obj.cr_await
    return obj.ag_frame, obj.ag_code, obj.ag_running, obj.ag_await


def frame_view(
    function: str, frame: FrameType, lineno: int, status: str, redact: Redact, with_locals: bool
) -> FrameView:
    """``frame`` at ``lineno``: its source line, and its locals (redacted) if asked."""
    filename = frame.f_code.co_filename
    return FrameView(
        function=function,
        filename=filename,
        lineno=lineno,
        source=linecache.getline(filename, lineno).strip(),
        status=status,
        locals=show_locals(frame.f_locals, redact) if with_locals else {},
    )


def _frames(obj: Any, redact: Redact, with_locals: bool) -> tuple[FrameView, ...]:
    views: list[FrameView] = []
    seen: set[int] = set()
    awaiting = False
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        if isinstance(obj, GeneratorType | CoroutineType | AsyncGeneratorType):
            frame, code, running, inner = _parts(obj)
            if frame is None:
                views.append(FrameView(obj.__qualname__, code.co_filename, None, "", "finished"))
                break
            status = "running" if running else "suspended"
            views.append(
                frame_view(obj.__qualname__, frame, frame.f_lineno, status, redact, with_locals)
            )
            awaiting = not isinstance(obj, GeneratorType)
            obj = inner
        else:
            status = "awaiting" if awaiting else "iterator"
            views.append(FrameView(type(obj).__qualname__, "", None, "", status))
            break
    return tuple(views)


def inspect_service(
    handle: AnyHandle, *, locals: bool = True, redact: Redact = DEFAULT_SECRET_NAMES
) -> Inspection:
    """Look inside a live handle: local, shared, or async (``@aservice`` or ``to_async``).

    Args:
        locals: include each generator's local variables (as bounded reprs).
        redact: which variable names to hide: a regex searched in each name
            (default: names containing password, secret, token, key, dsn,
            credential, auth), a predicate, a collection of exact names, or
            None to show everything. Passwords in URLs are always masked.
    """
    local = getattr(handle, "local", None) or handle
    engine = getattr(local, "_engine", None)
    engine_type = _async_engine_type()
    if engine_type is not None and isinstance(engine, engine_type):
        source = engine.stream_source
        state = engine.state
        return Inspection(
            service=engine.name,
            state=state,
            protocol=engine.spec.protocol.name,
            chain=() if state is State.CLOSED else _frames(engine.generator, redact, locals),
            stream=_frames(source, redact, locals) if source is not None else (),
            statistics=statistics(local),
        )
    if not isinstance(local, LocalHandle):
        raise TypeError(f"cannot inspect {handle!r}: it does not run in this process")
    cursor = local._stream  # the open stream, if any (read-only peek)
    source = getattr(cursor, "_items", None) if cursor is not None else None
    closed = local.state is State.CLOSED
    return Inspection(
        service=local.name,
        state=local.state,
        protocol=local.spec.protocol.name,
        chain=() if closed else _frames(local.generator, redact, locals),
        stream=_frames(source, redact, locals) if source is not None else (),
        statistics=statistics(handle),  # the handle asked about: it may tell more (extra)
    )


def _lines(views: tuple[FrameView, ...], indent: str) -> Iterator[str]:
    for depth, view in enumerate(views):
        pad = indent + "   " * depth
        if view.status in ("iterator", "awaiting"):
            what = "an iterator" if view.status == "iterator" else "awaited"
            yield f"{pad}└─ {view.function} ({what}, no frame)"
            continue
        status = "" if view.status == "suspended" else f" [{view.status}]"
        yield f"{pad}└─ {view.function}  {view.where}{status}"
        if view.source:
            yield f"{pad}     > {view.source}"
        for name, value in view.locals.items():
            yield f"{pad}       {name} = {value}"


def _render_text(inspection: Inspection) -> str:
    stats = inspection.statistics
    head = f"{inspection.service}: {inspection.state.value} ({inspection.protocol} protocol)"
    if stats.collecting:
        head += f", {stats.requests} request(s), {stats.errors} error(s)"
    if stats.restarts:
        head += f", {stats.restarts} restart(s)"
    lines = [head]
    if stats.extra:
        lines.append("   " + ", ".join(f"{k}={_shown(v)}" for k, v in stats.extra.items()))
    lines.extend(_lines(inspection.chain, ""))
    if inspection.stream:
        lines.append("   streaming from:")
        lines.extend(_lines(inspection.stream, "   "))
    return "\n".join(lines)


def _shown(value: object) -> str:
    """A figure of ``Statistics.extra`` as text (seconds to 3 places)."""
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _render_tree(inspection: Inspection) -> Tree:
    from rich.markup import escape
    from rich.tree import Tree

    style = {"failed": "red", "closed": "dim", "streaming": "cyan", "busy": "yellow"}
    state = inspection.state.value
    tree = Tree(
        f"[bold]{escape(inspection.service)}[/] "
        f"[{style.get(state, 'green')}]{state}[/] [dim]({inspection.protocol})[/]"
    )

    def grow(parent: Any, views: tuple[FrameView, ...]) -> None:
        for view in views:
            if view.status in ("iterator", "awaiting"):
                what = "iterator" if view.status == "iterator" else "awaited"
                parent = parent.add(f"[dim]{escape(view.function)} ({what})[/]")
                continue
            label = f"[bold]{escape(view.function)}[/]  [dim]{escape(view.where)}[/]"
            if view.status != "suspended":
                label += f" [yellow]{view.status}[/]"
            if view.source:
                label += f"\n[cyan]> {escape(view.source)}[/]"
            for name, value in view.locals.items():
                label += f"\n  [magenta]{escape(name)}[/] = {escape(value)}"
            parent = parent.add(label)

    extra = inspection.statistics.extra
    if extra:
        tree.add("[dim]" + escape(", ".join(f"{k}={_shown(v)}" for k, v in extra.items())) + "[/]")
    grow(tree, inspection.chain)
    if inspection.stream:
        grow(tree.add("[cyan]streaming from[/]"), inspection.stream)
    return tree


def live_services(*, include_closed: bool = False) -> list[AnyHandle]:
    """Every local handle and async service handle alive in this process.

    Shared handles and ``to_async`` wrappers wrap one of the local handles
    listed, so they are not listed themselves. Walks the garbage collector's
    objects: free until called, a few milliseconds per 100k objects when
    called. Closed handles are left out unless ``include_closed``.
    """
    aio = sys.modules.get("nanoservices.aio")  # not imported: no async handle exists
    async_handle: type[AsyncHandle[Any, Any]] | None = None if aio is None else aio.AsyncHandle
    engine_type = _async_engine_type()

    def is_service(obj: object) -> TypeGuard[AnyHandle]:
        if isinstance(obj, LocalHandle):
            return hasattr(obj, "_gen")  # one whose __init__ raised is not a live service
        return (
            async_handle is not None
            and engine_type is not None
            and isinstance(obj, async_handle)
            and isinstance(getattr(obj, "_engine", None), engine_type)
        )

    found = [obj for obj in gc.get_objects() if is_service(obj)]
    if not include_closed:
        found = [h for h in found if h.state is not State.CLOSED]
    return found
