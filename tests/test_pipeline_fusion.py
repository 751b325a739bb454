"""Fused plain stages (issue 15): adjacent ``transform``/``keep``/``each`` stages run
as one generator, and behave exactly as the separate stages would, errors included."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from nanoservices.compose._pipeline import (
    Push,
    StageError,
    broadcast,
    collect,
    each,
    keep,
    pipeline,
    stage,
    transform,
)


def fails_on(bad: int) -> Any:
    def check(x: int) -> int:
        if x == bad:
            raise ValueError(f"bad {x}")
        return x

    return check


def plus(n: int) -> Any:
    return lambda x: x + n


def generators(running: Any) -> int:
    """How many stage generators run (private: fusion is invisible otherwise)."""
    return len(running._stages)


def test_adjacent_plain_stages_run_as_one_generator() -> None:
    p = transform(plus(1)) | keep(lambda x: x % 2) | transform(plus(10)) | collect()
    with p.open() as running:
        assert generators(running) == 1  # all four: collect() is plain too
        running.feed(range(6))
    assert running.results == {"collect": [11, 13, 15]}


def test_a_fused_pipeline_lists_every_stage_by_name() -> None:
    p = transform(plus(1), name="one") | keep(bool, name="truthy") | transform(str) | collect()
    with p.open() as running:
        assert running.stages == ("one", "truthy", "transform(str)", "collect")


@pytest.mark.parametrize("position", [0, 1, 2, 3, 4])
def test_an_error_in_a_fused_transform_names_that_stage(position: int) -> None:
    stages = [transform(plus(0), name=f"t{i}") for i in range(5)]
    stages[position] = transform(fails_on(3), name=f"bad{position}")
    p = pipeline(*stages, collect(), name="p")
    running = p.open()
    assert generators(running) == 1
    with pytest.raises(StageError) as info:
        running.feed([1, 2, 3, 4])
    assert (info.value.stage, info.value.request) == (f"bad{position}", 3)
    assert isinstance(info.value.__cause__, ValueError)
    # the collect() fused after it died with it, yet its items are the result,
    # as the separate stage's would be
    assert running.results == {"collect": [1, 2]}


def test_an_error_in_a_fused_keep_names_the_keep_not_its_neighbours() -> None:
    def picky(x: int) -> bool:
        if x == 2:
            raise KeyError(x)
        return True

    p = transform(plus(1)) | keep(picky) | transform(plus(1)) | collect()
    with pytest.raises(StageError) as info:
        p.run([0, 1, 2])
    assert info.value.stage == "keep(picky)"
    assert info.value.request == 1


def test_an_error_in_a_fused_each_names_the_each() -> None:
    def sink(x: int) -> None:
        if x > 1:
            raise OSError("disk full")

    with pytest.raises(StageError) as info:
        (transform(plus(1)) | each(sink)).run([0, 1])
    assert info.value.stage == "each(sink)"


def test_an_error_after_a_fused_group_names_the_later_stage() -> None:
    @stage
    def explodes(push: Push) -> Generator[None, Any, None]:
        while True:
            item = yield
            if item == 12:
                raise RuntimeError("boom")
            push(item)

    p = transform(plus(1)) | transform(plus(10)) | explodes() | collect()
    with pytest.raises(StageError) as info:
        p.run([0, 1, 2])
    assert info.value.stage == "explodes"
    assert info.value.request == 1


def test_an_error_in_a_fused_group_inside_a_branch_names_the_stage() -> None:
    p = broadcast(collect(), transform(plus(1)) | transform(lambda x: 1 / x)) | collect()
    with pytest.raises(StageError) as info:
        p.run([-1])
    assert info.value.stage == "broadcast[1] > transform(<lambda>)"


def test_a_custom_stage_between_plain_ones_is_not_fused_over() -> None:
    @stage
    def doubled(push: Push) -> Generator[None, Any, None]:
        while True:
            item = yield
            push(item)
            push(item)

    p = transform(plus(1)) | doubled() | keep(lambda x: x > 1) | transform(str) | collect()
    with p.open() as running:
        assert generators(running) == 3  # transform | doubled | keep+transform+collect
        running.feed([0, 1])
    assert running.results == {"collect": ["2", "2"]}


def test_a_lone_plain_stage_runs_unfused() -> None:
    p = transform(plus(1)) | collect()
    assert p.run([1]) == {"collect": [2]}


def test_fused_stages_keep_their_falsy_and_none_items() -> None:
    p = transform(lambda x: None if x else 0) | keep(lambda x: True) | collect()
    assert p.run([0, 1]) == {"collect": [0, None]}


def test_a_fused_collect_under_a_branch_keeps_its_label() -> None:
    p = broadcast(transform(plus(1)) | collect(name="one"), keep(bool) | collect(name="kept"))
    assert p.run([0, 1]) == {"broadcast[0] > one": [1, 2], "broadcast[1] > kept": [1]}


def test_closing_a_fused_pipeline_twice_gives_the_same_results() -> None:
    running = (transform(plus(1)) | collect()).open()
    running.feed([1])
    assert running.close() == {"collect": [2]}
    assert running.close() == {"collect": [2]}


def test_a_closed_pipeline_is_freed_without_the_garbage_collector() -> None:
    import gc

    p = transform(plus(1)) | keep(bool) | collect()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(20):
            with p.open() as running:
                running.feed(range(5))
        assert gc.collect() == 0  # no reference cycles left behind
    finally:
        if was_enabled:
            gc.enable()


def test_feed_and_send_into_a_fused_head_keep_one_order() -> None:
    p = transform(plus(1)) | keep(lambda x: x != 3) | collect()
    with p.open() as running:
        running.send(0)
        running.feed([1, 2, 3])
        running.send(10)
    assert running.results == {"collect": [1, 2, 4, 11]}


def test_feeding_a_closed_fused_pipeline_is_refused() -> None:
    from nanoservices import ServiceClosedError

    running = (transform(plus(1)) | collect()).open()
    running.close()
    with pytest.raises(ServiceClosedError):
        running.feed([1])


def test_a_feed_error_reports_the_item_that_went_in() -> None:
    p = transform(plus(1)) | transform(fails_on(5), name="bad") | collect()
    with pytest.raises(StageError) as info:
        p.run(range(10))
    assert (info.value.stage, info.value.request) == ("bad", 4)
