"""nanoservices: generator coroutines as tiny, stateful, in-process services.

A service is a generator function (``request = yield reply``); ``@service`` turns
it into a factory of primed handles that are pleasant, safe and fast to call.
"""

from ._errors import InvalidRequestError as InvalidRequestError
from ._errors import ProtocolViolationError as ProtocolViolationError
from ._errors import ReentryError as ReentryError
from ._errors import RestartLimitError as RestartLimitError
from ._errors import ServiceBusyError as ServiceBusyError
from ._errors import ServiceClosedError as ServiceClosedError
from ._errors import ServiceError as ServiceError
from ._errors import ServiceFailedError as ServiceFailedError
from ._errors import TransportError as TransportError
from ._events import Event as Event
from ._events import EventKind as EventKind
from ._events import Hook as Hook
from ._handle import Handle as Handle
from ._handle import LocalHandle as LocalHandle
from ._handle import ReplyStream as ReplyStream
from ._protocol import NO_REPLY as NO_REPLY
from ._protocol import Refusal as Refusal
from ._protocol import Stream as Stream
from ._protocol import refuse as refuse
from ._protocol import stream as stream
from ._service import ServiceFactory as ServiceFactory
from ._service import ServiceSpec as ServiceSpec
from ._service import coroutine as coroutine
from ._service import raw as raw
from ._service import service as service
from ._shared import SharedHandle as SharedHandle
from ._shared import SharedStream as SharedStream
from ._state import State as State
from ._supervise import Never as Never
from ._supervise import OnFailure as OnFailure
from ._supervise import RestartPolicy as RestartPolicy
from ._supervise import SupervisionStats as SupervisionStats

__version__ = "0.1.0"

__all__ = [
    "NO_REPLY",
    "Event",
    "EventKind",
    "Handle",
    "Hook",
    "InvalidRequestError",
    "LocalHandle",
    "Never",
    "OnFailure",
    "ProtocolViolationError",
    "ReentryError",
    "Refusal",
    "ReplyStream",
    "RestartLimitError",
    "RestartPolicy",
    "ServiceBusyError",
    "ServiceClosedError",
    "ServiceError",
    "ServiceFactory",
    "ServiceFailedError",
    "ServiceSpec",
    "SharedHandle",
    "SharedStream",
    "State",
    "Stream",
    "SupervisionStats",
    "TransportError",
    "coroutine",
    "raw",
    "refuse",
    "service",
    "stream",
]

# Clean tracebacks and reprs: public names report the package, not private modules.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("nanoservices._"):
        try:
            _obj.__module__ = "nanoservices"
        except (AttributeError, TypeError):
            pass
del _name, _obj
