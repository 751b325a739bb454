"""nanoservices: generator coroutines as tiny, stateful, in-process services.

A service is a generator function (``request = yield reply``); ``@service``
turns it into a factory of primed handles that are pleasant, safe and fast to
call. This top level holds what writing and calling a service needs; the rest
lives in its subpackage (see ARCHITECTURE.md):

* [`nanoservices.core`][]: handles, protocol markers, state, supervision, errors;
* [`nanoservices.aio`][]: asyncio services and handles;
* [`nanoservices.compose`][]: routers, menus, pipelines, the registry;
* [`nanoservices.observe`][]: events, tracing, statistics, inspection, explain;
* [`nanoservices.http`][] and [`nanoservices.ray`][]: the transports.
"""

from types import FunctionType
from typing import TYPE_CHECKING

from .compose import Registry as Registry
from .compose import menu as menu
from .compose import pipeline as pipeline
from .compose import route as route
from .compose import router as router
from .core import NO_REPLY as NO_REPLY
from .core import DeadlineExceeded as DeadlineExceeded
from .core import Handle as Handle
from .core import InvalidRequestError as InvalidRequestError
from .core import LocalHandle as LocalHandle
from .core import Never as Never
from .core import OnFailure as OnFailure
from .core import ProtocolViolationError as ProtocolViolationError
from .core import ReentryError as ReentryError
from .core import RestartLimitError as RestartLimitError
from .core import RestartPolicy as RestartPolicy
from .core import RoutingError as RoutingError
from .core import ServiceBusyError as ServiceBusyError
from .core import ServiceClosedError as ServiceClosedError
from .core import ServiceError as ServiceError
from .core import ServiceFailedError as ServiceFailedError
from .core import ServiceStartError as ServiceStartError
from .core import StageError as StageError
from .core import State as State
from .core import Stream as Stream
from .core import StreamReplyError as StreamReplyError
from .core import TransportError as TransportError
from .core import UnknownServiceError as UnknownServiceError
from .core import raw as raw
from .core import refuse as refuse
from .core import remaining as remaining
from .core import replaying as replaying
from .core import service as service
from .core import streamed as streamed

if TYPE_CHECKING:  # loaded on first use (asyncio, httpx): ``import nanoservices`` stays quick
    from .aio import AsyncHandle as AsyncHandle
    from .aio import AsyncHandleProtocol as AsyncHandleProtocol
    from .aio import aservice as aservice
    from .aio import to_async as to_async
    from .http import aconnect as aconnect
    from .http import connect as connect

_LAZY = {
    "AsyncHandle": "aio",
    "AsyncHandleProtocol": "aio",
    "aservice": "aio",
    "to_async": "aio",
    "aconnect": "http",
    "connect": "http",
}

_SUBPACKAGES = frozenset(
    {"aio", "observe", "http", "ray", "durable", "testing", "services", "examples"}
)

__version__ = "0.1.0"

__all__ = [
    "NO_REPLY",
    "AsyncHandle",
    "AsyncHandleProtocol",
    "DeadlineExceeded",
    "Handle",
    "InvalidRequestError",
    "LocalHandle",
    "Never",
    "OnFailure",
    "ProtocolViolationError",
    "ReentryError",
    "Registry",
    "RestartLimitError",
    "RestartPolicy",
    "RoutingError",
    "ServiceBusyError",
    "ServiceClosedError",
    "ServiceError",
    "ServiceFailedError",
    "ServiceStartError",
    "StageError",
    "State",
    "Stream",
    "StreamReplyError",
    "TransportError",
    "UnknownServiceError",
    "aconnect",
    "aservice",
    "connect",
    "menu",
    "pipeline",
    "raw",
    "refuse",
    "remaining",
    "replaying",
    "route",
    "router",
    "service",
    "streamed",
    "to_async",
]


def __getattr__(name: str) -> object:
    """Load the transports' names (asyncio, HTTP) and the subpackages when first used."""
    import importlib

    if name in _SUBPACKAGES:  # ``nanoservices.observe.trace`` after ``import nanoservices``
        return importlib.import_module(f"{__name__}.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nanoservices' has no attribute {name!r}")

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


# Clean tracebacks and reprs: the names above report the package as their module.
for _name in __all__:
    if _name not in _LAZY and isinstance(globals()[_name], type | FunctionType):
        globals()[_name].__module__ = __name__
del _name
