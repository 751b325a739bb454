"""The typed records the forecast service hands out: cities and daily forecasts.

WWIS sends temperatures and coordinates as strings (``"29"``, ``"-6.820000000"``)
and an empty string when a value is unknown; these records hold real numbers
and ``None`` instead, so callers never parse. Frozen and slotted: a reply is a
value, cheap to keep and safe to share between threads.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

__all__ = ["City", "CityForecast", "CityInfo", "DailyForecast"]


@dataclass(frozen=True, slots=True)
class City:
    """One row of WWIS's city list: enough to name a city and ask for it."""

    id: int
    name: str
    country: str

    def __str__(self) -> str:
        return f"{self.name}, {self.country} ({self.id})"


@dataclass(frozen=True, slots=True)
class CityInfo:
    """What a city's forecast file says about the city itself."""

    id: int
    name: str
    #: The WMO member (national weather service's country or territory).
    country: str
    latitude: float | None
    longitude: float | None
    is_capital: bool
    #: UTC offset as WWIS writes it, for example ``"+0300"``.
    time_zone: str
    station_name: str


@dataclass(frozen=True, slots=True)
class DailyForecast:
    """One day of a city's forecast; temperatures in whole degrees, None when unknown.

    WWIS leaves the first day's minimum empty once that night has passed, so
    ``min_temp_c`` and ``min_temp_f`` of the first day are often None.
    """

    date: datetime.date
    #: WWIS's weather phrase, for example ``"Light Rain"``.
    weather: str
    #: WWIS's free-text description (``wxdesc``), usually empty.
    description: str
    min_temp_c: int | None
    max_temp_c: int | None
    min_temp_f: int | None
    max_temp_f: int | None
    #: Code from WWIS's weather icon table, for example 1502 (light rain).
    icon: int


@dataclass(frozen=True, slots=True)
class CityForecast:
    """A city's whole forecast file, parsed: the city, when it was issued, its days."""

    city: CityInfo
    #: Local time of issue, as WWIS gives it (no time zone attached).
    issued: datetime.datetime | None
    days: tuple[DailyForecast, ...]
