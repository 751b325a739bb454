"""The rows for what people would use instead: the same echo body behind a
thread and two ``queue.Queue``s, an asyncio task and two ``asyncio.Queue``s, a
process and a ``multiprocessing`` pipe, and a Pykka actor.

Each one is a full round trip (request there, reply back), as a call is. Every
setup tears down what it started (threads joined, loop closed, process joined)
so a run leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import repeat
from multiprocessing.connection import Connection
from typing import Any

from ._services import REQUEST, primed_send
from ._timing import Batch, Candidate

__all__ = ["MECHANISM_ROWS", "pipe_worker"]

_STOP: Any = object()
_JOIN_TIMEOUT = 10.0


def _queue_worker(inbox: queue.Queue[Any], outbox: queue.Queue[Any]) -> None:
    send = primed_send()
    while (request := inbox.get()) is not _STOP:
        outbox.put(send(request))


@contextmanager
def _thread_queue() -> Iterator[Batch]:
    inbox: queue.Queue[Any] = queue.Queue()
    outbox: queue.Queue[Any] = queue.Queue()
    worker = threading.Thread(target=_queue_worker, args=(inbox, outbox), daemon=True)
    worker.start()

    def batch(n: int) -> None:
        put, get, request = inbox.put, outbox.get, REQUEST
        for _ in repeat(None, n):
            put(request)
            get()

    try:
        yield batch
    finally:
        inbox.put(_STOP)
        worker.join(_JOIN_TIMEOUT)


async def _task_worker(inbox: asyncio.Queue[Any], outbox: asyncio.Queue[Any]) -> None:
    send = primed_send()
    while (request := await inbox.get()) is not _STOP:
        outbox.put_nowait(send(request))


@contextmanager
def _asyncio_queue() -> Iterator[Batch]:
    loop = asyncio.new_event_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    outbox: asyncio.Queue[Any] = asyncio.Queue()
    worker = loop.create_task(_task_worker(inbox, outbox))

    async def client(n: int) -> None:
        put, get, request = inbox.put_nowait, outbox.get, REQUEST
        for _ in repeat(None, n):
            put(request)
            await get()

    def batch(n: int) -> None:
        loop.run_until_complete(client(n))

    try:
        yield batch
    finally:
        inbox.put_nowait(_STOP)
        loop.run_until_complete(worker)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def pipe_worker(conn: Connection) -> None:
    """The child process of the pipe row: echo every request until ``None``."""
    send = primed_send()
    try:
        conn.send("ready")
        while (request := conn.recv()) is not None:
            conn.send(send(request))
    finally:
        conn.close()


@contextmanager
def _process_pipe() -> Iterator[Batch]:
    # spawn, not fork: other rows' threads are alive in this process
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=pipe_worker, args=(child,), daemon=True)
    process.start()
    child.close()
    try:
        if parent.recv() != "ready":  # pragma: no cover - a broken child
            raise RuntimeError("the pipe row's child process did not start")

        def batch(n: int) -> None:
            send, recv, request = parent.send, parent.recv, REQUEST
            for _ in repeat(None, n):
                send(request)
                recv()

        yield batch
    finally:
        try:
            parent.send(None)
        finally:
            process.join(_JOIN_TIMEOUT)
            if process.is_alive():  # pragma: no cover - a stuck child
                process.kill()
                process.join()
            process.close()
            parent.close()


@contextmanager
def _pykka_actor() -> Iterator[Batch]:
    import pykka  # optional (the ``bench`` extra): imported only for this row

    class EchoActor(pykka.ThreadingActor):
        """The echo body behind an actor's mailbox."""

        def __init__(self) -> None:
            super().__init__()
            self._send = primed_send()

        def on_receive(self, message: Any) -> Any:
            return self._send(message)

    ref = EchoActor.start()

    def batch(n: int) -> None:
        ask, request = ref.ask, REQUEST
        for _ in repeat(None, n):
            ask(request)

    try:
        yield batch
    finally:
        ref.stop()


MECHANISM_ROWS: tuple[Candidate, ...] = (
    Candidate("thread_queue", "thread + queue.Queue", "alternative", _thread_queue, slow=True),
    Candidate("asyncio_queue", "asyncio task + Queue", "alternative", _asyncio_queue, slow=True),
    Candidate("process_pipe", "multiprocessing pipe", "alternative", _process_pipe, slow=True),
    Candidate("pykka_ask", "Pykka actor ask", "alternative", _pykka_actor, slow=True),
)
