"""The exceptions nanoservices raises, and nothing else.

```text
ServiceError                    .service (name) on every error we raise
├── ServiceClosedError          you closed it (or it finished), then used it
├── ServiceFailedError          the body raised: .request, __cause__ = original
│   ├── ServiceStartError       it raised before its first yield (bad configuration)
│   └── RestartLimitError       the supervisor gave up: .restarts, .last_error
├── ServiceBusyError            two threads at once, a stream open, a lock timeout
│   └── ReentryError            the service called itself
├── InvalidRequestError         also a TypeError; refused before the service ran
├── StreamReplyError            call() met a streamed reply: use stream()
├── DeadlineExceeded            also a TimeoutError; the deadline passed
├── ProtocolViolationError      the generator broke its protocol
└── TransportError              the remote side is unreachable or broke

RemoteCause                     stands in for the ``__cause__`` of an error that
                                crossed HTTP or Ray: the original's type name and text
```

Every constructor passes all of its arguments to ``Exception.__init__`` so that
errors survive pickling (Ray pickles them); messages show requests through
``reprlib`` because requests can be large or secret.
"""

from __future__ import annotations

import itertools
import math
import reprlib
from typing import Final

from ._where import Where

__all__ = [
    "DeadlineExceeded",
    "InvalidRequestError",
    "ProtocolViolationError",
    "ReentryError",
    "RemoteCause",
    "RestartLimitError",
    "RoutingError",
    "ServiceBusyError",
    "ServiceClosedError",
    "ServiceError",
    "ServiceFailedError",
    "ServiceStartError",
    "StageError",
    "StreamReplyError",
    "TransportError",
    "UnknownServiceError",
]


class BoundedRepr(reprlib.Repr):
    """``reprlib.Repr`` that shows a dict's keys in the caller's order (it sorts them)
    and a huge int by its length (converting it whole is slow, past 4,300 digits refused)."""

    def repr_dict(self, x: dict[object, object], level: int) -> str:
        if not x:
            return "{}"
        if level <= 0:
            return "{" + self.fillvalue + "}"
        pieces = [
            f"{self.repr1(key, level - 1)}: {self.repr_value(key, value, level - 1)}"
            for key, value in itertools.islice(x.items(), self.maxdict)
        ]
        if len(x) > self.maxdict:
            pieces.append(self.fillvalue)
        return "{" + ", ".join(pieces) + "}"

    def repr_value(self, key: object, value: object, level: int) -> str:
        """The text of the value under ``key`` in a dict (a subclass may hide it)."""
        return self.repr1(value, level)

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > _INT_BITS:  # its repr would convert all of it, or refuse to
            return f"<int of {int_digits(x):,} digits>"
        return super().repr_int(x, level)


#: Ints longer than this many bits (about 300 digits) are shown by their length.
_INT_BITS: Final = 1000
#: Up to this many bits the digit count is exact (one power of ten), past it about.
_EXACT_BITS: Final = 100_000
_LOG10_2: Final = math.log10(2)


def int_digits(x: int) -> int:
    """The number of decimal digits of ``x``, without converting it to text (for a
    very long one an estimate, off by at most one)."""
    bits = abs(x).bit_length()
    low = int((bits - 1) * _LOG10_2) + 1  # 2**(bits-1) <= |x| < 2**bits
    high = int(bits * _LOG10_2) + 1
    if low == high or bits > _EXACT_BITS:
        return high
    return high if abs(x) >= 10**low else low


_short = BoundedRepr()
_short.maxstring = 60
_short.maxother = 60


def short_repr(value: object) -> str:
    """A bounded ``repr`` for messages: requests may be huge or hold secrets. It
    never raises (a huge int is shown by its length, a broken ``__repr__`` by its type)."""
    try:
        return _short.repr(value)
    except Exception as exc:  # an error's text must not raise
        return f"<{type(value).__name__} object (repr raised {type(exc).__name__})>"


