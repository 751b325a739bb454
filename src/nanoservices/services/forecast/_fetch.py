"""Fetch a city's forecast from WWIS over HTTP, once per city per cache period.

One [`Forecaster`][] owns one ``httpx.Client`` (a connection pool, so
repeated cities reuse the connection) and an [`ExpiringCache`][] of parsed
forecasts. Every way the fetch can go wrong becomes a [`ForecastError`][]
naming the city, the URL and the cause; failures are not cached, so the next
request for that city tries again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from ._cache import ExpiringCache
from ._errors import ForecastFetchError
from ._parse import parse_city_forecast
from ._records import CityForecast

__all__ = ["DEFAULT_BASE_URL", "Forecaster", "check_url_format"]

#: WWIS's own JSON feed, one file per city; ``{city_id}`` is filled in.
DEFAULT_BASE_URL = "https://worldweather.wmo.int/en/json/{city_id}_en.json"


def check_url_format(url_format: str) -> str:
    """``url_format`` if it is a usable ``{city_id}`` format string for http(s).

    Raises:
        ValueError: it lacks ``{city_id}``, has other fields, or is not http(s).
    """
    try:
        url = url_format.format(city_id=44)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"base_url must be a format string with only a {{city_id}} field, got {url_format!r}"
        ) from exc
    if url == url_format:
        raise ValueError(f"base_url has no {{city_id}} field: {url_format!r}")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must be an http:// or https:// URL, got {url_format!r}")
    return url_format


class Forecaster:
    """Gets parsed city forecasts: from its cache, else with one HTTP GET.

    Close it (or use ``with``) to close its connection pool. ``transport``
    replaces the network (an ``httpx`` transport: ``LocalWMOServer.transport()``
    answers in process, with no socket).
    """

    __slots__ = ("_cache", "_client", "url_format")

    def __init__(
        self,
        url_format: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 10.0,
        cache_ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url_format = check_url_format(url_format)
        self._cache: ExpiringCache[int, CityForecast] = ExpiringCache(cache_ttl, clock)
        # Built last: nothing above may raise and leak an open pool.
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=True,
            headers={"Accept": "application/json"},
            transport=transport,
        )

    def get(self, city_id: int, label: str) -> CityForecast:
        """The forecast for ``city_id``; ``label`` (for example "Tel Aviv, Israel
        (44)") names the city in errors.

        Raises:
            ForecastFetchError: unreachable, timed out, or an HTTP error status.
            ForecastFormatError: the answer is not a usable WWIS forecast.
        """
        forecast = self._cache.get(city_id)
        if forecast is None:
            forecast = parse_city_forecast(self._download(city_id, label), label)
            self._cache.put(city_id, forecast)
        return forecast

    def _download(self, city_id: int, label: str) -> bytes:
        url = self.url_format.format(city_id=city_id)
        try:
            response = self._client.get(url)
        except httpx.TimeoutException as exc:
            timeout = self._client.timeout.read
            raise ForecastFetchError(
                label, f"no answer from {url} within the {timeout} s timeout ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:  # refused, DNS, connection dropped mid-body...
            raise ForecastFetchError(
                label, f"cannot get {url}: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code == httpx.codes.NOT_FOUND:
            raise ForecastFetchError(
                label, f"not found: WWIS has no forecast for this city id (HTTP 404 from {url})"
            )
        if response.is_error or response.status_code != httpx.codes.OK:
            raise ForecastFetchError(
                label, f"HTTP {response.status_code} {response.reason_phrase} from {url}"
            )
        return response.content

    @property
    def cache(self) -> ExpiringCache[int, CityForecast]:
        """The parsed forecasts kept, by city id (``cache.clear()`` forces refetching)."""
        return self._cache

    def close(self) -> None:
        """Close the connection pool. Closing twice is fine."""
        self._client.close()

    @property
    def is_closed(self) -> bool:
        """True once [`close`][] has run."""
        return self._client.is_closed

    def __enter__(self) -> Forecaster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
