"""What the server hosts: services by name, how each is started, and what may be thrown.

A served service is a sync ``@service`` factory or an async ``@aservice`` one.
Either way each instance is reached through an [`AsyncHandle`][nanoservices.aio.AsyncHandle],
so the server drives every service through the one protocol core. Sync
services run their steps in a thread by default (``offload``): a service that
blocks must not stall the server's event loop.
"""

from __future__ import annotations

import asyncio
import builtins
import importlib
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

import msgspec

from nanoservices.aio import AsyncGenEngine, AsyncHandle, AsyncServiceFactory, Starting, to_async
from nanoservices.core import (
    InvalidRequestError,
    ServiceError,
    ServiceFactory,
    ServiceSpec,
    TransportError,
)

__all__ = [
    "DEFAULT_THROWABLE",
    "SHARED_OPERATIONS",
    "Served",
    "discover",
    "factory_arguments",
    "start_instance",
]

#: What a client may ask of a *shared* service besides calls and streams.
SHARED_OPERATIONS: Final = frozenset({"reset", "throw", "restart"})

# Option names that name a place (a file, a database, a URL): a client may set
# one only when the operator lists it in ``Served.locations`` as well.
_LOCATION: Final = re.compile(r"path|dsn|url|uri|file|dir|host|conn|socket|endpoint", re.I)

#: Exceptions a client may throw into any service, by name (built-ins only: making
#: one from JSON scalars runs no user code). Add a service's own with ``throwable=``.
DEFAULT_THROWABLE: Final[tuple[type[BaseException], ...]] = tuple(
    getattr(builtins, name)
    for name in (
        "Exception",
        "KeyError",
        "LookupError",
        "RuntimeError",
        "TimeoutError",
        "TypeError",
        "ValueError",
    )
)


@dataclass(frozen=True)
class Served:
    """A service as the server offers it.

    The operator decides each service's configuration: every session's instance
    is started with ``args``/``kwargs``. A client may set only the keyword
    arguments named in ``options`` (validated like requests, strictly); a
    path, DSN or URL among them needs naming in ``locations`` too.

    Args:
        factory: a ``@service`` or ``@aservice`` factory.
        name: the name clients use (default: the service's own).
        shared: one instance for every session, started with ``args``/``kwargs``;
            its calls take turns, waiting at most ``timeout`` seconds.
        args: the factory's positional arguments, chosen by the operator.
        kwargs: the factory's keyword arguments, chosen by the operator.
        options: keyword arguments a client may choose per session, each with its
            type (``Annotated[int, msgspec.Meta(ge=0, le=100)]`` for bounds).
        locations: option names the operator allows although they name a place
            (``path``, ``dsn``, ``url``...): without this, declaring them fails.
        client_args: trust clients with any factory arguments (tests, demos, a
            network of your own): never for a server strangers reach.
        shared_operations: what one client may do to a shared service that the
            others see (``reset``, ``throw``, ``restart``); ``reset`` by default.
        throwable: exception classes clients may ``throw()`` in, by class name.
        offload: run a sync service's steps in a thread (keep True for any
            service that blocks; False is faster for pure, quick services).
        durable: make the sessions durable, journalled in this store (a
            ``nanoservices.durable.JournalStore``, an SQLite file path, or a
            ``postgresql://`` DSN): a client opens a session with a key and gets
            that key's state back, across closes and server restarts. The
            operator chooses the store; a client's key only names a journal in it.
        snapshots: the ``nanoservices.durable.Snapshots`` of a durable service.
        tracebacks: for development: a failure's problem document also carries the
            server's traceback (absolute paths and source lines). By default it
            carries only where the service failed (the file relative to the
            service's folder, the function, the line); the log has the rest.
    """

    factory: Any
    name: str = ""
    shared: bool = False
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    locations: frozenset[str] = frozenset()
    client_args: bool = False
    shared_operations: frozenset[str] = frozenset({"reset"})
    throwable: tuple[type[BaseException], ...] = DEFAULT_THROWABLE
    offload: bool = True
    timeout: float = 10.0
    durable: Any = None
    snapshots: Any = None
    tracebacks: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.factory, ServiceFactory | AsyncServiceFactory):
            raise TypeError(f"{self.factory!r} is not a service factory (@service or @aservice)")
        if not self.name:
            object.__setattr__(self, "name", self.factory.spec.name)
        if self.durable is not None:
            self._check_durable()
        unknown = set(self.shared_operations) - SHARED_OPERATIONS
        if unknown:
            raise ValueError(
                f"unknown shared operations {sorted(unknown)}: use {set(SHARED_OPERATIONS)}"
            )
        places = [n for n in self.options if _LOCATION.search(n) and n not in self.locations]
        if places:
            raise ValueError(
                f"option(s) {places} of {self.name!r} name a path, DSN or URL: a client may "
                "set one only if you also list it in locations="
            )
        if self.options:
            try:
                inspect.signature(self.spec.fn).bind_partial(**dict.fromkeys(self.options))
            except TypeError as exc:
                bad = f"options of {self.name!r} are not its parameters: {exc}"
                raise ValueError(bad) from None

    def _check_durable(self) -> None:
        from nanoservices._session_stores import is_sessions_source

        if not is_sessions_source(self.durable):
            raise TypeError(
                f"durable= of {self.name!r} is a JournalStore, an SQLite path or a "
                f"postgresql:// DSN, not {self.durable!r}"
            )
        if self.shared:
            raise ValueError(
                f"{self.name!r} cannot be both shared and durable: a durable session's state "
                "is named by its client's key (serve it unshared)"
            )

    @property
    def spec(self) -> ServiceSpec:
        spec: ServiceSpec = self.factory.spec
        return spec

    def throwable_named(self, name: str) -> type[BaseException] | None:
        for cls in self.throwable:
            if cls.__name__ == name:
                return cls
        return None


