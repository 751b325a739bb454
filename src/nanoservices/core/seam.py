"""The core's one declared seam: what the rest of the package may use beyond
the public names of [`nanoservices.core`][].

The asyncio engines, the observers and the transports (HTTP, Ray) drive
generators, move states and report events exactly as the local handle does;
they reuse these pieces instead of copying them. Nothing else of the core's
private modules may be imported outside ``nanoservices/core``
(``tests/test_architecture.py`` checks it). Not a user API: names here may
change with the core.
"""

from . import _deadline as deadlines
from . import _steps as steps
from ._errors import UnreadRequest as UnreadRequest
from ._errors import exception_text as exception_text
from ._errors import short_repr as short_repr
from ._events import call_timers as call_timers
from ._events import emit as emit
from ._events import now_ns as now_ns
from ._extras import install_hint as install_hint
from ._extras import missing_extra as missing_extra
from ._handle import PureLocalHandle as PureLocalHandle
from ._observable import Observable as Observable
from ._observable import observable as observable
from ._protocol import NATIVE as NATIVE
from ._protocol import RawProtocol as RawProtocol
from ._public import publish as publish
from ._redact import DEFAULT_SECRET_NAMES as DEFAULT_SECRET_NAMES
from ._redact import Redact as Redact
from ._redact import masked_repr as masked_repr
from ._redact import redacted as redacted
from ._redact import safe_repr as safe_repr
from ._redact import show_locals as show_locals
from ._sends import validating as validating
from ._service import FROM_ANNOTATION as FROM_ANNOTATION
from ._shared import PureSharedHandle as PureSharedHandle
from ._state import Op as Op
from ._state import advance as advance
from ._state import refusal as refusal
from ._stream import Cursor as Cursor
from ._supervise import Supervision as Supervision
from ._validate import KeyedCheck as KeyedCheck
from ._validate import build_check as build_check
from ._validate import fast_form as fast_form
from ._where import is_plumbing as is_plumbing

__all__ = [
    "DEFAULT_SECRET_NAMES",
    "FROM_ANNOTATION",
    "NATIVE",
    "Cursor",
    "KeyedCheck",
    "Observable",
    "Op",
    "PureLocalHandle",
    "PureSharedHandle",
    "RawProtocol",
    "Redact",
    "Supervision",
    "UnreadRequest",
    "advance",
    "build_check",
    "call_timers",
    "deadlines",
    "emit",
    "exception_text",
    "fast_form",
    "install_hint",
    "is_plumbing",
    "masked_repr",
    "missing_extra",
    "now_ns",
    "observable",
    "publish",
    "redacted",
    "refusal",
    "safe_repr",
    "short_repr",
    "show_locals",
    "steps",
    "validating",
]
