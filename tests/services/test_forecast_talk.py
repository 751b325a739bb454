"""The talk's original ``forecasts()`` generator, hosted unchanged with ``nanoservices.raw``.

Only the I/O is ours: ``http_get_json`` fetches from the local WWIS server
instead of worldweather.wmo.int. The generator below is the talk's, from
``examples.md`` section 3 ("weather forecast service").
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import httpx
import pytest

from nanoservices import State, raw
from nanoservices.services.forecast import LocalWMOServer

pytestmark = pytest.mark.http

_WWIS = "https://worldweather.wmo.int"
#: Where http_get_json really goes: the local server's base URL, set by a fixture.
_local: dict[str, str] = {}


def http_get_json(url: str) -> Any:
    """The talk's fetch helper, sent to the local server: never the real WWIS."""
    assert url.startswith(_WWIS), url
    with httpx.Client(timeout=5.0) as client:
        response = client.get(_local["base_url"] + url.removeprefix(_WWIS))
        response.raise_for_status()
        return response.json()


# --- the talk's code, as in examples.md --------------------------------------------


class DifferentCity(Exception): ...


def forecasts() -> Generator[Any, Any, None]:
    while city_id := (yield):
        data = http_get_json(f"https://worldweather.wmo.int/en/json/{city_id}_en.json")
        try:
            # The talk's loop, kept: `yield from` would also pass sends to the list iterator.
            for day in data["city"]["forecast"]["forecastDay"]:  # noqa: UP028
                yield day
        except DifferentCity:
            continue  # back to the top: ask for a city again


# ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _point_at_local_server(wmo: LocalWMOServer) -> Iterator[None]:
    _local["base_url"] = wmo.base_url
    yield
    _local.clear()


@pytest.fixture
def talk_weather() -> Iterator[Any]:
    with raw(forecasts, reset_with=DifferentCity)() as h:
        yield h


def test_the_talks_generator_streams_a_citys_days(talk_weather: Any) -> None:
    days = list(talk_weather.stream(44))
    assert [day["forecastDate"] for day in days][:2] == ["2020-08-06", "2020-08-07"]
    assert len(days) == 6
    assert talk_weather.state is State.READY  # back at the top, waiting for a city


def test_days_are_the_raw_wwis_dicts(talk_weather: Any) -> None:
    first = next(iter(talk_weather.stream(252)))
    assert first["weather"] == "Light Rain"
    assert first["minTemp"] == "20"  # the talk hands out WWIS's strings as they are


def test_leaving_early_throws_different_city_and_the_next_city_works(
    talk_weather: Any, wmo: LocalWMOServer
) -> None:
    for day in talk_weather.stream(44):
        assert day["forecastDate"] == "2020-08-06"
        break  # the handle throws DifferentCity in: the talk's reset
    tokyo = list(talk_weather.stream(183))
    assert tokyo[0]["weather"] == "Rain"
    assert len(tokyo) == 7
    assert wmo.requests_for(44) == 1


def test_the_talks_version_fetches_again_for_every_request(
    talk_weather: Any, wmo: LocalWMOServer
) -> None:
    list(talk_weather.stream(44))
    list(talk_weather.stream(44))
    assert wmo.requests_for(44) == 2  # no cache across requests: the real service adds one


def test_a_falsy_request_ends_the_talks_service(talk_weather: Any) -> None:
    talk_weather.call(None)
    assert talk_weather.state is State.CLOSED
