"""What the demo's sections share: the console, the services they started, the local WMO server.

Every service a section starts is registered here, so the demo can show their
statistics at the end and close them all, whatever happened in between.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console
from rich.markup import escape

from ._observe import Observer

if TYPE_CHECKING:
    from nanoservices.services.forecast import LocalWMOServer

__all__ = ["DemoContext", "SectionSkipped"]

HandleT = TypeVar("HandleT")


class SectionSkipped(Exception):
    """A section cannot run in this build (a service or an extra is missing)."""


@dataclass
class DemoContext:
    """The demo's shared state; close it (``with``) to stop everything it started."""

    console: Console
    workdir: Path
    db_path: Path | None = None
    people_count: int = 1000
    seed: int = 0
    observer: Observer = field(default_factory=Observer)
    handles: list[Any] = field(default_factory=list)
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _wmo: LocalWMOServer | None = None
    _wmo_transport: Any = None  # where loopback is down: the WWIS data answered in process

    def track(self, handle: HandleT) -> HandleT:
        """Watch ``handle``'s statistics and close it when the demo ends."""
        self.observer.watch(handle)
        self.handles.append(handle)
        self.stack.callback(_close_quietly, handle)
        return handle

    def wmo(self) -> LocalWMOServer:
        """The local WMO server (a ``LocalWMOServer``), started on first use."""
        if self._wmo is None:
            try:
                from nanoservices.services.forecast import LocalWMOServer
            except ImportError as exc:
                raise SectionSkipped(f"the local WMO server is not available ({exc})") from exc
            with self.console.status("starting the local WMO server on 127.0.0.1..."):
                server = LocalWMOServer()
                try:
                    _serve_on_loopback(server)
                    where = f"at {escape(server.base_url)}"
                except (OSError, RuntimeError) as exc:
                    # A sandbox with no network at all: no socket, same data and counts.
                    server.stop()
                    self._wmo_transport = server.transport()
                    where = f"in process: loopback is unavailable ({escape(str(exc))})"
            self.stack.callback(server.stop)
            self._wmo = server
            self.console.print(f"[dim]local WMO server (bundled WWIS data) {where}[/]")
        return self._wmo

    def forecast_options(self) -> dict[str, Any]:
        """How ``forecasts()`` reaches the local WMO data: ``base_url=``, or ``transport=``."""
        server = self.wmo()
        if self._wmo_transport is not None:
            return {"transport": self._wmo_transport}
        return {"base_url": server.url_format}

    def fetch_json(self, city_id: Any) -> dict[str, Any]:
        """A city's WWIS JSON from the local server: the talk's ``http_get_json``."""
        import httpx

        from nanoservices.services.forecast import DEFAULT_BASE_URL

        options = self.forecast_options()
        url = options.get("base_url", DEFAULT_BASE_URL).format(city_id=city_id)
        with httpx.Client(transport=options.get("transport"), timeout=10.0) as client:
            data: dict[str, Any] = client.get(url).raise_for_status().json()
        return data

    def __enter__(self) -> DemoContext:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stack.close()


def _serve_on_loopback(server: Any) -> None:
    """Start ``server`` on 127.0.0.1 and connect to it once (OSError when loopback is down).

    Binding can succeed where connecting cannot (a network namespace whose
    loopback is down), hence the connection.
    """
    server.start()
    host, _, port = server.base_url.removeprefix("http://").partition(":")
    socket.create_connection((host, int(port)), timeout=5).close()


def _close_quietly(handle: Any) -> None:
    with contextlib.suppress(Exception):
        handle.close()
