"""The forecasts service with no socket at all: the local WWIS app through an httpx transport.

The same answers, faults and counts as the server on 127.0.0.1 (one
``LocalWMOServer`` decides both), so a sandbox with no network, and a test that
wants none, get the real service end to end.
"""

from __future__ import annotations

import json

import httpx
import pytest

from nanoservices import ServiceFailedError, State
from nanoservices.services.forecast import (
    DEFAULT_BASE_URL,
    ForecastFetchError,
    LocalWMOServer,
    forecasts,
)
from nanoservices.services.forecast._data import read_bundled
from nanoservices.testing import FakeClock, ServiceStarter


def test_the_real_wwis_url_is_answered_in_process(
    start_service: ServiceStarter, local_wmo: LocalWMOServer
) -> None:
    weather = start_service(forecasts, transport=local_wmo.transport())
    days = list(weather.stream("Tel Aviv"))
    bundled = json.loads(read_bundled("44_en.json"))["city"]["forecast"]["forecastDay"]
    assert [d.date.isoformat() for d in days] == [day["forecastDate"] for day in bundled]
    assert local_wmo.requests_for(44) == 1
    with pytest.raises(RuntimeError, match="not running"):
        local_wmo.base_url  # noqa: B018  (no server was started: no socket was opened)


def test_bodies_are_those_the_server_gives(local_wmo: LocalWMOServer) -> None:
    with httpx.Client(transport=local_wmo.transport()) as client:
        response = client.get(DEFAULT_BASE_URL.format(city_id=183))
        listing = client.get("http://anywhere/en/json/full_city_list.txt")
        missing = client.get("http://anywhere/en/json/99999_en.json")
    assert response.status_code == 200
    assert response.content == read_bundled("183_en.json")
    assert response.headers["content-type"] == "application/json"
    assert listing.text.startswith(read_bundled("full_city_list.txt").decode()[:20])
    assert missing.status_code == 404


def test_the_cache_expires_with_the_fake_clock(
    start_service: ServiceStarter, local_wmo: LocalWMOServer, fake_clock: FakeClock
) -> None:
    weather = start_service(
        forecasts, transport=local_wmo.transport(), cache_ttl=600, clock=fake_clock
    )
    list(weather.stream(44))
    fake_clock.advance(599)
    list(weather.stream(44))
    assert local_wmo.requests_for(44) == 1
    fake_clock.advance(1)
    list(weather.stream(44))
    assert local_wmo.requests_for(44) == 2


def test_faults_fail_the_request_and_the_service_serves_on(
    start_service: ServiceStarter, local_wmo: LocalWMOServer
) -> None:
    weather = start_service(forecasts, transport=local_wmo.transport(), timeout=0.5)
    local_wmo.fail(44, status=500)
    with pytest.raises(ServiceFailedError, match="HTTP 500"):
        list(weather.stream(44))
    local_wmo.behave()
    local_wmo.slow(44, 5.0)  # over the 0.5 s read timeout: a timeout, at once
    with pytest.raises(ServiceFailedError, match=r"within the 0\.5 s timeout") as info:
        list(weather.stream(44))
    assert isinstance(info.value.__cause__, ForecastFetchError)
    assert isinstance(info.value.__cause__.__cause__, httpx.ReadTimeout)
    local_wmo.slow(44, 0.1)  # under it: answered
    assert len(list(weather.stream(44))) > 0
    assert weather.state is State.READY
