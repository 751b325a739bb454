"""Why a city's forecast could not be had: the forecast package's own errors.

```text
ForecastError            .city (a label such as "Tel Aviv, Israel (44)"), .reason
├── ForecastFetchError   no usable HTTP answer: unreachable, timeout, 404, 500
└── ForecastFormatError  an answer, but not a WWIS city forecast: malformed or
                         truncated JSON, no forecast block, no days
CityLookupError          a city name matches no city, or several (also a LookupError)
```

Raised inside the service's streamed reply, so the nanoservice core wraps a
``ForecastError`` in ``nanoservices.ServiceFailedError`` (this error is its
``__cause__``) and the service itself lives on. ``CityLookupError`` is turned
into ``nanoservices.InvalidRequestError`` by the service.
"""

from __future__ import annotations

__all__ = ["CityLookupError", "ForecastError", "ForecastFetchError", "ForecastFormatError"]


class ForecastError(Exception):
    """The forecast for ``.city`` is unavailable, because of ``.reason``."""

    def __init__(self, city: str, reason: str) -> None:
        super().__init__(city, reason)  # every argument, so the error pickles
        self.city = city
        self.reason = reason

    def __str__(self) -> str:
        return f"forecast for {self.city}: {self.reason}"


class ForecastFetchError(ForecastError, ConnectionError):
    """The WWIS server gave no usable answer: unreachable, too slow, or an HTTP error.

    Not a data problem: asking again later may work. Compare [`ForecastFormatError`][].
    """


class ForecastFormatError(ForecastError, ValueError):
    """The server answered, but the body is not a usable WWIS city forecast."""


class CityLookupError(LookupError):
    """A city name resolved to no city, or to several (``.candidates``)."""

    def __init__(self, name: str, reason: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(name, reason, candidates)
        self.name = name
        self.reason = reason
        self.candidates = candidates

    def __str__(self) -> str:
        return self.reason
