"""Nanoservices on Ray: the same generator functions, in Ray actors, behind the same handle.

A [`ServiceHostPool`][] starts a few ``ServiceHost`` actors; each hosts many
service instances (sessions), each a [`LocalHandle`][nanoservices.LocalHandle], so a
service on Ray is driven by the very protocol code that drives it locally.
``pool.start(factory, *args)`` places a new session on one of the actors and
returns a [`RayHandle`][]: call, stream, reset, throw, close, state, name,
context manager, like every handle. ``handle.aio()`` is its awaitable twin.

Faults: Ray restarts a dead host actor (``max_restarts``); the handle then
restarts its service on it under the service's restart policy, and the caller
gets one [`ServiceFailedError`][nanoservices.ServiceFailedError] naming the service (for the
request in flight, or the first request after the loss: the service's state is
gone), then service again. Errors cross Ray as nanoservices errors, with their
cause re-attached. ``timeout=`` (per operation, or the handle's default) bounds
how long an operation waits for its host: past it, [`RayTimeoutError`][].

Ray is imported only by this package (this face and the private modules it
re-exports from); install it with the ``ray`` extra.
"""

from __future__ import annotations

try:  # without the extra, say which one and how to install it, not "No module named 'ray'"
    import ray as _ray  # noqa: F401
except ModuleNotFoundError as _missing:
    from nanoservices.core.seam import missing_extra

    raise missing_extra("nanoservices.ray", "Ray", "ray", "ray") from _missing

from ._async import AsyncRayHandle as AsyncRayHandle
from ._async import AsyncRayStream as AsyncRayStream
from ._binding import RayBinding as RayBinding
from ._handle import RayHandle as RayHandle
from ._handle import RayStream as RayStream
from ._loopback import HEAD_ADDRESS as HEAD_ADDRESS
from ._loopback import LoopbackCluster as LoopbackCluster
from ._pool import DEFAULT_RESTART as DEFAULT_RESTART
from ._pool import ServiceHost as ServiceHost
from ._pool import ServiceHostPool as ServiceHostPool
from ._session import RayTimeoutError as RayTimeoutError

__all__ = [
    "HEAD_ADDRESS",
    "AsyncRayHandle",
    "AsyncRayStream",
    "LoopbackCluster",
    "RayBinding",
    "RayHandle",
    "RayStream",
    "RayTimeoutError",
    "ServiceHostPool",
]

# Clean tracebacks and reprs: the public classes report this module, not private ones.
for _cls in (
    AsyncRayHandle,
    AsyncRayStream,
    RayBinding,
    RayHandle,
    RayStream,
    RayTimeoutError,
    ServiceHostPool,
):
    _cls.__module__ = __name__
del _cls
