"""What the server hosts: services by name, how each is started, and what may be thrown.

A served service is a sync ``@service`` factory or an async ``@aservice`` one.
Either way each instance is reached through an :class:`~nanoservices.aio._handle.AsyncHandle`,
so the server drives every service through the one protocol core. Sync
services run their steps in a thread by default (``offload``): a service that
blocks must not stall the server's event loop.
"""

from __future__ import annotations

import asyncio
import builtins
import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from nanoservices.aio import AsyncGenEngine, AsyncHandle, AsyncServiceFactory, Starting, to_async
from nanoservices.core import InvalidRequestError, ServiceFactory, ServiceSpec

__all__ = ["DEFAULT_THROWABLE", "Served", "discover", "start_instance"]

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

    Args:
        factory: a ``@service`` or ``@aservice`` factory.
        name: the name clients use (default: the service's own).
        shared: one instance for every session, started with ``args``/``kwargs``;
            its calls take turns, waiting at most ``timeout`` seconds.
        throwable: exception classes clients may ``throw()`` in, by class name.
        offload: run a sync service's steps in a thread (keep True for any
            service that blocks; False is faster for pure, quick services).
    """

    factory: Any
    name: str = ""
    shared: bool = False
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    throwable: tuple[type[BaseException], ...] = DEFAULT_THROWABLE
    offload: bool = True
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.factory, ServiceFactory | AsyncServiceFactory):
            raise TypeError(f"{self.factory!r} is not a service factory (@service or @aservice)")
        if not self.name:
            object.__setattr__(self, "name", self.factory.spec.name)

    @property
    def spec(self) -> ServiceSpec:
        spec: ServiceSpec = self.factory.spec
        return spec

    def throwable_named(self, name: str) -> type[BaseException] | None:
        for cls in self.throwable:
            if cls.__name__ == name:
                return cls
        return None


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
