"""Parsing WWIS city JSON: strings to numbers, and a clear error for every bad body."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nanoservices.services.forecast import DailyForecast, ForecastFormatError
from nanoservices.services.forecast._data import read_bundled
from nanoservices.services.forecast._parse import parse_city_forecast


def bundled(city_id: int) -> dict[str, Any]:
    return json.loads(read_bundled(f"{city_id}_en.json"))  # type: ignore[no-any-return]


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


@pytest.mark.parametrize(("city_id", "days"), [(44, 6), (183, 7), (252, 5)])
def test_each_bundled_file_parses_with_all_its_days(city_id: int, days: int) -> None:
    forecast = parse_city_forecast(read_bundled(f"{city_id}_en.json"), str(city_id))
    assert forecast.city.id == city_id
    assert len(forecast.days) == days


def test_a_real_wwis_file_parses_to_typed_values() -> None:
    forecast = parse_city_forecast(read_bundled("252_en.json"), "252")
    assert forecast.city.name == "Dar Es Salaam"
    assert forecast.city.country == "United Republic of Tanzania"
    assert forecast.city.latitude == pytest.approx(-6.82)
    assert forecast.issued == datetime.datetime(2020, 9, 7, 17, 0)
    assert forecast.days[0] == DailyForecast(
        date=datetime.date(2020, 9, 8),
        weather="Light Rain",
        description="",
        min_temp_c=20,
        max_temp_c=29,
        min_temp_f=68,
        max_temp_f=84,
        icon=1502,
    )


def test_an_empty_temperature_is_none() -> None:
    day = parse_city_forecast(read_bundled("44_en.json"), "44").days[0]
    assert (day.min_temp_c, day.min_temp_f) == (None, None)
    assert day.max_temp_c == 31


def test_numbers_sent_as_numbers_or_decimals_are_accepted() -> None:
    data = bundled(252)
    day = data["city"]["forecast"]["forecastDay"][0]
    day.update(minTemp=19, maxTemp="28.6", minTempF=66.2, maxTempF=" 84 ")
    parsed = parse_city_forecast(encode(data), "252").days[0]
    assert (parsed.min_temp_c, parsed.max_temp_c, parsed.min_temp_f, parsed.max_temp_f) == (
        19,
        29,
        66,
        84,
    )


def test_the_climate_block_is_optional() -> None:
    data = bundled(252)
    del data["city"]["climate"]
    assert len(parse_city_forecast(encode(data), "252").days) == 5


def error_for(body: bytes) -> str:
    with pytest.raises(ForecastFormatError) as info:
        parse_city_forecast(body, "Dar Es Salaam (252)")
    assert info.value.city == "Dar Es Salaam (252)"
    return str(info.value)


def test_a_missing_forecast_block_is_named() -> None:
    data = bundled(252)
    del data["city"]["forecast"]
    assert "no 'forecast' block" in error_for(encode(data))


def test_an_empty_day_list_is_named() -> None:
    data = bundled(252)
    data["city"]["forecast"]["forecastDay"] = []
    assert "lists no days" in error_for(encode(data))


def test_truncated_json_is_named() -> None:
    assert "truncated" in error_for(read_bundled("252_en.json")[:500])


def test_malformed_json_is_named() -> None:
    assert "bad JSON" in error_for(b"<html>Service Unavailable</html>")


def test_an_empty_body_is_named() -> None:
    assert "empty" in error_for(b"  \n")


def test_a_missing_required_key_is_named_with_its_path() -> None:
    data = bundled(252)
    del data["city"]["cityId"]
    assert "`cityId` - at `$.city`" in error_for(encode(data))


def test_a_temperature_that_is_not_a_number_is_named() -> None:
    data = bundled(252)
    data["city"]["forecast"]["forecastDay"][1]["maxTemp"] = "warm"
    assert "2020-09-09 maxTemp 'warm' is not a number" in error_for(encode(data))


def test_a_bad_date_is_named() -> None:
    data = bundled(252)
    data["city"]["forecast"]["forecastDay"][0]["forecastDate"] = "08/09/2020"
    assert "'08/09/2020' is not a YYYY-MM-DD date" in error_for(encode(data))


@given(body=st.binary(max_size=200))
def test_any_bytes_give_a_forecast_or_a_format_error(body: bytes) -> None:
    try:
        parse_city_forecast(body, "x")
    except ForecastFormatError:
        pass
