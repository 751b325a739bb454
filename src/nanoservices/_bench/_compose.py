"""The composition rows: routers and pipelines, timed interleaved with their baselines.

A router's cost per level is a difference of two rows (a call through the
router minus a direct call) in bare sends; measured one after the other, a
noisy neighbour during one row and not the other can make it anything (one
sequential run reported 0.08). So every composition row is a [`Candidate`][]
timed round-robin with the bare send and the direct call it is compared to
(see ``_timing.interleave``), and the ratios use the medians of that one run.

Rows:

* routers: a menu (``yield from``), a keyed router as a bare generator, hosted
  in a handle (with and without its request check), two nested routers;
* pipelines: the same five functions by hand against a 5-stage ``transform``
  pipeline feeding ``collect()`` (items per batch, one pipeline opened per batch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from nanoservices.compose import Router, collect, menu, router, transform

from ._services import REQUEST, echo_body, echo_service, primed_send
from ._timing import Batch, Candidate, Sample, calibrate, interleave, summarize

__all__ = ["BENCH_ROWS", "COMPOSE_ROWS", "ComposeResult", "measure_compose"]


def _sending(fn: Callable[[Any], Any], request: Any) -> Batch:
    def batch(n: int) -> None:
        for _ in repeat(None, n):
            fn(request)

    return batch


def _echo_until_falsy() -> Iterator[Any]:
    reply = None
    while request := (yield reply):
        reply = request


@contextmanager
def _bare_send() -> Iterator[Batch]:
    yield _sending(primed_send(), REQUEST)


@contextmanager
def _direct_call() -> Iterator[Batch]:
    with echo_service() as h:
        yield _sending(h.call, REQUEST)


@contextmanager
def _menu() -> Iterator[Batch]:
    with menu({"echo": _echo_until_falsy})() as h:
        h("echo")
        yield _sending(h.call, REQUEST)


@contextmanager
def _router_bare() -> Iterator[Batch]:
    gen = Router({"echo": echo_body})()
    next(gen)
    try:
        yield _sending(gen.send, ("echo", REQUEST))
    finally:
        gen.close()


@contextmanager
def _router_handle(validate: bool) -> Iterator[Batch]:
    with router({"echo": echo_body}, validate=validate)() as h:
        yield _sending(h.call, ("echo", REQUEST))


@contextmanager
def _two_routers(validate: bool) -> Iterator[Batch]:
    inner = router({"echo": echo_body}, name="inner")
    with router({"in": inner}, name="outer", validate=validate)() as h:
        yield _sending(h.call, ("in", ("echo", REQUEST)))


def _fns() -> tuple[Callable[[int], int], ...]:
    return (
        lambda x: x + 1,
        lambda x: x * 3,
        lambda x: x - 2,
        lambda x: x ^ 5,
        lambda x: x & 0xFFFF,
    )


@contextmanager
def _by_hand() -> Iterator[Batch]:
    f1, f2, f3, f4, f5 = _fns()
    sink: list[int] = []

    def batch(n: int) -> None:
        sink.clear()
        append = sink.append
        for x in range(n):
            append(f5(f4(f3(f2(f1(x))))))

    yield batch


@contextmanager
def _pipeline() -> Iterator[Batch]:
    f1, f2, f3, f4, f5 = _fns()
    definition = transform(f1) | transform(f2) | transform(f3) | transform(f4) | transform(f5)
    definition = definition | collect()

    def batch(n: int) -> None:
        with definition.open() as running:
            running.feed(range(n))

    batch(1)  # the first open builds the fused stage's code: not what a batch costs
    yield batch


COMPOSE_ROWS: tuple[Candidate, ...] = (
    Candidate("bare_send", "bare gen.send", "baseline", _bare_send),
    Candidate("call", "direct handle call", "baseline", _direct_call),
    Candidate("menu", "menu (yield from), handle", "nanoservices", _menu),
    Candidate("router_bare", "keyed router, bare generator", "nanoservices", _router_bare),
    Candidate(
        "router", "keyed router, handle", "nanoservices", lambda: _router_handle(validate=False)
    ),
    Candidate(
        "router_checked",
        "keyed router, handle + check",
        "nanoservices",
        lambda: _router_handle(validate=True),
    ),
    Candidate(
        "router2", "2 keyed routers, handle", "nanoservices", lambda: _two_routers(validate=False)
    ),
    Candidate(
        "router2_checked",
        "2 keyed routers, handle + check",
        "nanoservices",
        lambda: _two_routers(validate=True),
    ),
    Candidate("by_hand", "5 functions by hand", "baseline", _by_hand),
    Candidate("pipeline", "5-stage pipeline", "nanoservices", _pipeline),
)


#: The composition rows ``nanoservices bench`` adds to its speed table (its own
#: rows already time the bare send, the direct call and one router).
_BENCH_LABELS = {
    "menu": "menu (yield from)",
    "router2_checked": "2 routers nested",
    "router2": "2 routers, validate=False",
    "by_hand": "5 functions, per item",
    "pipeline": "5-stage pipe, per item",
}
BENCH_ROWS: tuple[Candidate, ...] = tuple(
    Candidate(row.key, _BENCH_LABELS[row.key], row.group, row.setup)
    for row in COMPOSE_ROWS
    if row.key in _BENCH_LABELS
)


@dataclass(frozen=True, slots=True)
class ComposeResult:
    """The composition rows' medians (ns per call or per item) and the ratios."""

    samples: dict[str, Sample]
    labels: dict[str, str]

    def ns(self, key: str) -> float:
        """Median ns per call (routers) or per item (pipelines) of row ``key``."""
        return self.samples[key].median_ns

    @property
    def ratios(self) -> dict[str, float]:
        """The headline ratios: costs per level in bare sends, pipeline vs hand."""
        bare, direct, one = self.ns("bare_send"), self.ns("call"), self.ns("router")
        return {
            "menu_level_cost_in_bare_sends": (self.ns("menu") - direct) / bare,
            "router_level_cost_in_bare_sends": (one - direct) / bare,
            "second_level_cost_in_bare_sends": (self.ns("router2") - one) / bare,
            "check_cost_in_bare_sends": (self.ns("router_checked") - one) / bare,
            "pipeline_throughput_vs_hand": self.ns("by_hand") / self.ns("pipeline"),
        }


def measure_compose(
    *,
    rounds: int,
    target_batch_ns: int = 2_000_000,
    min_batch: int = 1_000,
    max_batch: int = 10_000,
    on_round: Callable[[int, int], None] | None = None,
) -> ComposeResult:
    """Set every composition row up, size its batch, time them all interleaved."""
    batches: dict[str, Batch] = {}
    labels: dict[str, str] = {}
    with _opened(batches, labels):
        sizes = {
            key: calibrate(batch, target_batch_ns, min_batch, max_batch)
            for key, batch in batches.items()
        }
        times = interleave(batches, sizes, rounds, on_round)
    return ComposeResult({key: summarize(times[key], sizes[key]) for key in batches}, labels)


@contextmanager
def _opened(batches: dict[str, Batch], labels: dict[str, str]) -> Iterator[None]:
    with ExitStack() as stack:
        for row in COMPOSE_ROWS:
            batches[row.key] = stack.enter_context(row.setup())
            labels[row.key] = row.label
        yield
