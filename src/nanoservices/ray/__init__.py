"""Nanoservices on Ray: the same generator functions, in Ray actors, behind the same handle.

A :class:`ServiceHostPool` starts a few ``ServiceHost`` actors; each hosts many
service instances (sessions), each a :class:`~nanoservices.LocalHandle`, so a
service on Ray is driven by the very protocol code that drives it locally.
``pool.start(factory, *args)`` places a new session on one of the actors and
returns a :class:`RayHandle`: call, stream, reset, throw, close, state, name,
context manager, like every handle. ``handle.aio()`` is its awaitable twin.

Faults: Ray restarts a dead host actor (``max_restarts``); the handle then
restarts its service on it under the service's restart policy, and the caller
gets one :class:`~nanoservices.ServiceFailedError` naming the service (for the
request in flight, or the first request after the loss: the service's state is
gone), then service again. Errors cross Ray as nanoservices errors, with their
cause re-attached.

Ray is imported only by this module and the private ``_ray_*`` modules it
re-exports from; install it with the ``ray`` extra.
"""

from __future__ import annotations

from ._async import AsyncRayHandle as AsyncRayHandle
from ._async import AsyncRayStream as AsyncRayStream
from ._binding import RayBinding as RayBinding
from ._handle import RayHandle as RayHandle
from ._handle import RayStream as RayStream
from ._pool import DEFAULT_RESTART as DEFAULT_RESTART
from ._pool import ServiceHost as ServiceHost
from ._pool import ServiceHostPool as ServiceHostPool

__all__ = [
    "AsyncRayHandle",
    "AsyncRayStream",
    "RayBinding",
    "RayHandle",
    "RayStream",
    "ServiceHostPool",
]

# Clean tracebacks and reprs: the public classes report this module, not private ones.
for _cls in (AsyncRayHandle, AsyncRayStream, RayBinding, RayHandle, RayStream, ServiceHostPool):
    _cls.__module__ = __name__
del _cls
