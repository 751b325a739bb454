"""nanoservices: generator coroutines as tiny, stateful, in-process services.

A service is a generator function (``request = yield reply``); ``@service`` turns
it into a factory of primed handles that are pleasant, safe and fast to call.
"""

from typing import TYPE_CHECKING

from ._errors import InvalidRequestError as InvalidRequestError
from ._errors import ProtocolViolationError as ProtocolViolationError
from ._errors import ReentryError as ReentryError
from ._errors import RemoteCause as RemoteCause
from ._errors import RestartLimitError as RestartLimitError
from ._errors import ServiceBusyError as ServiceBusyError
from ._errors import ServiceClosedError as ServiceClosedError
from ._errors import ServiceError as ServiceError
from ._errors import ServiceFailedError as ServiceFailedError
from ._errors import ServiceStartError as ServiceStartError
from ._errors import StreamReplyError as StreamReplyError
from ._errors import TransportError as TransportError
from ._events import CallTimer as CallTimer
from ._events import Event as Event
from ._events import EventKind as EventKind
from ._events import Hook as Hook
from ._explain import Explanation as Explanation
from ._explain import explain as explain
from ._explain import explain_rich as explain_rich
from ._explain import explanation as explanation
from ._explain import install_excepthook as install_excepthook
from ._explain import uninstall_excepthook as uninstall_excepthook
from ._handle import Handle as Handle
from ._handle import LocalHandle as LocalHandle
from ._handle import ReplyStream as ReplyStream
from ._inspect import FrameView as FrameView
from ._inspect import Inspection as Inspection
from ._inspect import format_inspection as format_inspection
from ._inspect import inspect_service as inspect_service
from ._inspect import inspection_tree as inspection_tree
from ._inspect import live_services as live_services
from ._otel import OpenTelemetryTracer as OpenTelemetryTracer
from ._pipeline import OpenPipeline as OpenPipeline
from ._pipeline import Pipeline as Pipeline
from ._pipeline import Stage as Stage
from ._pipeline import StageError as StageError
from ._pipeline import broadcast as broadcast
from ._pipeline import collect as collect
from ._pipeline import each as each
from ._pipeline import keep as keep
from ._pipeline import merge as merge
from ._pipeline import pipeline as pipeline
from ._pipeline import stage as stage
from ._pipeline import transform as transform
from ._protocol import NO_REPLY as NO_REPLY
from ._protocol import Refusal as Refusal
from ._protocol import Stream as Stream
from ._protocol import refuse as refuse
from ._protocol import stream as stream
from ._registry import Binding as Binding
from ._registry import HandleBinding as HandleBinding
from ._registry import LocalBinding as LocalBinding
from ._registry import Registry as Registry
from ._registry import ServiceInfo as ServiceInfo
from ._registry import ServiceRef as ServiceRef
from ._registry import UnknownServiceError as UnknownServiceError
from ._registry import default_registry as default_registry
from ._router import Menu as Menu
from ._router import Routed as Routed
from ._router import Router as Router
from ._router import RoutingError as RoutingError
from ._router import menu as menu
from ._router import route_of as route_of
from ._router import router as router
from ._service import ServiceFactory as ServiceFactory
from ._service import ServiceSpec as ServiceSpec
from ._service import coroutine as coroutine
from ._service import raw as raw
from ._service import service as service
from ._shared import SharedHandle as SharedHandle
from ._shared import SharedStream as SharedStream
from ._state import State as State
from ._stats import LatencyHistogram as LatencyHistogram
from ._stats import Statistics as Statistics
from ._stats import StatsCollector as StatsCollector
from ._stats import collect_statistics as collect_statistics
from ._stats import format_statistics as format_statistics
from ._stats import render_statistics_table as render_statistics_table
from ._stats import statistics as statistics
from ._stats import stop_statistics as stop_statistics
from ._supervise import Never as Never
from ._supervise import OnFailure as OnFailure
from ._supervise import RestartPolicy as RestartPolicy
from ._supervise import SupervisionStats as SupervisionStats
from ._trace import LoggingTracer as LoggingTracer
from ._trace import Recorder as Recorder
from ._trace import Sink as Sink
from ._trace import Tracing as Tracing
from ._trace import format_duration as format_duration
from ._trace import observe as observe
from ._trace import trace as trace
from ._trace import tracing as tracing

