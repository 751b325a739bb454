"""Services over HTTP: ``nanoservices serve`` (Starlette on uvicorn) and remote handles.

Needs the ``http`` extra (starlette, uvicorn) to serve; the remote handles need
only httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._binding import RemoteBinding as RemoteBinding
from ._client import AsyncRemoteHandle as AsyncRemoteHandle
from ._client import AsyncRemoteStream as AsyncRemoteStream
from ._client import RemoteHandle as RemoteHandle
from ._client import RemoteStream as RemoteStream
from ._client import aconnect as aconnect
from ._client import connect as connect

if TYPE_CHECKING:
    from ._host import Served as Served
    from ._host import discover as discover
    from ._run import running as running
    from ._run import serve as serve
    from ._server import create_app as create_app

__all__ = [
    "AsyncRemoteHandle",
    "AsyncRemoteStream",
    "RemoteBinding",
    "RemoteHandle",
    "RemoteStream",
    "Served",
    "aconnect",
    "connect",
    "create_app",
    "discover",
    "running",
    "serve",
]


def __getattr__(name: str) -> Any:
    # The server's dependencies (starlette, uvicorn) load only when asked for.
    if name in ("Served", "discover"):
        from . import _host

        return getattr(_host, name)
    if name == "create_app":
        from ._server import create_app

        return create_app
    if name in ("serve", "running"):
        from . import _run

        return getattr(_run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
