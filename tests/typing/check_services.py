"""Typing tests for the bundled services: checked by mypy, not run."""

from __future__ import annotations

from typing import assert_type

import nanoservices as ns
from nanoservices.services.forecast import DailyForecast, forecasts
from nanoservices.services.hashing import hasher, md5


def usage() -> None:
    h = md5()
    assert_type(h, ns.LocalHandle[str | bytes, str])
    assert_type(h("hello"), str)
    assert_type(h(b"hello"), str)
    h(42)  # type: ignore[arg-type]
    hasher(algorithm=5)  # type: ignore[arg-type]

    weather = forecasts(base_url="http://127.0.0.1:1/{city_id}.json", timeout=1.0)
    assert_type(weather.stream(44), ns.core.ReplyStream[DailyForecast])
    assert_type(next(weather.stream("Tel Aviv")), DailyForecast)
    weather.stream(4.5)  # type: ignore[call-overload]
    forecasts(cache_ttl="1h")  # type: ignore[arg-type]