def factory_arguments(
    served: Served, args: list[Any], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The factory arguments for a client's session: the operator's, plus the options
    the client may set (validated strictly); anything else is refused."""
    if served.client_args:
        return tuple(args or served.args), {**served.kwargs, **kwargs}
    if args:
        raise InvalidRequestError(
            served.name,
            {"args": args},
            "a client sets no positional factory arguments: the operator configures this "
            + (f"service (options you may set: {sorted(served.options)})" if served.options
               else "service"),
        )  # fmt: skip
    refused = sorted(set(kwargs) - set(served.options))
    if refused:
        allowed = sorted(served.options) or "none"
        raise InvalidRequestError(
            served.name,
            {"kwargs": sorted(kwargs)},
            f"option(s) {refused} may not be set by a client (options you may set: {allowed})",
        )
    chosen = {}
    for key, value in kwargs.items():
        try:
            chosen[key] = msgspec.convert(value, served.options[key], strict=True)
        except (msgspec.ValidationError, TypeError) as exc:
            raise InvalidRequestError(served.name, {key: value}, f"option {key!r}: {exc}") from None
    return tuple(served.args), {**served.kwargs, **chosen}


async def start_for_client(
    served: Served, args: list[Any], kwargs: dict[str, Any]
) -> AsyncHandle[Any, Any]:
    """Start a session's instance; a configuration the client chose and the service
    refuses at start is the client's mistake (InvalidRequestError), not a failure."""
    call_args, call_kwargs = factory_arguments(served, args, kwargs)
    try:
        return await start_instance(served, call_args, call_kwargs)
    except (InvalidRequestError, TransportError):
        raise
    except ServiceError as exc:
        if not (args or kwargs):
            raise
        cause = exc.__cause__ or exc
        raise InvalidRequestError(
            served.name,
            {"args": args, "kwargs": kwargs},
            f"the service refused this configuration: {type(cause).__name__}: {cause}",
        ) from None


async def start_instance(
    served: Served, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> AsyncHandle[Any, Any]:
    """Start one instance of ``served`` with the factory arguments a client sent."""
    try:
        inspect.signature(served.spec.fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise InvalidRequestError(
            served.name, {"args": list(args), "kwargs": kwargs}, f"bad factory arguments: {exc}"
        ) from None
    factory = served.factory
    if isinstance(factory, AsyncServiceFactory):
        return await Starting[Any, Any](
            AsyncGenEngine(replace(factory.spec, name=served.name), args, kwargs), served.timeout
        )
    if served.offload:
        local = await asyncio.to_thread(factory, *args, **kwargs)
    else:
        local = factory(*args, **kwargs)
    if served.name != served.spec.name:
        local.rename(served.name)
    return to_async(local, offload=served.offload, timeout=served.timeout)


def discover(target: str) -> dict[str, Any]:
    """The service factories named by ``module:factory``, or every one in ``module``."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    if attr:
        factory = getattr(module, attr)
        return {factory.spec.name: factory}
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    found = {}
    for name in names:
        value = getattr(module, name, None)
        if isinstance(value, ServiceFactory | AsyncServiceFactory):
            found[value.spec.name] = value
    if not found:
        raise LookupError(f"no @service or @aservice factories in module {module_name!r}")
    return found
