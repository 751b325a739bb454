"""The core: writing a service and driving it in this process.

What is here: the service decorators (``service``, ``raw``, ``coroutine``), the
protocol markers a service yields (``streamed``, ``refuse``, ``NO_REPLY``), the
``Handle`` protocol every handle kind satisfies and the two local handles
(``LocalHandle``, ``SharedHandle``), the one state table (``State``), the
restart policies, the error tree and the events a handle reports.

``ACCELERATED`` says whether ``LocalHandle`` and ``SharedHandle`` are the optional C
accelerator's types (compiled at install time when a C compiler is present) or the
pure-Python classes (the reference implementation; ``NANOSERVICES_PURE_PYTHON=1``
forces them).

The core imports no other part of the package. The other subpackages use these
public names; what a transport needs beyond them is listed in
[`nanoservices.core.seam`][].
"""

from ._deadline import remaining as remaining
from ._errors import DeadlineExceeded as DeadlineExceeded
from ._errors import InvalidRequestError as InvalidRequestError
from ._errors import ProtocolViolationError as ProtocolViolationError
from ._errors import ReentryError as ReentryError
from ._errors import RemoteCause as RemoteCause
from ._errors import RestartLimitError as RestartLimitError
from ._errors import RoutingError as RoutingError
from ._errors import ServiceBusyError as ServiceBusyError
from ._errors import ServiceClosedError as ServiceClosedError
from ._errors import ServiceError as ServiceError
from ._errors import ServiceFailedError as ServiceFailedError
from ._errors import ServiceStartError as ServiceStartError
from ._errors import StageError as StageError
from ._errors import StreamReplyError as StreamReplyError
from ._errors import TransportError as TransportError
from ._errors import UnknownServiceError as UnknownServiceError
from ._errors import short_repr as short_repr
from ._events import CallTimer as CallTimer
from ._events import Event as Event
from ._events import EventKind as EventKind
from ._events import Hook as Hook
from ._handle import ACCELERATED as _LOCAL_ACCELERATED
from ._handle import Handle as Handle
from ._handle import LocalHandle as LocalHandle
from ._protocol import NO_REPLY as NO_REPLY
from ._protocol import Refusal as Refusal
from ._protocol import Stream as Stream
from ._protocol import refuse as refuse
from ._protocol import streamed as streamed
from ._public import publish
from ._replaying import during_replay as during_replay
from ._replaying import replaying as replaying
from ._service import ServiceFactory as ServiceFactory
from ._service import coroutine as coroutine
from ._service import raw as raw
from ._service import service as service
from ._shared import ACCELERATED_SHARED as _SHARED_ACCELERATED
from ._shared import SharedHandle as SharedHandle
from ._shared import SharedStream as SharedStream
from ._spec import ServiceSpec as ServiceSpec
from ._state import State as State
from ._steps import arun as arun_flow
from ._steps import run as run_flow
from ._stream import ReplyStream as ReplyStream
from ._supervise import Never as Never
from ._supervise import OnFailure as OnFailure
from ._supervise import RestartPolicy as RestartPolicy
from ._supervise import SupervisionStats as SupervisionStats
from ._where import Where as Where

#: Whether the local and shared handles are the C accelerator's types.
ACCELERATED: bool = _LOCAL_ACCELERATED and _SHARED_ACCELERATED

__all__ = [
    "ACCELERATED",
    "NO_REPLY",
    "CallTimer",
    "DeadlineExceeded",
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
    "RemoteCause",
    "ReplyStream",
    "RestartLimitError",
    "RestartPolicy",
    "RoutingError",
    "ServiceBusyError",
    "ServiceClosedError",
    "ServiceError",
    "ServiceFactory",
    "ServiceFailedError",
    "ServiceSpec",
    "ServiceStartError",
    "SharedHandle",
    "SharedStream",
    "StageError",
    "State",
    "Stream",
    "StreamReplyError",
    "SupervisionStats",
    "TransportError",
    "UnknownServiceError",
    "Where",
    "arun_flow",
    "coroutine",
    "during_replay",
    "raw",
    "refuse",
    "remaining",
    "replaying",
    "run_flow",
    "service",
    "short_repr",
    "streamed",
]

publish(__name__, __all__, globals())
