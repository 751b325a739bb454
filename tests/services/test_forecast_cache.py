"""The expiring cache behind "one HTTP request per city"."""

from __future__ import annotations

import math

import pytest

from nanoservices.services.forecast._cache import ExpiringCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_kept_until_its_ttl_passes() -> None:
    clock = FakeClock()
    cache: ExpiringCache[int, str] = ExpiringCache(60, clock)
    cache.put(44, "Tel Aviv")
    clock.now += 59.9
    assert cache.get(44) == "Tel Aviv"
    clock.now += 0.1
    assert cache.get(44) is None
    assert len(cache) == 0  # dropped once seen expired


def test_ttl_zero_keeps_nothing() -> None:
    cache: ExpiringCache[int, str] = ExpiringCache(0, FakeClock())
    cache.put(44, "Tel Aviv")
    assert cache.get(44) is None


def test_ttl_infinity_keeps_forever() -> None:
    clock = FakeClock()
    cache: ExpiringCache[int, str] = ExpiringCache(math.inf, clock)
    cache.put(44, "Tel Aviv")
    clock.now = 1e300
    assert cache.get(44) == "Tel Aviv"


@pytest.mark.parametrize("ttl", [-1, math.nan])
def test_a_negative_or_nan_ttl_is_refused(ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl"):
        ExpiringCache(ttl)


def test_clear_forgets_everything() -> None:
    cache: ExpiringCache[int, str] = ExpiringCache(60)
    cache.put(1, "a")
    cache.clear()
    assert cache.get(1) is None
