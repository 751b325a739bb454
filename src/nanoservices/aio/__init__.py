"""asyncio services and handles: the same operations as the sync handle, awaited.

``@aservice`` turns an async generator function into a factory of
[`AsyncHandle`][]; [`to_async`][] lets async code use a sync service's
handle. ``AsyncHandleProtocol`` is the async twin of
[`Handle`][nanoservices.core.Handle]: every async handle kind satisfies it.
The engines behind the handles (``AsyncGenEngine``, ``SyncEngine``) are public
for transports that host a service (the HTTP server).
"""

from nanoservices.core.seam import publish

from ._engine import AsyncGenEngine as AsyncGenEngine
from ._handle import AsyncHandle as AsyncHandle
from ._handle import AsyncHandleProtocol as AsyncHandleProtocol
from ._handle import AsyncReplyStream as AsyncReplyStream
from ._handle import AsyncServiceFactory as AsyncServiceFactory
from ._handle import Starting as Starting
from ._handle import aservice as aservice
from ._handle import to_async as to_async
from ._protocol import astreamed as astreamed
from ._sync_engine import SyncEngine as SyncEngine

__all__ = [
    "AsyncGenEngine",
    "AsyncHandle",
    "AsyncHandleProtocol",
    "AsyncReplyStream",
    "AsyncServiceFactory",
    "Starting",
    "SyncEngine",
    "aservice",
    "astreamed",
    "to_async",
]

publish(__name__, __all__, globals())
