"""The forecasts nanoservice against the local WWIS server: streams, cache, errors."""

from __future__ import annotations

import datetime
import itertools
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from nanoservices import InvalidRequestError, LocalHandle, ServiceFailedError, State, Stream
from nanoservices.services.forecast import (
    DailyForecast,
    ForecastFetchError,
    ForecastFormatError,
    LocalWMOServer,
    forecasts,
)
from nanoservices.services.forecast._data import read_bundled
from nanoservices.testing import FakeClock

pytestmark = pytest.mark.http

Weather = LocalHandle[int | str, Stream[DailyForecast]]


@pytest.fixture
def weather(wmo: LocalWMOServer, fake_clock: FakeClock) -> Iterator[Weather]:
    with forecasts(base_url=wmo.url_format, timeout=0.5, cache_ttl=600, clock=fake_clock) as h:
        yield h


def days(h: Weather, city: int | str) -> list[DailyForecast]:
    return list(h.stream(city))


def assert_serves(h: Weather) -> None:
    """The service survived: READY, and it answers the next request."""
    assert h.state is State.READY
    assert days(h, 252)[0].weather == "Light Rain"


# -- replies -------------------------------------------------------------------


def test_a_city_id_streams_its_daily_forecasts(weather: Weather) -> None:
    tel_aviv = days(weather, 44)
    assert len(tel_aviv) == 6
    assert tel_aviv[0].date == datetime.date(2020, 8, 6)
    assert tel_aviv[0].min_temp_c is None  # WWIS's empty minimum after the night
    assert [d.date for d in tel_aviv] == sorted(d.date for d in tel_aviv)
    assert weather.state is State.READY


def test_days_come_one_per_step(weather: Weather) -> None:
    stream = weather.stream(183)
    first = next(stream)
    assert weather.state is State.STREAMING
    assert first.weather == "Rain"
    assert next(stream).date == first.date + datetime.timedelta(days=1)
    stream.cancel()


@pytest.mark.parametrize("name", ["Tel Aviv", "tel aviv", "TEL AVIV, israel", "44", " 44 "])
def test_a_city_name_or_numeric_string_resolves_to_its_id(weather: Weather, name: str) -> None:
    assert days(weather, name) == days(weather, 44)


@pytest.mark.parametrize(("city", "count"), [(44, 6), (183, 7), (252, 5)])
def test_lists_of_different_lengths_each_end_the_stream(
    weather: Weather, city: int, count: int
) -> None:
    assert len(days(weather, city)) == count


# -- cache ---------------------------------------------------------------------


def test_one_http_request_per_city(weather: Weather, wmo: LocalWMOServer) -> None:
    for _ in range(3):
        days(weather, 44)
    days(weather, "Tel Aviv")
    days(weather, 252)
    assert wmo.requests_for(44) == 1
    assert wmo.requests_for(252) == 1


def test_the_cache_expires_after_its_ttl(
    weather: Weather, wmo: LocalWMOServer, fake_clock: FakeClock
) -> None:
    days(weather, 44)
    fake_clock.advance(599)
    days(weather, 44)
    assert wmo.requests_for(44) == 1
    fake_clock.advance(1)
    days(weather, 44)
    assert wmo.requests_for(44) == 2


def test_cache_ttl_zero_fetches_every_time(wmo: LocalWMOServer) -> None:
    with forecasts(base_url=wmo.url_format, cache_ttl=0) as h:
        days(h, 44)
        days(h, 44)
    assert wmo.requests_for(44) == 2


def test_a_stale_cache_picks_up_a_new_forecast(
    weather: Weather, wmo: LocalWMOServer, fake_clock: FakeClock
) -> None:
    data = json.loads(read_bundled("252_en.json"))
    days(weather, 252)
    data["city"]["forecast"]["forecastDay"][0]["weather"] = "Sunny"
    wmo.set_body(252, json.dumps(data).encode())
    assert days(weather, 252)[0].weather == "Light Rain"  # cached
    fake_clock.advance(600)
    assert days(weather, 252)[0].weather == "Sunny"


# -- switching city: the talk's DifferentCity ------------------------------------


def test_leaving_a_stream_early_switches_city(weather: Weather) -> None:
    for day in weather.stream(44):
        assert day.date == datetime.date(2020, 8, 6)
        break  # the native protocol's throw(DifferentCity)
    assert days(weather, 183)[0].weather == "Rain"


def test_reset_mid_stream_keeps_the_cache(weather: Weather, wmo: LocalWMOServer) -> None:
    stream = weather.stream(44)
    next(stream)
    weather.reset()
    assert weather.state is State.READY
    assert not stream.is_open
    assert len(days(weather, 44)) == 6
    assert wmo.requests_for(44) == 1  # state (the cache) survived the reset


def test_a_with_block_cancels_the_stream(weather: Weather) -> None:
    with weather.stream(252) as stream:
        first_two = list(itertools.islice(stream, 2))
    assert len(first_two) == 2
    assert weather.state is State.READY


# -- requests refused before fetching ------------------------------------------