if TYPE_CHECKING:  # loaded on first use (asyncio, httpx, ray): ``import nanoservices`` stays quick
    from .aio import AsyncHandle as AsyncHandle
    from .aio import AsyncReplyStream as AsyncReplyStream
    from .aio import AsyncServiceFactory as AsyncServiceFactory
    from .aio import aservice as aservice
    from .aio import astream as astream
    from .aio import to_async as to_async
    from .http._client import AsyncRemoteHandle as AsyncRemoteHandle
    from .http._client import AsyncRemoteStream as AsyncRemoteStream
    from .http._client import RemoteHandle as RemoteHandle
    from .http._client import RemoteStream as RemoteStream
    from .http._client import aconnect as aconnect
    from .http._client import connect as connect
    from .ray import AsyncRayHandle as AsyncRayHandle
    from .ray import AsyncRayStream as AsyncRayStream
    from .ray import RayBinding as RayBinding
    from .ray import RayHandle as RayHandle
    from .ray import RayStream as RayStream
    from .ray import ServiceHostPool as ServiceHostPool

_LAZY = {
    "AsyncRayHandle": "ray",
    "AsyncRayStream": "ray",
    "RayBinding": "ray",
    "RayHandle": "ray",
    "RayStream": "ray",
    "ServiceHostPool": "ray",
    "AsyncHandle": "aio",
    "AsyncReplyStream": "aio",
    "AsyncServiceFactory": "aio",
    "aservice": "aio",
    "astream": "aio",
    "to_async": "aio",
    "AsyncRemoteHandle": "http._client",
    "AsyncRemoteStream": "http._client",
    "RemoteHandle": "http._client",
    "RemoteStream": "http._client",
    "aconnect": "http._client",
    "connect": "http._client",
}


__version__ = "0.1.0"

__all__ = [
    "NO_REPLY",
    "AsyncHandle",
    "AsyncRayHandle",
    "AsyncRayStream",
    "AsyncRemoteHandle",
    "AsyncRemoteStream",
    "AsyncReplyStream",
    "AsyncServiceFactory",
    "Binding",
    "CallTimer",
    "Event",
    "EventKind",
    "Explanation",
    "FrameView",
    "Handle",
    "HandleBinding",
    "Hook",
    "Inspection",
    "InvalidRequestError",
    "LatencyHistogram",
    "LocalBinding",
    "LocalHandle",
    "LoggingTracer",
    "Menu",
    "Never",
    "OnFailure",
    "OpenPipeline",
    "OpenTelemetryTracer",
    "Pipeline",
    "ProtocolViolationError",
    "RayBinding",
    "RayHandle",
    "RayStream",
    "Recorder",
    "ReentryError",
    "Refusal",
    "Registry",
    "RemoteCause",
    "RemoteHandle",
    "RemoteStream",
    "ReplyStream",
    "RestartLimitError",
    "RestartPolicy",
    "Routed",
    "Router",
    "RoutingError",
    "ServiceBusyError",
    "ServiceClosedError",
    "ServiceError",
    "ServiceFactory",
    "ServiceFailedError",
    "ServiceHostPool",
    "ServiceInfo",
    "ServiceRef",
    "ServiceSpec",
    "ServiceStartError",
    "SharedHandle",
    "SharedStream",
    "Sink",
    "Stage",
    "StageError",
    "State",
    "Statistics",
    "StatsCollector",
    "Stream",
    "StreamReplyError",
    "SupervisionStats",
    "Tracing",
    "TransportError",
    "UnknownServiceError",
    "aconnect",
    "aservice",
    "astream",
    "broadcast",
    "collect",
    "collect_statistics",
    "connect",
    "coroutine",
    "default_registry",
    "each",
    "explain",
    "explain_rich",
    "explanation",
    "format_duration",
    "format_inspection",
    "format_statistics",
    "inspect_service",
    "inspection_tree",
    "install_excepthook",
    "keep",
    "live_services",
    "menu",
    "merge",
    "observe",
    "pipeline",
    "raw",
    "refuse",
    "render_statistics_table",
    "route_of",
    "router",
    "service",
    "stage",
    "statistics",
    "stop_statistics",
    "stream",
    "to_async",
    "trace",
    "tracing",
    "transform",
    "uninstall_excepthook",
]


def __getattr__(name: str) -> object:
    """Load the transports' names (asyncio, HTTP, Ray) when first used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nanoservices' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


# Clean tracebacks and reprs: public names report the package, not private modules.
for _name in __all__:
    if _name in _LAZY:
        continue
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("nanoservices._"):
        try:
            _obj.__module__ = "nanoservices"
        except (AttributeError, TypeError):
            pass
del _name, _obj
