"""A real, local stand-in for WWIS: serves the bundled city JSON over HTTP on 127.0.0.1.

The tests and ``nanoservices demo`` point the forecast service at it, so
nothing leaves the machine. It is a Starlette app on uvicorn in a background
thread, bound to an ephemeral port on loopback only. It counts requests per
path (to prove the service's cache works) and misbehaves on demand: an HTTP
error status for a city, a slow answer (to trip a timeout), or any body you
give it (truncated JSON, no forecast block...).

```python
with serve_local_wmo() as url:               # the simple way: a base URL
    weather = forecasts(base_url=url)

with LocalWMOServer() as wmo:                # full control, for tests
    wmo.fail(44, status=500)
    wmo.requests_for(44)

wmo = LocalWMOServer()                       # no socket at all: in process
weather = forecasts(transport=wmo.transport())
```

[`LocalWMOServer.transport`][] answers from the same bodies, faults and
counts through an ``httpx.MockTransport``, for tests that need no socket and
for sandboxes where loopback is down (``nanoservices demo`` falls back to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._data import BUNDLED_CITY_IDS, read_bundled

__all__ = ["LocalWMOServer", "serve_local_wmo"]

_HOST = "127.0.0.1"  # loopback only: never reachable from another machine
_STARTUP_TIMEOUT = 10.0
_JSON = "application/json"
_CITY_PATH = re.compile(r"/en/json/(?P<city_id>[0-9]+)_en\.json")


class LocalWMOServer:
    """A WWIS look-alike on ``127.0.0.1``: start with ``with`` (or [`start`][]).

    Args:
        bodies: city id -> JSON bytes to serve; default the bundled cities
            (44 Tel Aviv, 183 Tokyo, 252 Dar Es Salaam). Other ids get 404.

    Thread-safe: the test thread sets misbehaviour while the server thread serves.
    """

    def __init__(self, bodies: Mapping[int, bytes] | None = None) -> None:
        if bodies is None:
            bodies = {city: read_bundled(f"{city}_en.json") for city in BUNDLED_CITY_IDS}
        self._lock = threading.Lock()
        self._initial = dict(bodies)
        self._bodies: dict[int, bytes] = dict(bodies)
        self._status: dict[int, int] = {}
        self._delay: dict[int, float] = {}
        self._requests: Counter[str] = Counter()
        self._stopping = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port = 0

    # -- the address -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (the server must be running)."""
        if not self._port:
            raise RuntimeError("the local WMO server is not running")
        return f"http://{_HOST}:{self._port}"

    @property
    def url_format(self) -> str:
        """The ``base_url`` argument for ``forecasts()``: ``.../en/json/{city_id}_en.json``."""
        return self.base_url + "/en/json/{city_id}_en.json"

    def path_for(self, city_id: int) -> str:
        """The URL path of a city's forecast, as counted by [`requests_for`][]."""
        return f"/en/json/{city_id}_en.json"

    # -- behaviour, set from any thread -----------------------------------------

    def set_body(self, city_id: int, body: bytes) -> None:
        """Serve ``body`` (any bytes, valid JSON or not) for ``city_id`` from now on."""
        with self._lock:
            self._bodies[city_id] = body

    def remove(self, city_id: int) -> None:
        """Forget ``city_id``: it gets 404 from now on."""
        with self._lock:
            self._bodies.pop(city_id, None)

    def truncate(self, city_id: int, keep: float = 0.5) -> None:
        """Serve only the first ``keep`` fraction of the city's body (broken JSON)."""
        with self._lock:
            body = self._bodies[city_id]
            self._bodies[city_id] = body[: int(len(body) * keep)]

    def fail(self, city_id: int, status: int = 500) -> None:
        """Answer ``status`` (for example 404 or 500) for ``city_id``."""
        with self._lock:
            self._status[city_id] = status

    def slow(self, city_id: int, seconds: float) -> None:
        """Wait ``seconds`` before answering for ``city_id`` (to trip a client timeout)."""
        with self._lock:
            self._delay[city_id] = seconds

    def behave(self, city_id: int | None = None) -> None:
        """Stop failing and delaying (for one city, or all); bodies are kept."""
        with self._lock:
            if city_id is None:
                self._status.clear()
                self._delay.clear()
            else:
                self._status.pop(city_id, None)
                self._delay.pop(city_id, None)

    def reset(self) -> None:
        """Back to as started: the original bodies, no misbehaviour, zero counts."""
        with self._lock:
            self._bodies = dict(self._initial)
            self._status.clear()
            self._delay.clear()
            self._requests.clear()

    # -- request counts ----------------------------------------------------------

    def requests_for(self, city_id: int) -> int:
        """How many requests the city's forecast path has received."""
        return self.requests(self.path_for(city_id))

    def requests(self, path: str) -> int:
        """How many requests ``path`` has received (counted before answering)."""
        with self._lock:
            return self._requests[path]

    def reset_counts(self) -> None:
        """Set every request count back to zero."""
        with self._lock:
            self._requests.clear()

    # -- the app -----------------------------------------------------------------

    def _answer(self, path: str) -> tuple[int, str, bytes, float]:
        """Status, media type, body and delay for a GET of ``path``; counts it.

        The one place the server's behaviour is decided: the Starlette app and
        the in-process transport both answer with it.
        """
        with self._lock:
            self._requests[path] += 1
            if path == "/en/json/full_city_list.txt":
                return 200, "text/plain", read_bundled("full_city_list.txt"), 0.0
            match = _CITY_PATH.fullmatch(path)
            if match is None:
                return 404, "text/plain", b"Not Found", 0.0
            city_id = int(match["city_id"])
            delay = self._delay.get(city_id, 0.0)
            status = self._status.get(city_id)
            body = self._bodies.get(city_id)
        if status is not None:
            return status, "text/plain", f"error {status} on request".encode(), delay
        if body is None:
            return 404, "text/plain", b"Not Found", delay
        return 200, _JSON, body, delay

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/en/json/full_city_list.txt", self._route),
                Route("/en/json/{city_id:int}_en.json", self._route),
            ]
        )

    async def _route(self, request: Request) -> Response:
        status, media_type, body, delay = self._answer(request.url.path)
        if delay:
            await self._sleep(delay)
        return Response(body, status_code=status, media_type=media_type)

    def transport(self) -> httpx.MockTransport:
        """An httpx transport answering in process (no socket), from this server's state.

        Hand it to a client (``httpx.Client(transport=...)``) or to
        ``forecasts(transport=...)``: requests to any host get the answers the
        running server would give, and are counted the same way. The server need
        not be started. ``slow()`` does not sleep in process: a delay at or over
        the client's read timeout raises ``httpx.ReadTimeout`` at once, as the
        client would after waiting; a shorter one answers at once.
        """

        def handle(request: httpx.Request) -> httpx.Response:
            status, media_type, body, delay = self._answer(request.url.path)
            read_timeout = request.extensions.get("timeout", {}).get("read")
            if delay and read_timeout is not None and delay >= read_timeout:
                raise httpx.ReadTimeout(
                    f"no answer within {read_timeout} s (in process)", request=request
                )
            return httpx.Response(status, headers={"content-type": media_type}, content=body)

        return httpx.MockTransport(handle)

    async def _sleep(self, seconds: float) -> None:
        # In short naps, so stopping the server never waits out a long delay.
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))

    # -- life cycle ----------------------------------------------------------------

    def start(self) -> LocalWMOServer:
        """Start serving in a background thread; returns once it accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the local WMO server is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((_HOST, 0))
        self._socket = sock
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"local-wmo-{self._port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the local WMO server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread. Stopping twice is fine."""
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_STARTUP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        self._port = 0

    def __enter__(self) -> LocalWMOServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextlib.contextmanager
def serve_local_wmo(bodies: Mapping[int, bytes] | None = None) -> Iterator[str]:
    """Run a [`LocalWMOServer`][] for the ``with`` block; give its URL format.

    The value is what ``forecasts(base_url=...)`` takes:
    ``http://127.0.0.1:<port>/en/json/{city_id}_en.json``.
    """
    with LocalWMOServer(bodies) as server:
        yield server.url_format