def exception_text(exc: BaseException) -> str:
    """``"Type: text"`` for an exception, even when its ``str()`` raises (a
    ``KeyError`` of a huge int does)."""
    try:
        text = str(exc)
    except Exception as failure:
        text = f"<str() raised {type(failure).__name__}>"
    return f"{type(exc).__name__}: {text}"


class Thrown:
    """Stands for the request when a service fails on ``throw(exc)``."""

    __slots__ = ("exception",)

    def __init__(self, exception: BaseException | type[BaseException]) -> None:
        self.exception = exception

    def __repr__(self) -> str:
        return f"throw({self.exception!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Thrown) and other.exception is self.exception

    __hash__ = None  # type: ignore[assignment]


class UnreadRequest:
    """Stands for the request when it was refused before anyone read it: a server
    took no body that large. ``.size`` is its size in bytes, when the server knew it.
    (``None`` is a request like any other, so it cannot stand for an unknown one.)
    """

    __slots__ = ("size",)

    def __init__(self, size: int | None) -> None:
        self.size = size

    def __repr__(self) -> str:
        return "a request" if self.size is None else f"a request of {self.size:,} bytes"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnreadRequest) and other.size == self.size

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[UnreadRequest], tuple[int | None]]:
        return (UnreadRequest, (self.size,))


class ServiceError(Exception):
    """Root of every error nanoservices raises; ``.service`` names the service."""

    service: str

    def __init__(self, service: str, message: str) -> None:
        super().__init__(service, message)
        self.service = service
        self.message = message

    def __str__(self) -> str:
        return f"service {self.service!r}: {self.message}"


class ServiceClosedError(ServiceError, RuntimeError):
    """The service was closed (or its generator returned) and then used.

    Not a failure: nothing went wrong inside the service. Compare
    [`ServiceFailedError`][], where the body raised.
    """


class ServiceFailedError(ServiceError, RuntimeError):
    """The service body raised while handling ``.request``.

    The original exception is ``__cause__``. ``.restarted`` says whether the
    supervisor replaced the dead generator, so the next call will be served.
    ``.where`` says where it was raised (the frame, and the chain of calls from
    the service's own function), when a service's frame was in the traceback;
    it crosses HTTP and Ray, which the traceback does not. ``.left_state`` is
    the state the failure left the service in (``"failed"``, or ``"ready"`` when
    it was restarted or only a streamed reply failed), recorded when it was
    raised: a later ``restart()`` does not change what happened. None: unknown.
    """

    request: object
    where: Where | None = None
    left_state: str | None = None

    def __init__(
        self, service: str, request: object, message: str = "", restarted: bool = False
    ) -> None:
        ServiceError.__init__(self, service, message)
        self.args = (service, request, message, restarted)
        self.request = request
        self.restarted = restarted

    def __str__(self) -> str:
        what = self.request
        text = self.message or (
            f"failed on {what!r}"
            if isinstance(what, Thrown)  # a throw(), not a request
            else f"failed on request {short_repr(what)}"
        )
        cause = self.__cause__
        if cause is not None and not self.message:
            text += f": {exception_text(cause)}"
        return f"service {self.service!r}: {text}"


class ServiceStartError(ServiceFailedError):
    """The service could not start: its function raised before its first
    ``yield`` (a bad DSN, an unknown algorithm, a database that is down).
    ``__cause__`` is the original; there is no request (``.request`` is None).
    """


class RestartLimitError(ServiceFailedError):
    """The restart policy gave up: too many failures in its time window."""

    def __init__(
        self, service: str, request: object, restarts: int, last_error: str, message: str = ""
    ) -> None:
        text = message or (
            f"failed on request {short_repr(request)} and will not be restarted: "
            f"{restarts} restart(s) already used in the policy's window; "
            f"last error: {last_error}"
        )
        ServiceFailedError.__init__(self, service, request, text, False)
        self.args = (service, request, restarts, last_error, message)
        self.restarts = restarts
        self.last_error = last_error


class ServiceBusyError(ServiceError, RuntimeError):
    """The service is in use: another thread is in it, a stream holds it, or a
    shared handle's lock timed out. Not a failure: try again later."""


