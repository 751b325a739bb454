"""The local WWIS stand-in: serves the bundled files on loopback, counts, misbehaves."""

from __future__ import annotations

import json

import httpx
import pytest

from nanoservices.services.forecast import LocalWMOServer, serve_local_wmo
from nanoservices.services.forecast._data import read_bundled

pytestmark = pytest.mark.http


def get(wmo: LocalWMOServer, path: str, timeout: float = 5.0) -> httpx.Response:
    with httpx.Client(timeout=timeout) as client:
        return client.get(wmo.base_url + path)


def test_it_listens_on_loopback_only(wmo: LocalWMOServer) -> None:
    assert wmo.base_url.startswith("http://127.0.0.1:")
    assert wmo.url_format == wmo.base_url + "/en/json/{city_id}_en.json"


@pytest.mark.parametrize("city_id", [44, 183, 252])
def test_it_serves_the_bundled_files_byte_for_byte(wmo: LocalWMOServer, city_id: int) -> None:
    response = get(wmo, f"/en/json/{city_id}_en.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == read_bundled(f"{city_id}_en.json")


def test_it_serves_the_city_list(wmo: LocalWMOServer) -> None:
    response = get(wmo, "/en/json/full_city_list.txt")
    assert response.text.startswith('"Country";"City";"CityId"')


def test_it_counts_requests_per_path(wmo: LocalWMOServer) -> None:
    for _ in range(3):
        get(wmo, "/en/json/44_en.json")
    get(wmo, "/en/json/999_en.json")
    assert wmo.requests_for(44) == 3
    assert wmo.requests_for(999) == 1
    assert wmo.requests_for(252) == 0


def test_an_unknown_city_is_404(wmo: LocalWMOServer) -> None:
    assert get(wmo, "/en/json/999_en.json").status_code == 404


@pytest.mark.parametrize("status", [404, 500, 503])
def test_it_fails_on_demand_then_behaves(wmo: LocalWMOServer, status: int) -> None:
    wmo.fail(44, status)
    assert get(wmo, "/en/json/44_en.json").status_code == status
    wmo.behave(44)
    assert get(wmo, "/en/json/44_en.json").status_code == 200


def test_it_is_slow_on_demand(wmo: LocalWMOServer) -> None:
    wmo.slow(44, 2.0)
    with pytest.raises(httpx.ReadTimeout):
        get(wmo, "/en/json/44_en.json", timeout=0.1)


def test_it_truncates_on_demand(wmo: LocalWMOServer) -> None:
    wmo.truncate(44)
    body = get(wmo, "/en/json/44_en.json").content
    assert body == read_bundled("44_en.json")[: len(body)]
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_reset_restores_bodies_faults_and_counts(wmo: LocalWMOServer) -> None:
    wmo.set_body(44, b"nonsense")
    wmo.remove(252)
    wmo.fail(183)
    wmo.reset()
    assert get(wmo, "/en/json/44_en.json").content == read_bundled("44_en.json")
    assert get(wmo, "/en/json/252_en.json").status_code == 200
    assert get(wmo, "/en/json/183_en.json").status_code == 200
    assert wmo.requests_for(44) == 1


def test_serve_local_wmo_gives_the_url_format_and_stops_after() -> None:
    with serve_local_wmo({7: b'{"x": 1}'}) as url:
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client() as client:
            assert client.get(url.format(city_id=7)).json() == {"x": 1}
    with httpx.Client() as client, pytest.raises(httpx.ConnectError):
        client.get(url.format(city_id=7))


def test_stop_is_idempotent_and_base_url_needs_a_running_server() -> None:
    server = LocalWMOServer()
    with pytest.raises(RuntimeError, match="not running"):
        server.base_url  # noqa: B018
    server.start()
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    server.stop()
    server.stop()
