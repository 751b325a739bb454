"""The WWIS city list: parse it, and resolve a city name or id to a city.

The list (``data/full_city_list.txt``, a 2020 snapshot of WWIS's own) has one
``"Country";"City";"CityId"`` row per city. Names are matched without regard to
case or repeated spaces; in ``"City, Country"`` the country may be cut short
(``"Hamilton, United Kingdom"``). Some names hold a region after a comma (``"Calgary,
Alberta"``), so a name is tried whole first, then as ``"City, Country"``, and
finally by the part before its first comma (``"Calgary"``).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping

from ._data import read_bundled
from ._errors import CityLookupError
from ._records import City

__all__ = ["CityIndex", "bundled_cities", "parse_city_list"]

#: How many candidates an ambiguity error lists before it says "and N more".
_MAX_CANDIDATES = 10


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def parse_city_list(text: str) -> list[City]:
    """Parse WWIS's ``full_city_list.txt`` format: a header, then quoted ``;`` rows.

    Raises:
        ValueError: a row does not have three fields or its id is not a number
            (the message gives the line number).
    """
    cities: list[City] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith('"Country";'):
            continue
        fields = [field.strip().strip('"') for field in line.split(";")]
        if len(fields) != 3 or not fields[2].isdigit():
            raise ValueError(
                f'city list line {number}: expected "Country";"City";"Id", got {line!r}'
            )
        country, name, city_id = fields
        cities.append(City(int(city_id), name, country))
    return cities


class CityIndex:
    """Finds cities by id or by name; built once from a city list."""

    __slots__ = ("_by_id", "_by_name", "_by_short_name")

    def __init__(self, cities: Iterable[City]) -> None:
        self._by_id: dict[int, City] = {}
        by_name: defaultdict[str, list[City]] = defaultdict(list)
        by_short: defaultdict[str, list[City]] = defaultdict(list)
        for city in cities:
            self._by_id[city.id] = city
            by_name[_key(city.name)].append(city)
            if "," in city.name:
                by_short[_key(city.name.split(",", 1)[0])].append(city)
        self._by_name: Mapping[str, list[City]] = dict(by_name)
        self._by_short_name: Mapping[str, list[City]] = dict(by_short)

    def __len__(self) -> int:
        return len(self._by_id)

    def by_id(self, city_id: int) -> City | None:
        """The listed city with this id, or None (the list may lag behind WWIS)."""
        return self._by_id.get(city_id)

    def resolve(self, name: str) -> City:
        """The one city called ``name`` (``"City"`` or ``"City, Country"``).

        The country may be abbreviated to its start: WWIS names countries in
        full (``"United Republic of Tanzania"``).

        Raises:
            CityLookupError: no city has that name, or several do (its
                ``candidates`` list them, to pick one by country or id).
        """
        key = _key(name)
        matches = self._by_name.get(key, [])
        if not matches and "," in key:
            city_part, _, country = key.rpartition(",")
            country = country.strip()
            matches = [
                city
                for city in self._named(city_part.strip())
                if _key(city.country).startswith(country)
            ]
        if not matches:
            matches = self._by_short_name.get(key, [])
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise CityLookupError(name, f"no city called {name!r} in the WWIS city list")
        return self._ambiguous(name, matches)

    def _named(self, key: str) -> list[City]:
        return self._by_name.get(key) or self._by_short_name.get(key, [])

    @staticmethod
    def _ambiguous(name: str, matches: list[City]) -> City:
        candidates = tuple(str(city) for city in matches)
        shown = "; ".join(candidates[:_MAX_CANDIDATES])
        if len(candidates) > _MAX_CANDIDATES:
            shown += f"; and {len(candidates) - _MAX_CANDIDATES} more"
        raise CityLookupError(
            name,
            f"{name!r} names {len(matches)} cities: {shown}. Ask for 'City, Country' or by id",
            candidates,
        )


@functools.cache
def bundled_cities() -> CityIndex:
    """The index of the bundled WWIS city list, loaded once per process."""
    return CityIndex(parse_city_list(read_bundled("full_city_list.txt").decode("utf-8")))
