"""The ``forecasts`` nanoservice: send a city, get its daily forecasts one per step.

The talk's weather service, made robust. A request is a WWIS city id (``44``,
as in the talk) or a city name (``"Tel Aviv"``, ``"Hamilton, New Zealand"``);
the reply is a stream of [`DailyForecast`][], one per step. A city costs one
HTTP request per cache period; the connection pool lives as long as the
service and is closed with it.

Switching city mid-stream is leaving the stream early (``break``,
``stream.cancel()`` or ``handle.reset()``) and sending the next city: the
native protocol's version of the talk's ``throw(DifferentCity)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from typing import Final
from urllib.parse import urlsplit

import httpx

from nanoservices import NO_REPLY, InvalidRequestError, Stream, service, streamed

from ._cities import CityIndex, bundled_cities
from ._errors import CityLookupError
from ._fetch import DEFAULT_BASE_URL, Forecaster
from ._records import DailyForecast

__all__ = ["SERVICE_NAME", "CityRequest", "forecasts"]

SERVICE_NAME: Final = "forecasts"

#: A WWIS city id, or a city name: ``"City"`` or ``"City, Country"``.
CityRequest = int | str


@service(name=SERVICE_NAME)
def forecasts(
    base_url: str = DEFAULT_BASE_URL,
    timeout: float = 10.0,
    cache_ttl: float = 3600.0,
    clock: Callable[[], float] = time.monotonic,
    cities: CityIndex | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Generator[Stream[DailyForecast], CityRequest, None]:
    """Serve WWIS daily forecasts: request a city, stream its days.

    Args:
        base_url: a format string with a ``{city_id}`` field (default WWIS's
            own feed), or a site root with no path such as
            ``http://127.0.0.1:8000``, to which WWIS's path
            ``/en/json/{city_id}_en.json`` is added. Point it at
            ``serve_local_wmo`` to work offline.
        timeout: seconds to wait for WWIS (connect, and each read).
        cache_ttl: seconds a city's forecast is reused before it is fetched
            again (WWIS issues forecasts a few times a day); 0 disables caching.
        clock: a monotonic clock, for the cache (tests move time with it).
        cities: the city list names resolve through; default the bundled one.
        transport: an ``httpx`` transport in place of the network, such as
            ``LocalWMOServer().transport()`` (in process, no socket: tests, and
            sandboxes with no network at all).

    Failures of one request (bad city, HTTP error, timeout, malformed JSON)
    fail only that request; the service keeps serving. A bad name is an
    ``InvalidRequestError``; a failed fetch is a ``ServiceFailedError`` whose
    ``__cause__`` is a [`ForecastError`][]. Both surface on the stream's first step.
    """
    index = cities if cities is not None else bundled_cities()
    if "{city_id}" not in base_url and urlsplit(base_url).path in ("", "/"):
        base_url = base_url.rstrip("/") + "/en/json/{city_id}_en.json"
    with Forecaster(
        base_url, timeout=timeout, cache_ttl=cache_ttl, clock=clock, transport=transport
    ) as forecaster:
        request = yield NO_REPLY
        while True:
            request = yield streamed(_days(forecaster, index, request))


def _days(forecaster: Forecaster, index: CityIndex, request: object) -> Iterator[DailyForecast]:
    """The streamed reply: resolve the city, fetch (or reuse) its forecast, hand out days.

    A generator, so all of this runs on the caller's first step and an error
    fails only this stream.
    """
    city_id, label = _resolve(index, request)
    yield from forecaster.get(city_id, label).days


def _resolve(index: CityIndex, request: object) -> tuple[int, str]:
    """The city id to fetch and a label for messages, or InvalidRequestError."""
    if isinstance(request, bool):  # a bool is an int to isinstance, never a city
        raise InvalidRequestError(
            SERVICE_NAME, request, "a city is an int id or a name, not a bool"
        )
    if isinstance(request, str) and request.strip().isdigit():
        request = int(request)
    if isinstance(request, int):
        if request <= 0:
            raise InvalidRequestError(SERVICE_NAME, request, "WWIS city ids are positive")
        city = index.by_id(request)
        # An id missing from the bundled 2020 list may still exist at WWIS: ask it.
        return request, str(city) if city else f"city {request}"
    if isinstance(request, str):
        try:
            city = index.resolve(request)
        except CityLookupError as exc:
            raise InvalidRequestError(SERVICE_NAME, request, str(exc)) from None
        return city.id, str(city)
    raise InvalidRequestError(
        SERVICE_NAME, request, f"a city is an int id or a name, got {type(request).__name__}"
    )
