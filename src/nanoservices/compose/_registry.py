"""The registry: services by name, so callers never hold an implementation.

Callers ask for a name (``registry["md5"]``) and get a [`ServiceRef`][], a
handle-like proxy that looks the name up on every call. Replacing what a name
means (a new version, a restarted instance, later a remote or Ray service)
therefore needs no change in any caller.

What a name means is a [`Binding`][]: something that knows how to make a
handle. [`LocalBinding`][] starts a local service from a factory and its
arguments (lazily, on first use); [`HandleBinding`][] wraps a live handle.
Other transports add their own bindings ("this name lives at URL X") and may
plug a *resolver* that makes bindings for names nobody registered, read from
configuration: that is the seam through which a service moves out of process.

Registering, replacing and removing are thread-safe (one lock, never taken on
the call path); calls go through the handle, whose own thread rules apply
(register ``handle.shared()`` for a service many threads call). A service the
registry started is closed when its name is replaced or removed, but never
under a call in flight through a [`ServiceRef`][]: the last such call to
finish closes it (a handle taken with [`Registry.handle`][] is not counted).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from nanoservices.core import Handle, ServiceClosedError, State, UnknownServiceError

logger = logging.getLogger("nanoservices")

__all__ = [
    "Binding",
    "HandleBinding",
    "LocalBinding",
    "Registry",
    "ServiceInfo",
    "ServiceRef",
    "default_registry",
]

T = TypeVar("T")


@runtime_checkable
class Binding(Protocol):
    """How a registry name becomes a handle; transports implement their own."""

    @property
    def kind(self) -> str:
        """A short word for listings: "local", "handle", "http", "ray"..."""
        ...

    def connect(self, name: str) -> Handle[Any, Any]:
        """Make (or return) the handle serving ``name``."""
        ...

    def describe(self) -> str:
        """Where the service is, for listings (a function, a URL, an actor)."""
        ...


class LocalBinding:
    """Start ``factory(*args, **kwargs)`` in this process on first use.

    The registry owns the handle it starts: it closes it when the name is
    replaced or removed.
    """

    kind = "local"
    owned = True

    def __init__(self, factory: Callable[..., Handle[Any, Any]], *args: Any, **kwargs: Any) -> None:
        self.factory = factory
        self.args = args
        self.kwargs = kwargs

    def connect(self, name: str) -> Handle[Any, Any]:
        return self.factory(*self.args, **self.kwargs)

    def describe(self) -> str:
        fn = getattr(self.factory, "__qualname__", None) or repr(self.factory)
        module = getattr(self.factory, "__module__", None)
        return f"{module}.{fn}" if module else str(fn)


class HandleBinding:
    """A live handle you started; the registry never closes it (you own it)."""

    kind = "handle"
    owned = False

    def __init__(self, handle: Handle[Any, Any]) -> None:
        self.handle = handle

    def connect(self, name: str) -> Handle[Any, Any]:
        return self.handle

    def describe(self) -> str:
        return repr(self.handle)


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """One row of a registry listing."""

    name: str
    kind: str
    target: str
    #: the handle's state, or None if the service has not been started yet
    state: State | None

    @property
    def status(self) -> str:
        return "not started" if self.state is None else self.state.value


class _Entry:
    """A name's current binding and, once connected, its handle.

    ``active`` holds one item per call in flight through a ref (``append`` and
    ``pop`` are atomic, so the call path takes no lock). A caller appends
    *before* it reads ``retired``, and [`release`][] sets ``retired`` *before*
    it reads ``active``: so either the release sees the call and leaves the
    close to it, or the caller sees the entry retired and goes to the new one.
    """

    __slots__ = ("active", "binding", "handle", "lock", "retired")

    def __init__(self, binding: Binding) -> None:
        self.binding = binding
        self.handle: Handle[Any, Any] | None = None
        self.lock = threading.Lock()
        self.retired = False
        self.active: list[None] = []

    def connect(self, name: str) -> Handle[Any, Any]:
        handle = self.handle
        if handle is None:
            with self.lock:  # two first callers must not start two services
                handle = self.handle
                if handle is None:
                    if self.retired:  # replaced before its first use: never start it
                        raise ServiceClosedError(name, "this binding was replaced or removed")
                    handle = self.handle = self.binding.connect(name)
        return handle

    def release(self) -> None:
        """Retire the entry; close its handle if the registry started it, now
        or, with calls in flight, when the last of them is over."""
        with self.lock:
            self.retired = True
            if self.active:
                return  # the last call out closes it (see ``finish``)
            handle, self.handle = self.handle, None
        if handle is not None and getattr(self.binding, "owned", False):
            handle.close()

    def finish(self, name: str) -> None:
        """After a call through a ref on a retired entry: close the handle if
        that was the last call in flight. A close error is logged, not raised:
        the call itself succeeded, and the caller did not ask for a close."""
        with self.lock:
            if self.active:
                return
            handle, self.handle = self.handle, None
        if handle is not None and getattr(self.binding, "owned", False):
            try:
                handle.close()
            except Exception:
                logger.exception("closing the replaced service %r failed", name)


class Registry:
    """Services by name. ``Registry()`` for an explicit one; the process-wide
    one is [`default_registry`][].

    Args:
        resolver: called with a name nobody registered; returns a binding for
            it (read from configuration, say) or None for "unknown".
    """

    def __init__(self, resolver: Callable[[str], Binding | None] | None = None) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.resolver = resolver

    # -- registering ---------------------------------------------------------

    def bind(self, name: str, binding: Binding, *, replace: bool = False) -> None:
        """Make ``name`` mean ``binding``. Without ``replace=True`` a taken name
        is refused (``ValueError``); with it, callers switch on their next call
        and a handle the registry started for the old binding is closed."""
        if not isinstance(binding, Binding):
            raise TypeError(f"not a binding (connect, describe, kind): {binding!r}")
        entry = _Entry(binding)
        with self._lock:
            old = self._entries.get(name)
            if old is not None and not replace:
                raise ValueError(f"a service named {name!r} is registered (use replace=True)")
            self._entries[name] = entry
        if old is not None:
            old.release()

    def register(
        self, name: str, factory: Callable[..., Handle[Any, Any]], /, *args: Any, **kwargs: Any
    ) -> None:
        """Register ``factory(*args, **kwargs)``, started on first use."""
        self.bind(name, LocalBinding(factory, *args, **kwargs))

    def add(self, name: str, handle: Handle[Any, Any]) -> None:
        """Register a live handle under ``name`` (you keep owning it)."""
        self.bind(name, HandleBinding(handle))

    def replace(
        self,
        name: str,
        target: Callable[..., Handle[Any, Any]] | Handle[Any, Any] | Binding,
        /,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Swap what ``name`` means at run time: a binding, a live handle, or a
        factory with its arguments. Callers holding a ref keep working."""
        self.bind(name, _binding_for(target, args, kwargs), replace=True)

    def unregister(self, name: str) -> None:
        """Forget ``name``; a handle the registry started is closed."""
        with self._lock:
            entry = self._entries.pop(name, None)
        if entry is None:
            raise UnknownServiceError(name)
        entry.release()

    # -- looking up ------------------------------------------------------------

    def get(self, name: str) -> ServiceRef:
        """A handle-like ref to ``name``; it follows replacements. Raises
        ``UnknownServiceError`` now if the name is neither registered nor resolvable."""
        self._entry(name)
        return ServiceRef(self, name)

    __getitem__ = get

    def _entry(self, name: str) -> _Entry:
        entry = self._entries.get(name)
        if entry is not None:
            return entry
        binding = self.resolver(name) if self.resolver is not None else None
        if binding is None:
            raise UnknownServiceError(name)
        with self._lock:
            entry = self._entries.get(name)  # another thread may have resolved it
            if entry is None:
                entry = self._entries[name] = _Entry(binding)
        return entry

    def handle(self, name: str) -> Handle[Any, Any]:
        """The handle serving ``name`` right now (started if need be). Prefer
        [`get`][]: this one does not follow later replacements."""
        return self._entry(name).connect(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    # -- listing ---------------------------------------------------------------

    def listing(self) -> list[ServiceInfo]:
        """Each service, its binding and its state, sorted by name (plain data)."""
        rows = []
        for name, entry in sorted(self._entries.items()):
            handle = entry.handle
            rows.append(
                ServiceInfo(
                    name=name,
                    kind=entry.binding.kind,
                    target=entry.binding.describe(),
                    state=None if handle is None else handle.state,
                )
            )
        return rows

    def table(self) -> str:
        """The listing as a plain-text table."""
        rows = [("NAME", "KIND", "STATE", "TARGET")]
        rows += [(i.name, i.kind, i.status, i.target) for i in self.listing()]
        widths = [max(len(row[col]) for row in rows) for col in range(3)]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
            + "  "
            + row[3]
            for row in rows
        )

    def close(self) -> None:
        """Forget every service, closing those the registry started."""
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
        for entry in entries:
            entry.release()

    def __repr__(self) -> str:
        return f"<Registry of {len(self._entries)} services>"


