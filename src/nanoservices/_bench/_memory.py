"""Memory rows: what one live, idle service costs, against the alternatives.

Two measures, because each sees what the other misses:

* **tracemalloc** (in this process): the Python heap each object graph holds,
  byte-exact, and blind to OS thread stacks;
* **RSS delta** (in a fresh child process, so earlier rows' freed memory cannot
  be reused and hide the cost): what the OS charges, stacks included, to page
  granularity.

Every kind keeps ``n`` live, idle instances of the same echo body: handles from
a factory, bare primed generators, asyncio tasks each blocked on its own queue,
and threads each blocked on its own ``queue.Queue``. The holder list is made
before measuring, so its slots are not charged to the instances.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import queue
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from nanoservices.services.hashing import md5

from ._services import echo_body, echo_service, md5_untyped_service

__all__ = ["MEMORY_KINDS", "MemoryKind", "rss_bytes", "rss_child", "rss_delta", "traced_delta"]

_STOP: Any = object()
_THREAD_PREFIX = "nanobench-idle-"

#: Fills ``holder`` with live instances for the duration of the block.
Build = Callable[[list[Any]], AbstractContextManager[None]]


@dataclass(frozen=True, slots=True)
class MemoryKind:
    """One memory row: what is kept alive, and how to build ``n`` of them
    (how many ``n`` is comes from the run's configuration)."""

    key: str
    label: str
    build: Build


@contextmanager
def _services(holder: list[Any]) -> Iterator[None]:
    factory = echo_service
    for i in range(len(holder)):
        holder[i] = factory()
    yield


@contextmanager
def _md5_services(holder: list[Any]) -> Iterator[None]:
    factory = md5  # the bundled service: ``str | bytes`` checked, and it may refuse
    for i in range(len(holder)):
        holder[i] = factory()
    yield


@contextmanager
def _md5_untyped(holder: list[Any]) -> Iterator[None]:
    factory = md5_untyped_service  # the same service, no request check
    for i in range(len(holder)):
        holder[i] = factory()
    yield


@contextmanager
def _generators(holder: list[Any]) -> Iterator[None]:
    for i in range(len(holder)):
        gen = echo_body()
        next(gen)
        holder[i] = gen
    yield


async def _idle_task(inbox: asyncio.Queue[Any]) -> None:
    send = echo_body()
    next(send)
    while (request := await inbox.get()) is not _STOP:
        send.send(request)


@contextmanager
def _tasks(holder: list[Any]) -> Iterator[None]:
    loop = asyncio.new_event_loop()
    tasks: list[asyncio.Task[None]] = []  # 8 bytes a task (under 0.2%): charged to them
    try:
        for i in range(len(holder)):
            inbox: asyncio.Queue[Any] = asyncio.Queue()
            tasks.append(loop.create_task(_idle_task(inbox)))
            holder[i] = inbox
        loop.run_until_complete(asyncio.sleep(0))  # every task runs to its get()
        yield
    finally:
        for inbox in holder:
            if inbox is not None:
                inbox.put_nowait(_STOP)
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks))
        loop.close()


def _idle_thread(inbox: queue.Queue[Any]) -> None:
    send = echo_body()
    next(send)
    while (request := inbox.get()) is not _STOP:
        send.send(request)


@contextmanager
def _threads(holder: list[Any]) -> Iterator[None]:
    threads: list[threading.Thread] = []
    try:
        for i in range(len(holder)):
            inbox: queue.Queue[Any] = queue.Queue()
            thread = threading.Thread(
                target=_idle_thread, args=(inbox,), name=f"{_THREAD_PREFIX}{i}", daemon=True
            )
            thread.start()
            holder[i] = inbox
            threads.append(thread)
        yield
    finally:
        for inbox in holder:
            if inbox is not None:
                inbox.put(_STOP)
        for thread in threads:
            thread.join()


MEMORY_KINDS: tuple[MemoryKind, ...] = (
    MemoryKind("generator", "bare primed generator", _generators),
    MemoryKind("service", "nanoservice (factory handle)", _services),
    MemoryKind("md5", "typed service (bundled md5)", _md5_services),
    MemoryKind("md5_untyped", "the md5 body, untyped", _md5_untyped),
    MemoryKind("asyncio_task", "asyncio task blocked on Queue", _tasks),
    MemoryKind("thread", "thread blocked on queue.Queue", _threads),
)


def kind(key: str) -> MemoryKind:
    """The memory kind called ``key``."""
    for candidate in MEMORY_KINDS:
        if candidate.key == key:
            return candidate
    raise KeyError(key)


def traced_delta(build: Build, n: int) -> int:
    """Bytes of Python heap that ``n`` live instances hold (tracemalloc)."""
    holder: list[Any] = [None] * n
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with build(holder):
            gc.collect()
            used = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()  # before the teardown: tracing slows it a lot
    finally:
        tracemalloc.stop()
        holder.clear()
    return used


def rss_bytes() -> int | None:
    """This process's resident set size, or None where /proc is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def rss_child(key: str, n: int) -> None:
    """Run in a fresh process: print ``{"delta": ..., "total": ...}`` (bytes)
    for ``n`` live instances of kind ``key``."""
    build = kind(key).build
    holder: list[Any] = [None] * n
    gc.collect()
    before = rss_bytes()
    with build(holder):
        gc.collect()
        after = rss_bytes()
    if before is None or after is None:
        print(json.dumps({"delta": None, "total": None}))
    else:
        print(json.dumps({"delta": after - before, "total": after}))


def rss_delta(key: str, n: int, timeout: float = 300.0) -> tuple[int | None, int | None]:
    """(RSS growth, total RSS) in bytes of a fresh process holding ``n`` live
    instances of kind ``key``; ``(None, None)`` where RSS cannot be read."""
    code = f"from nanoservices._bench._memory import rss_child; rss_child({key!r}, {n})"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=True
    )
    reply = json.loads(done.stdout.strip().splitlines()[-1])
    return reply["delta"], reply["total"]
