"""The in-process speed rows: the baselines and every nanoservices call path.

Each setup is a context manager giving a batch (``n`` requests in a tight
``for _ in repeat(None, n)`` loop), written the way a caller would write it:
``h.call(x)`` looks the method up on every request, ``send(x)`` does not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from itertools import repeat
from typing import Any

from nanoservices.compose import route, router
from nanoservices.core import ACCELERATED, service
from nanoservices.core.seam import PureLocalHandle, PureSharedHandle

from ._services import (
    REQUEST,
    TYPED_REQUESTS,
    echo_body,
    echo_fn,
    echo_service,
    primed_send,
    streamer_service,
)
from ._timing import Batch, Candidate

__all__ = ["PURE_ROWS", "SPEED_ROWS"]


def _sending(fn: Callable[[Any], Any]) -> Batch:
    """A batch of ``fn(request)``: a callable the caller already holds."""

    def batch(n: int) -> None:
        request = REQUEST
        for _ in repeat(None, n):
            fn(request)

    return batch


def _calling(h: Any, request: object = REQUEST) -> Batch:
    """A batch of ``h.call(request)``: the method is looked up on every request."""

    def batch(n: int) -> None:
        for _ in repeat(None, n):
            h.call(request)

    return batch


@contextmanager
def _loop() -> Iterator[Batch]:
    def batch(n: int) -> None:
        for _ in repeat(None, n):
            pass

    yield batch


@contextmanager
def _function() -> Iterator[Batch]:
    yield _sending(echo_fn)


@contextmanager
def _bare_send() -> Iterator[Batch]:
    yield _sending(primed_send())


@contextmanager
def _handle_call() -> Iterator[Batch]:
    with echo_service() as h:
        yield _calling(h)


@contextmanager
def _handle_dunder_call() -> Iterator[Batch]:
    with echo_service() as h:
        yield _sending(h)  # h(x): the handle is the callable, no method lookup


@contextmanager
def _hot() -> Iterator[Batch]:
    with echo_service() as h:

        def batch(n: int) -> None:
            request = REQUEST
            with h.hot() as send:
                for _ in repeat(None, n):
                    send(request)

        yield batch


def _typed(tp: type, request: object) -> Callable[[], AbstractContextManager[Batch]]:
    """A typed-call row: the echo body declared to take ``tp``, sent ``request``."""

    @contextmanager
    def setup() -> Iterator[Batch]:
        with service(request_type=tp)(echo_body)() as h:
            if h.spec.check is None:  # pragma: no cover - guards the row's meaning
                raise RuntimeError(f"the typed {tp.__name__} row's service does not check")
            yield _calling(h, request)

    return setup


def _routed(validate: bool) -> Callable[[], AbstractContextManager[Batch]]:
    """A call through one keyed router, as the docs write it: ``route(key, payload)``."""

    @contextmanager
    def setup() -> Iterator[Batch]:
        with router({"echo": echo_body}, validate=validate)() as h:
            yield _calling(h, route("echo", REQUEST))

    return setup


@contextmanager
def _shared() -> Iterator[Batch]:
    with echo_service() as h:
        yield _calling(h.shared())


@contextmanager
def _pure_handle() -> Iterator[PureLocalHandle[Any, Any]]:
    """The echo service on the pure-Python handle (the accelerator's reference)."""
    with PureLocalHandle[Any, Any](echo_service.spec) as h:
        yield h


@contextmanager
def _pure_call() -> Iterator[Batch]:
    with _pure_handle() as h:
        yield _calling(h)


@contextmanager
def _pure_dunder_call() -> Iterator[Batch]:
    with _pure_handle() as h:
        yield _sending(h)


@contextmanager
def _pure_shared() -> Iterator[Batch]:
    with _pure_handle() as h:
        yield _calling(PureSharedHandle(h))


@contextmanager
def _stream_item() -> Iterator[Batch]:
    with streamer_service() as h:

        def batch(n: int) -> None:
            for _ in h.stream(n):
                pass

        yield batch


SPEED_ROWS: tuple[Candidate, ...] = (
    Candidate("loop", "empty loop (overhead)", "baseline", _loop),
    Candidate("function", "plain function call", "baseline", _function),
    Candidate("bare_send", "bare gen.send", "baseline", _bare_send),
    Candidate("call", "h.call(x)", "nanoservices", _handle_call),
    Candidate("dunder_call", "h(x)", "nanoservices", _handle_dunder_call),
    Candidate("hot", "h.hot() send (faster)", "nanoservices", _hot),
    *(
        Candidate(key, label, "nanoservices", _typed(tp, request))
        for key, label, tp, request in TYPED_REQUESTS
    ),
    Candidate("routed", "h.call(route(k, x))", "nanoservices", _routed(True)),
    Candidate(
        "routed_unchecked",
        "validate=False (faster)",
        "nanoservices",
        _routed(False),
    ),
    Candidate("shared", "h.shared().call(x)", "nanoservices", _shared),
    Candidate("stream_item", "one item of h.stream(n)", "nanoservices", _stream_item),
)

#: With the C accelerator active, the rows above time its handle; these time the
#: pure-Python handle in the same run, interleaved with them (the reference path).
PURE_ROWS: tuple[Candidate, ...] = (
    Candidate("call_pure", "h.call(x), pure", "nanoservices", _pure_call),
    Candidate("dunder_call_pure", "h(x), pure", "nanoservices", _pure_dunder_call),
    Candidate("shared_pure", "shared call, pure", "nanoservices", _pure_shared),
)

if ACCELERATED:
    SPEED_ROWS = SPEED_ROWS + PURE_ROWS
