"""What the demo's sections share: the console, the services they started, the local WMO server.

Every service a section starts is registered here, so the demo can show their
statistics at the end and close them all, whatever happened in between.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape

from ._observe import Observer

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
    _wmo: Any = None

    def track(self, handle: HandleT) -> HandleT:
        """Watch ``handle``'s statistics and close it when the demo ends."""
        self.observer.watch(handle)
        self.handles.append(handle)
        self.stack.callback(_close_quietly, handle)
        return handle

    def wmo(self) -> Any:
        """The local WMO server (a ``LocalWMOServer``), started on first use."""
        if self._wmo is None:
            try:
                from nanoservices.services.forecast import LocalWMOServer
            except ImportError as exc:
                raise SectionSkipped(f"the local WMO server is not available ({exc})") from exc
            with self.console.status("starting the local WMO server on 127.0.0.1..."):
                server = LocalWMOServer().start()
            self.stack.callback(server.stop)
            self._wmo = server
            self.console.print(
                f"[dim]local WMO server (bundled WWIS data) at {escape(server.base_url)}[/]"
            )
        return self._wmo

    def fetch_json(self, city_id: Any) -> dict[str, Any]:
        """A city's WWIS JSON from the local server: the talk's ``http_get_json``."""
        import httpx

        url = self.wmo().url_format.format(city_id=city_id)
        data: dict[str, Any] = httpx.get(url, timeout=10.0).raise_for_status().json()
        return data

    def __enter__(self) -> DemoContext:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stack.close()


def _close_quietly(handle: Any) -> None:
    with contextlib.suppress(Exception):
        handle.close()
