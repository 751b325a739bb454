"""Parse a WWIS city forecast file (``{city_id}_en.json``) into typed records.

msgspec checks the structure in C (missing keys, wrong JSON types, broken or
truncated JSON) and gives messages with the JSON path; this module then turns
WWIS's strings into numbers. It accepts what the real service sends: numbers
as strings, ``""`` for unknown values, no ``forecast`` or ``climate`` block.
Every problem is a [`ForecastFormatError`][] naming the city.
"""

from __future__ import annotations

import datetime
import math

import msgspec

from ._errors import ForecastFormatError
from ._records import CityForecast, CityInfo, DailyForecast

__all__ = ["parse_city_forecast"]

# Numbers arrive as strings from WWIS, as numbers from clients that re-serialize.
_Number = str | int | float | None


class _Day(msgspec.Struct, rename="camel"):
    forecast_date: str
    weather: str = ""
    wxdesc: str = ""
    min_temp: _Number = None
    max_temp: _Number = None
    min_temp_f: _Number = None
    max_temp_f: _Number = None
    weather_icon: int | str = 0


class _Forecast(msgspec.Struct, rename="camel"):
    forecast_day: list[_Day]
    issue_date: str = ""


class _Member(msgspec.Struct, rename="camel"):
    mem_name: str = ""


class _City(msgspec.Struct, rename="camel"):
    city_name: str
    city_id: int
    city_latitude: _Number = None
    city_longitude: _Number = None
    is_capital: bool = False
    station_name: str = ""
    time_zone: str = ""
    member: _Member | None = None
    forecast: _Forecast | None = None


class _File(msgspec.Struct):
    city: _City


_decoder = msgspec.json.Decoder(_File)


def parse_city_forecast(body: bytes, city: str) -> CityForecast:
    """The forecast in ``body`` (a WWIS city JSON file); ``city`` labels errors.

    Raises:
        ForecastFormatError: the body is not JSON, is cut short, lacks required
            keys or the ``forecast`` block, lists no days, or holds a value
            that is not a number or date where one should be.
    """
    if not body.strip():
        raise ForecastFormatError(city, "the response body is empty")
    try:
        raw = _decoder.decode(body)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError too
        kind = (
            "unexpected JSON structure" if isinstance(exc, msgspec.ValidationError) else "bad JSON"
        )
        raise ForecastFormatError(city, f"{kind} in the response: {exc}") from exc
    data = raw.city
    if data.forecast is None:
        raise ForecastFormatError(
            city, "the response has no 'forecast' block (WWIS has no forecast for it now)"
        )
    if not data.forecast.forecast_day:
        raise ForecastFormatError(
            city, "the response's forecast lists no days ('forecastDay' is empty)"
        )
    info = CityInfo(
        id=data.city_id,
        name=data.city_name,
        country=data.member.mem_name if data.member else "",
        latitude=_float(data.city_latitude, "cityLatitude", city),
        longitude=_float(data.city_longitude, "cityLongitude", city),
        is_capital=data.is_capital,
        time_zone=data.time_zone,
        station_name=data.station_name,
    )
    days = tuple(_day(day, city) for day in data.forecast.forecast_day)
    return CityForecast(info, _issued(data.forecast.issue_date, city), days)


def _day(day: _Day, city: str) -> DailyForecast:
    try:
        date = datetime.date.fromisoformat(day.forecast_date)
    except ValueError:
        raise ForecastFormatError(
            city, f"forecastDate {day.forecast_date!r} is not a YYYY-MM-DD date"
        ) from None
    where = f"{date.isoformat()} "
    icon = _int(day.weather_icon, where + "weatherIcon", city)
    return DailyForecast(
        date=date,
        weather=day.weather,
        description=day.wxdesc,
        min_temp_c=_int(day.min_temp, where + "minTemp", city),
        max_temp_c=_int(day.max_temp, where + "maxTemp", city),
        min_temp_f=_int(day.min_temp_f, where + "minTempF", city),
        max_temp_f=_int(day.max_temp_f, where + "maxTempF", city),
        icon=0 if icon is None else icon,
    )


def _float(value: _Number, field: str, city: str) -> float | None:
    if value is None or isinstance(value, int | float):
        return None if value is None else float(value)
    text = value.strip()
    if not text:  # WWIS's "unknown"
        return None
    try:
        return float(text)
    except ValueError:
        raise ForecastFormatError(city, f"{field} {value!r} is not a number") from None


def _int(value: _Number, field: str, city: str) -> int | None:
    """Whole degrees (or an icon code): ``"29"`` -> 29, ``"28.6"`` -> 29, ``""`` -> None."""
    number = _float(value, field, city)
    if number is None:
        return None
    if not math.isfinite(number):
        raise ForecastFormatError(city, f"{field} {value!r} is not a finite number")
    return round(number)


def _issued(text: str, city: str) -> datetime.datetime | None:
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ForecastFormatError(city, f"issueDate {text!r} is not a date and time") from None