def test_an_ambiguous_name_is_refused_listing_candidates(
    weather: Weather, wmo: LocalWMOServer
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        days(weather, "Hamilton")
    message = str(info.value)
    assert info.value.service == "forecasts"
    assert "Hamilton, Australia (413)" in message
    assert "Hamilton, New Zealand (1551)" in message
    assert_serves(weather)


def test_an_unknown_name_is_refused(weather: Weather) -> None:
    with pytest.raises(InvalidRequestError, match="no city called 'Atlantis'"):
        days(weather, "Atlantis")
    assert_serves(weather)


@pytest.mark.parametrize("request_", [4.5, None, [44], {"city": 44}])
def test_a_request_of_the_wrong_type_is_refused_before_the_service(
    weather: Weather, request_: Any
) -> None:
    with pytest.raises(InvalidRequestError, match=re.escape("expected int | str")):
        weather.stream(request_)
    assert_serves(weather)


@pytest.mark.parametrize("request_", [True, 0, -44])
def test_bools_and_non_positive_ids_are_refused(weather: Weather, request_: int) -> None:
    with pytest.raises(InvalidRequestError):
        days(weather, request_)
    assert_serves(weather)


# -- failures: each names service, city and cause; the service lives on ----------


def failure(h: Weather, city: int | str) -> ServiceFailedError:
    with pytest.raises(ServiceFailedError) as info:
        days(h, city)
    assert info.value.service == "forecasts"
    assert info.value.request == city
    assert_serves(h)
    return info.value


def test_http_404_is_a_clear_failure(weather: Weather) -> None:
    error = failure(weather, 999)  # listed (Kudymkar) but not served
    assert isinstance(error.__cause__, ForecastFetchError)
    assert "'forecasts'" in str(error)
    assert "Kudymkar, Russian Federation (999)" in str(error)
    assert "HTTP 404" in str(error)


def test_an_id_missing_from_the_list_is_still_asked_for(
    weather: Weather, wmo: LocalWMOServer
) -> None:
    error = failure(weather, 987654)
    assert "city 987654" in str(error)
    assert wmo.requests_for(987654) == 1


def test_http_500_is_a_clear_failure(weather: Weather, wmo: LocalWMOServer) -> None:
    wmo.fail(44, 500)
    error = failure(weather, "Tel Aviv")
    assert isinstance(error.__cause__, ForecastFetchError)
    assert "Tel Aviv, Israel (44)" in str(error)
    assert "HTTP 500 Internal Server Error" in str(error)


def test_a_failure_is_not_cached(weather: Weather, wmo: LocalWMOServer) -> None:
    wmo.fail(44, 503)
    failure(weather, 44)
    wmo.behave()
    assert len(days(weather, 44)) == 6
    assert wmo.requests_for(44) == 2


def test_a_timeout_is_a_clear_failure(weather: Weather, wmo: LocalWMOServer) -> None:
    wmo.slow(44, 5.0)
    error = failure(weather, 44)
    assert isinstance(error.__cause__, ForecastFetchError)
    assert isinstance(error.__cause__.__cause__, httpx.TimeoutException)
    assert "within the 0.5 s timeout" in str(error)


def test_an_unreachable_server_is_a_clear_failure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}/en/json/{{city_id}}_en.json"
        with forecasts(base_url=url, timeout=0.5) as h, pytest.raises(ServiceFailedError) as info:
            days(h, 44)
        assert isinstance(info.value.__cause__, ForecastFetchError)
        assert "ConnectError" in str(info.value)


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (read_bundled("44_en.json")[:700], "truncated"),
        (b"<html>oops</html>", "bad JSON"),
        (b"", "empty"),
        (b'{"city": {"cityName": "Tel Aviv", "cityId": 44}}', "no 'forecast' block"),
        (
            b'{"city": {"cityName": "Tel Aviv", "cityId": 44,'
            b' "forecast": {"issueDate": "", "forecastDay": []}}}',
            "lists no days",
        ),
        (b'{"weather": []}', "missing required field `city`"),
    ],
    ids=["truncated", "malformed", "empty", "no-forecast", "no-days", "wrong-shape"],
)
def test_a_bad_body_is_a_clear_failure(
    weather: Weather, wmo: LocalWMOServer, body: bytes, cause: str
) -> None:
    wmo.set_body(44, body)
    error = failure(weather, 44)
    assert isinstance(error.__cause__, ForecastFormatError)
    assert "Tel Aviv, Israel (44)" in str(error)
    assert cause in str(error)


# -- construction and life cycle -----------------------------------------------------


@pytest.mark.parametrize(
    "url", ["https://example.org/weather.json", "ftp://host/{city_id}", "http://h/{city}/{x}"]
)
def test_a_bad_base_url_is_refused_at_construction(url: str) -> None:
    with pytest.raises(ServiceFailedError, match=r"'forecasts': could not start.*base_url"):
        forecasts(base_url=url)


def test_a_negative_cache_ttl_is_refused_at_construction() -> None:
    with pytest.raises(ServiceFailedError, match="ttl"):
        forecasts(cache_ttl=-1)


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Client]:
    """Every httpx.Client made while the test runs."""
    made: list[httpx.Client] = []

    class RecordingClient(httpx.Client):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            made.append(self)

    monkeypatch.setattr(httpx, "Client", RecordingClient)
    return made


def test_closing_the_service_closes_its_connection_pool(
    wmo: LocalWMOServer, clients: list[httpx.Client]
) -> None:
    h = forecasts(base_url=wmo.url_format)
    days(h, 44)
    days(h, 252)
    assert len(clients) == 1  # one pool for every city
    assert not clients[0].is_closed
    h.close()
    assert clients[0].is_closed
    assert h.state is State.CLOSED


def test_closing_mid_stream_closes_the_pool_too(
    wmo: LocalWMOServer, clients: list[httpx.Client]
) -> None:
    h = forecasts(base_url=wmo.url_format)
    next(h.stream(44))
    h.close()
    assert clients[0].is_closed


def test_a_site_root_is_accepted_as_base_url(wmo_server: Any) -> None:
    """Passing the server's root (not the template) still reaches the feed."""
    from nanoservices.services.forecast import forecasts as make_forecasts

    with make_forecasts(base_url=wmo_server.base_url) as weather:
        days = list(weather.stream(44))
    assert len(days) == 6
