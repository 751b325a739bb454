"""A ``for`` loop over a native stream whose source is a generator runs through
one small generator (no handle method per item); it must keep every promise of
the item-by-item path: state, errors, early exits, a named stream kept open."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from nanoservices import NO_REPLY, ServiceFailedError, State, service, streamed
from nanoservices.examples.basics import countdown

closed: list[int] = []


def _numbers(n: int, fail_at: int | None = None) -> Iterator[int]:
    try:
        for i in range(n):
            if i == fail_at:
                raise ValueError(f"bad item {i}")
            yield i
    finally:
        closed.append(n)


@service
def numbers() -> Generator[object, tuple[int, int | None], None]:
    request = yield NO_REPLY
    while True:
        n, fail_at = request
        request = yield streamed(_numbers(n, fail_at))


def test_a_for_loop_reads_every_item_and_frees_the_service() -> None:
    with numbers() as h:
        assert list(h.stream((5, None))) == [0, 1, 2, 3, 4]
        assert h.state is State.READY
        assert list(h.stream((2, None))) == [0, 1]  # the service still serves


def test_breaking_out_of_an_unnamed_stream_closes_its_source_at_once() -> None:
    closed.clear()
    with numbers() as h:
        for i in h.stream((100, None)):
            if i == 3:
                break
        assert closed == [100]
        assert h.state is State.READY


def test_breaking_out_of_a_named_stream_keeps_it_open_where_it_was() -> None:
    closed.clear()
    with numbers() as h:
        items = h.stream((6, None))
        for i in items:
            if i == 2:
                break
        assert h.state is State.STREAMING
        assert closed == []
        assert next(items) == 3
        assert list(items) == [4, 5]
        assert h.state is State.READY


def test_a_source_that_raises_fails_the_stream_not_the_service() -> None:
    with numbers() as h:
        seen: list[int] = []

        def read_all() -> None:
            for i in h.stream((5, 2)):
                seen.append(i)

        with pytest.raises(ServiceFailedError, match="bad item 2") as caught:
            read_all()
        assert seen == [0, 1]
        assert isinstance(caught.value.__cause__, ValueError)
        assert h.state is State.READY


def test_a_reset_between_items_ends_the_loop() -> None:
    with numbers() as h:
        seen: list[int] = []
        for i in h.stream((10, None)):
            seen.append(i)
            if i == 1:
                h.reset()
        assert seen == [0, 1]
        assert h.state is State.READY


class Pulls:
    """A source that is not a generator (it cannot be closed), counting its pulls."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.pulled = 0
        self.n = n
        self.fail_at = fail_at

    def __iter__(self) -> Pulls:
        return self

    def __next__(self) -> int:
        if self.pulled == self.n:
            raise StopIteration
        if self.pulled == self.fail_at:
            raise ValueError(f"bad item {self.pulled}")
        self.pulled += 1
        return self.pulled - 1


@service
def pulls() -> Generator[object, Pulls, None]:
    source = yield NO_REPLY
    while True:
        source = yield streamed(source)


def test_a_source_that_cannot_be_closed_runs_through_the_fast_path_too() -> None:
    with pulls() as h:
        items = h.stream(Pulls(3))
        assert iter(items) is not items
        assert list(items) == [0, 1, 2]
        assert h.state is State.READY


@pytest.mark.parametrize("end", ["reset", "throw", "restart", "cancel"])
def test_ending_a_stream_between_items_ends_a_loop_over_a_source_that_cannot_be_closed(
    end: str,
) -> None:
    with pulls() as h:
        source = Pulls(10)
        items = h.stream(source)
        seen: list[int] = []
        for i in items:
            seen.append(i)
            if i == 1:
                if end == "throw":
                    with pytest.raises(ServiceFailedError):
                        h.throw(KeyError("x"))
                    h.restart()  # the body does not catch it: it failed
                else:
                    getattr(items if end == "cancel" else h, end)()
        assert seen == [0, 1]
        assert source.pulled == 2  # not one item more
        assert h.state is State.READY


def test_a_source_that_cannot_be_closed_and_raises_fails_the_stream_not_the_service() -> None:
    with pulls() as h:
        seen: list[int] = []

        def read_all() -> None:
            for i in h.stream(Pulls(5, fail_at=2)):
                seen.append(i)

        with pytest.raises(ServiceFailedError, match="bad item 2"):
            read_all()
        assert seen == [0, 1]
        assert h.state is State.READY


def test_breaking_out_of_a_source_that_cannot_be_closed_frees_the_service() -> None:
    with pulls() as h:
        for i in h.stream(Pulls(10)):
            if i == 2:
                break
        assert h.state is State.READY  # the dropped stream was cancelled
        items = h.stream(Pulls(5))
        for i in items:
            if i == 1:
                break
        assert h.state is State.STREAMING  # a stream still held goes on where it was
        assert list(items) == [2, 3, 4]
        assert h.state is State.READY


def test_the_fast_path_is_taken_for_generator_sources() -> None:
    with numbers() as h:
        items = h.stream((3, None))
        assert iter(items) is not items  # the loop runs through its own generator
        items.cancel()
    with countdown() as h:
        items = h.stream(3)
        fast = iter(items)
        assert list(fast) == [3, 2, 1]


def test_a_hooked_handle_sees_every_item() -> None:
    from nanoservices.observe import Recorder, trace

    recorder = Recorder()
    with numbers() as h, trace(h, recorder):
        assert list(h.stream((3, None))) == [0, 1, 2]
    assert [e.value for e in recorder.events if e.kind.name == "ITEM"] == [0, 1, 2]
