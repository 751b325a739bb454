"""Push pipelines: chaining, fan-out, joins, ordered close, errors naming the stage."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from nanoservices import ServiceClosedError
from nanoservices.compose._pipeline import (
    Push,
    StageError,
    broadcast,
    collect,
    each,
    keep,
    merge,
    pipeline,
    stage,
    transform,
)


@stage
def logged(push: Push, tag: str, log: list[str]) -> Generator[None, Any, None]:
    """Passes items on; logs its close."""
    try:
        while True:
            push((yield))
    finally:
        log.append(tag)


@stage
def batches(push: Push, size: int) -> Generator[None, Any, None]:
    """Pushes lists of ``size`` items; flushes the rest when closed."""
    batch: list[Any] = []
    try:
        while True:
            batch.append((yield))
            if len(batch) == size:
                push(batch)
                batch = []
    finally:
        if batch:
            push(batch)


def test_items_flow_through_the_stages_in_order() -> None:
    p = keep(lambda x: x % 2) | transform(lambda x: x * 10) | collect()
    assert p.run(range(6)) == {"collect": [10, 30, 50]}


def test_pipeline_function_is_the_same_chain() -> None:
    p = pipeline(transform(str), collect(), name="strs")
    assert p.run([1, 2]) == {"collect": ["1", "2"]}
    assert p.name == "strs"


def test_a_definition_opens_many_independent_times() -> None:
    p = transform(abs) | collect()
    with p.open() as one, p.open() as two:
        one.send(-1)
        two.send(-2)
    assert (one.results, two.results) == ({"collect": [1]}, {"collect": [2]})


def test_each_calls_a_function_per_item() -> None:
    seen: list[int] = []
    (transform(lambda x: x + 1) | each(seen.append)).run([1, 2])
    assert seen == [2, 3]


def test_closing_closes_every_stage_upstream_first() -> None:
    log: list[str] = []
    p = logged("a", log) | logged("b", log) | logged("c", log)
    p.open().close()
    assert log == ["a", "b", "c"]


def test_a_stage_may_flush_downstream_when_closed() -> None:
    assert (batches(2) | collect()).run(range(5)) == {"collect": [[0, 1], [2, 3], [4]]}


def test_broadcast_sends_each_item_to_every_branch_and_joins_after() -> None:
    p = broadcast(transform(lambda x: ("a", x)), transform(lambda x: ("b", x))) | collect()
    assert p.run([1, 2]) == {"collect": [("a", 1), ("b", 1), ("a", 2), ("b", 2)]}


def test_broadcast_to_separate_sinks() -> None:
    p = broadcast(keep(bool) | collect(name="truthy"), collect(name="all"))
    assert p.run([0, 1]) == {"broadcast[0] > truthy": [1], "broadcast[1] > all": [0, 1]}


def test_broadcast_branches_close_in_order_before_what_follows() -> None:
    log: list[str] = []
    p = broadcast(logged("a", log), logged("b", log)) | logged("after", log)
    with p.open() as running:
        assert running.stages == ("broadcast[0] > logged", "broadcast[1] > logged", "logged")
    assert log == ["a", "b", "after"]


def test_merge_joins_several_inputs_into_one_downstream() -> None:
    p = merge(transform(lambda x: ("L", x)), transform(lambda x: ("R", x))) | collect()
    with p.open() as running:
        left, right = running.inputs
        left(1)
        right(2)
        running.feed([3], input=1)
    assert running.results == {"collect": [("L", 1), ("R", 2), ("R", 3)]}


def test_merge_only_starts_a_pipeline() -> None:
    with pytest.raises(ValueError, match="merge"):
        collect() | merge(collect())


def test_an_error_names_the_stage_and_closes_the_rest_in_order() -> None:
    log: list[str] = []

    def boom(x: int) -> int:
        if x == 3:
            raise KeyError(x)
        return x

    p = pipeline(logged("before", log), transform(boom), logged("after", log), collect(), name="p")
    running = p.open()
    with pytest.raises(StageError) as info:
        running.feed([1, 2, 3, 4])
    error = info.value
    assert (error.service, error.stage, error.request) == ("p", "transform(boom)", 3)
    assert isinstance(error.__cause__, KeyError)
    assert log == ["before", "after"]
    assert running.results == {"collect": [1, 2]}
    with pytest.raises(ServiceClosedError):
        running.send(5)


def test_an_error_in_a_branch_names_the_branch() -> None:
    p = broadcast(collect(), transform(lambda x: 1 / x)) | collect()
    with pytest.raises(StageError) as info:
        p.run([0])
    assert info.value.stage == "broadcast[1] > transform(<lambda>)"


def test_an_error_while_closing_is_raised_after_every_stage_closed() -> None:
    log: list[str] = []

    @stage
    def fails_on_close(push: Push) -> Generator[None, Any, None]:
        try:
            while True:
                push((yield))
        finally:
            raise OSError("flush failed")

    running = (fails_on_close().named("flaky") | logged("last", log)).open()
    with pytest.raises(StageError, match="flaky") as info:
        running.close()
    assert isinstance(info.value.__cause__, OSError)
    assert log == ["last"]
    assert running.close() == {}  # closing twice is fine


def test_stage_error_survives_pickling() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(StageError("p", "s", 1)))
    assert (error.service, error.stage, error.request) == ("p", "s", 1)


def test_a_stage_that_is_not_a_generator_is_refused() -> None:
    with pytest.raises(TypeError, match="generator"):
        stage(lambda push: None)().__or__(collect()).open()  # type: ignore[arg-type,return-value]
