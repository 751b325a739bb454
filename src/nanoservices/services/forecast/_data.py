"""Reads the files bundled in ``data/``: WWIS's city list and three city forecasts."""

from __future__ import annotations

from importlib import resources

__all__ = ["BUNDLED_CITY_IDS", "read_bundled"]

#: Cities whose forecast JSON is bundled: Tel Aviv (the talk's), Tokyo, Dar Es Salaam.
BUNDLED_CITY_IDS = (44, 183, 252)


def read_bundled(name: str) -> bytes:
    """The bytes of ``data/<name>``, for example ``"44_en.json"``.

    Raises:
        FileNotFoundError: no such bundled file.
    """
    package = __name__.rpartition(".")[0]
    return (resources.files(package) / "data" / name).read_bytes()
