"""Deadlines on Ray: the timeout error is a DeadlineExceeded, and the deadline travels.

The behaviour on every transport is ``tests/conformance/test_contract_deadlines.py``;
here: what only Ray shows (a request that waited in the host actor's queue past
its deadline is refused there without running). No timed asserts.
"""

from __future__ import annotations

import asyncio
import pickle

import pytest

from nanoservices import DeadlineExceeded, TransportError
from nanoservices.ray import RayTimeoutError, ServiceHostPool

pytestmark = pytest.mark.ray

PATIENT = "nanoservices.examples.basics:patient"


def test_the_ray_timeout_error_is_a_deadline_exceeded_that_pickles() -> None:
    error = RayTimeoutError("svc", "no answer within 0.5 s", ["nap", 1], 0.5)
    assert isinstance(error, DeadlineExceeded)
    assert isinstance(error, TransportError)
    assert isinstance(error, TimeoutError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RayTimeoutError
    assert (copy.service, copy.request, copy.timeout, str(copy)) == (
        "svc", ["nap", 1], 0.5, str(error),
    )  # fmt: skip


def test_a_request_that_waited_past_its_deadline_in_the_hosts_queue_never_runs(
    pool: ServiceHostPool,
) -> None:
    async def main(busy: object, queued: object) -> None:
        napping = asyncio.ensure_future(busy.call(["nap", 1.0]))  # type: ignore[attr-defined]
        await asyncio.sleep(0)  # its request is sent: the host runs it first
        with pytest.raises(DeadlineExceeded):
            await queued.call(["note", "ran"], timeout=0.1)  # type: ignore[attr-defined]
        assert await napping == "rested"
        assert await queued.call("notes") == []  # type: ignore[attr-defined]

    busy = pool.start(PATIENT, host=0)
    queued = pool.start(PATIENT, host=0)  # the same host actor: its methods take turns
    try:
        asyncio.run(main(busy.aio(), queued.aio()))
    finally:
        busy.close()
        queued.close()