class ReentryError(ServiceBusyError):
    """The service called itself through its own handle (a deadlock otherwise)."""


class InvalidRequestError(ServiceError, TypeError):
    """The request was refused before the service saw it; its state is untouched."""

    request: object

    def __init__(self, service: str, request: object, reason: str) -> None:
        ServiceError.__init__(self, service, reason)
        self.args = (service, request, reason)
        self.request = request
        self.reason = reason

    def __str__(self) -> str:
        what = self.request
        if isinstance(what, UnreadRequest):  # the reason says what was wrong with it
            return f"service {self.service!r}: invalid request: {self.reason}"
        return f"service {self.service!r}: invalid request {short_repr(what)}: {self.reason}"


class StreamReplyError(ServiceError, TypeError):
    """``call()`` was used where the service replied with a stream.

    A streamed reply is read with ``stream()``. The caller's mistake, not the
    service's: the stream's source is closed (as for a dropped stream) and the
    service is READY again for the next request. Over HTTP it is a 409.
    """

    request: object

    def __init__(self, service: str, request: object, message: str = "") -> None:
        ServiceError.__init__(
            self,
            service,
            message
            or f"request {short_repr(request)} has a streamed reply: read it with stream(), "
            "not call()",
        )
        self.args = (service, request, message)
        self.request = request


class DeadlineExceeded(ServiceError, TimeoutError):
    """The caller's deadline (``timeout=``) passed before the service answered.

    What became of the request depends on where the service runs (the table in
    the deadlines guide): an async or remote service was cancelled (it survives
    a cancellation it handles); a sync service in the caller's thread cannot be
    interrupted, so this is raised before it is called or between stream items.
    Not a failure of the service: compare [`ServiceFailedError`][].
    ``.timeout`` is the bound in seconds when the caller gave one (else None).
    """

    request: object

    def __init__(
        self, service: str, request: object, timeout: float | None = None, message: str = ""
    ) -> None:
        text = message or (
            f"request {short_repr(request)} missed its deadline"
            + ("" if timeout is None else f" ({timeout:g}s)")
        )
        ServiceError.__init__(self, service, text)
        self.args = (service, request, timeout, message)
        self.request = request
        self.timeout = timeout


class ProtocolViolationError(ServiceError):
    """The generator did something its protocol does not allow (for example it
    yielded a value while being closed, or did not return to waiting on reset)."""


class TransportError(ServiceError, ConnectionError):
    """The remote side of a handle is unreachable or broke the wire protocol."""


class RemoteCause(Exception):
    """The ``__cause__`` of an error that came from another process (HTTP, Ray).

    The original exception stays on the other side (it is never pickled over
    HTTP, and may not pickle at all); its type name and text come across, so
    ``error.__cause__`` still says what went wrong there.
    """

    def __init__(self, type_name: str, text: str) -> None:
        super().__init__(type_name, text)
        self.type_name = type_name
        self.text = text

    def __str__(self) -> str:
        return f"{self.type_name}: {self.text}"


class UnknownServiceError(ServiceError, LookupError):
    """No service is registered (or resolvable) under this name."""

    def __init__(self, service: str, message: str = "") -> None:
        super().__init__(service, message or "no such service in the registry")


class RoutingError(ServiceError, LookupError):
    """A request named no known route (or was not a ``(key, payload)`` pair).

    Hosted through [`Router.service`][nanoservices.compose.Router.service], such
    requests are refused before the router runs (``InvalidRequestError``); this
    error is raised only when the router's generator is driven without that check.
    """


class StageError(ServiceFailedError):
    """A stage of a pipeline raised; ``.stage`` names it, ``__cause__`` is the original.

    ``.service`` is the pipeline's name and ``.request`` the item pushed in when
    it happened (or None when it happened while closing).
    """

    def __init__(self, service: str, stage: str, request: object, message: str = "") -> None:
        text = message or f"stage {stage!r} failed on item {short_repr(request)}"
        ServiceFailedError.__init__(self, service, request, text)
        self.args = (service, stage, request, message)
        self.stage = stage
