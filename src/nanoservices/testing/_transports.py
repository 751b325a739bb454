"""Start a service on one transport (local, async, HTTP, Ray) behind the sync interface.

The ``start_on_transport`` fixture runs a test once per transport, as the
project's own behaviour suite does (``tests/conformance/``), so a service's
author checks that it graduates cleanly: the test is written once against the
sync handle interface, and the async handle is reached through a facade.

- ``local``: ``factory(*args)``, in the test's thread.
- ``async``: an ``@aservice`` factory's handle, or ``to_async`` over a sync
  handle, driven on an event loop in a thread.
- ``http``: the factory served by uvicorn on 127.0.0.1 (a free port) in a
  thread, reached with ``connect()``; factory arguments travel as JSON.
- ``ray``: a ``ServiceHostPool`` actor on a local Ray; the factory must be
  importable (module level). Opt-in (``--nanoservices-ray``): Ray is heavy.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any, Final

from nanoservices import Handle
from nanoservices.observe import Recorder

from ._starter import ServiceStarter

__all__ = ["TRANSPORTS", "TransportStarter", "shutdown_ray_if_started"]

#: Every transport the fixture knows, in the order its tests run.
TRANSPORTS: Final = ("local", "async", "http", "ray")

_ray_started_here: list[bool] = []


class TransportStarter(ServiceStarter):
    """A [`ServiceStarter`][] that starts each service on ``transport``.

    What a transport needs (an event loop thread, a server per service, a Ray
    pool) is made on first use and stopped by [`close`][], after the handles.
    """

    __slots__ = ("_loop", "_pool", "_resources", "transport")

    def __init__(self, transport: str, events: Recorder | None = None) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}: one of {', '.join(TRANSPORTS)}")
        super().__init__(events)
        self.transport = transport
        self._resources = contextlib.ExitStack()
        self._loop: Any = None
        self._pool: Any = None

    def __call__(self, factory: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Start ``factory(*args, **kwargs)`` on this starter's transport."""
        start = getattr(self, f"_start_{self.transport}")
        return self.watch(start(factory, args, kwargs))

    def _start_local(self, factory: Callable[..., Any], args: Any, kwargs: Any) -> Handle[Any, Any]:
        from nanoservices.aio import AsyncServiceFactory

        if isinstance(factory, AsyncServiceFactory):
            raise TypeError(
                f"{factory!r} is an @aservice service: it has no sync handle to run locally "
                "(its async, http and ray runs are its graduation)"
            )
        handle: Handle[Any, Any] = factory(*args, **kwargs)
        return handle

    def _start_async(self, factory: Callable[..., Any], args: Any, kwargs: Any) -> Handle[Any, Any]:
        from nanoservices.aio import AsyncHandle, AsyncServiceFactory, to_async

        from ._loop import LoopThread, SyncFacade

        if self._loop is None:
            self._loop = LoopThread()
            self._resources.callback(self._loop.stop)
        runner = self._loop
        if isinstance(factory, AsyncServiceFactory):

            async def started() -> AsyncHandle[Any, Any]:
                return await factory(*args, **kwargs)

            return SyncFacade(runner, runner.run(started()))
        return SyncFacade(runner, to_async(factory(*args, **kwargs)))

    def _start_http(self, factory: Callable[..., Any], args: Any, kwargs: Any) -> Handle[Any, Any]:
        from nanoservices.http import Served, connect, running

        # The test is the server's operator: it chooses the factory arguments, as
        # ``nanoservices serve`` does (clients choose none by default).
        served = Served(factory, args=tuple(args), kwargs=dict(kwargs or {}))
        url = self._resources.enter_context(running([served]))
        return connect(url, served.name)

    def _start_ray(self, factory: Callable[..., Any], args: Any, kwargs: Any) -> Handle[Any, Any]:
        if self._pool is None:
            ensure_local_ray()
            from nanoservices.ray import ServiceHostPool

            self._pool = self._resources.enter_context(ServiceHostPool(1, num_cpus=0.1))
        handle: Handle[Any, Any] = self._pool.start(factory, *args, **kwargs)
        return handle

    def close(self) -> None:
        """Close the handles, then what the transport started (loop, servers, pool)."""
        try:
            super().close()
        finally:
            self._resources.close()


def ensure_local_ray() -> None:
    """Start a local Ray on loopback unless this process already has one.

    The workers get this process's ``sys.path``, so services defined in the
    test's own modules import there too.
    """
    import ray

    from nanoservices.ray import HEAD_ADDRESS

    if ray.is_initialized():
        return
    ray.init(
        address="local",  # a Ray of its own, never one found through RAY_ADDRESS or RAY_TMPDIR
        num_cpus=1,
        include_dashboard=False,
        # Ray turns the exact name 127.0.0.1 into the machine's outward address;
        # another loopback address it takes as given (see nanoservices.ray._loopback).
        _node_ip_address=HEAD_ADDRESS,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}},
    )
    _ray_started_here.append(True)


def shutdown_ray_if_started() -> None:
    """Shut down the local Ray if [`ensure_local_ray`][] started it."""
    if _ray_started_here:
        import ray

        ray.shutdown()
        _ray_started_here.clear()