def _binding_for(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Binding:
    if isinstance(target, Binding) and not (args or kwargs):
        return target
    if isinstance(target, Handle) and not (args or kwargs):
        return HandleBinding(target)
    if callable(target):
        return LocalBinding(target, *args, **kwargs)
    raise TypeError(f"cannot register {target!r}: not a binding, handle or factory")


class ServiceRef:
    """A handle-like proxy to a registry name: every call looks the name up,
    so it keeps working when the service behind the name is replaced.

    One dictionary lookup per call on top of the handle's own cost. A call that
    raced a replacement (it reached the old service just as it was closed) is
    retried once on the new one.
    """

    __slots__ = ("_registry", "name")

    def __init__(self, registry: Registry, name: str) -> None:
        self._registry = registry
        self.name = name

    def _handle(self) -> Handle[Any, Any]:
        return self._registry._entry(self.name).connect(self.name)

    def call(self, request: Any, /, *, timeout: float | None = None) -> Any:
        """Send ``request`` to whatever serves the name now (``timeout``: its deadline)."""
        registry, name = self._registry, self.name
        while True:
            entry = registry._entry(name)
            active = entry.active
            active.append(None)  # in flight: a replacement will not close under us
            try:
                if not entry.retired:
                    handle = entry.connect(name)
                    if timeout is None:
                        return handle.call(request)
                    return handle.call(request, timeout=timeout)
            except ServiceClosedError:
                if not entry.retired:
                    raise
                # replaced before its first use, as we connected: never started
            finally:
                active.pop()
                if entry.retired:
                    entry.finish(name)
            # replaced between the lookup and the call: go to the new binding

    __call__ = call

    def _in_flight(self, op: Callable[[Handle[Any, Any]], T]) -> T:
        """``op(handle)`` on the current service, counted as a call in flight."""
        registry, name = self._registry, self.name
        while True:
            entry = registry._entry(name)
            entry.active.append(None)
            try:
                if not entry.retired:
                    return op(entry.connect(name))
            except ServiceClosedError:
                if not entry.retired:
                    raise
            finally:
                entry.active.pop()
                if entry.retired:
                    entry.finish(name)

    def stream(self, request: Any, /, *, timeout: float | None = None) -> Iterator[Any]:
        """Open a streamed reply on the current service (it stays on it; a
        replacement closes the old service, and so the stream, between items)."""
        if timeout is None:
            return self._in_flight(lambda handle: handle.stream(request))
        return self._in_flight(lambda handle: handle.stream(request, timeout=timeout))

    def reset(self) -> None:
        self._in_flight(lambda handle: handle.reset())

    def throw(self, exc: BaseException | type[BaseException], /) -> Any:
        return self._in_flight(lambda handle: handle.throw(exc))

    def restart(self) -> None:
        """A fresh instance of the service behind the name, from its factory."""
        self._in_flight(lambda handle: handle.restart())

    @property
    def greeting(self) -> Any:
        """What the service behind the name yielded first."""
        return self._handle().greeting

    def close(self) -> None:
        """Close the service behind the name (for everyone); to stop using it,
        just drop the ref."""
        self._handle().close()

    @property
    def state(self) -> State:
        return self._handle().state

    @property
    def handle(self) -> Handle[Any, Any]:
        """The handle serving the name right now (does not follow replacements)."""
        return self._handle()

    def __repr__(self) -> str:
        return f"<ServiceRef {self.name!r}>"


#: The process-wide registry; make your own ``Registry()`` for tests or scopes.
default_registry = Registry()
