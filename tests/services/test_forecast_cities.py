"""The WWIS city list: parsing, and resolving names to cities."""

from __future__ import annotations

import pytest

from nanoservices.services.forecast import City, CityIndex, CityLookupError, bundled_cities
from nanoservices.services.forecast._cities import parse_city_list

SAMPLE = (
    '"Country";"City";"CityId"\n'
    '"Israel";"Tel Aviv";"44"\n'
    '"Canada";"Calgary, Alberta";"622"\n'
    '"Australia";"Hamilton";"413"\n'
    '"New Zealand";"Hamilton";"1551"\n'
)


def test_parse_skips_the_header_and_reads_quoted_rows() -> None:
    assert parse_city_list(SAMPLE)[:2] == [
        City(44, "Tel Aviv", "Israel"),
        City(622, "Calgary, Alberta", "Canada"),
    ]


def test_parse_refuses_a_malformed_row_with_its_line_number() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_city_list('"Country";"City";"CityId"\n"Israel";"Tel Aviv"\n')


def test_the_bundled_list_has_every_wwis_city() -> None:
    assert len(bundled_cities()) == 2926
    assert bundled_cities().by_id(44) == City(44, "Tel Aviv", "Israel")


@pytest.mark.parametrize(
    ("name", "city_id"),
    [
        ("Tel Aviv", 44),
        ("tel aviv", 44),
        ("  TEL   aviv ", 44),
        ("Tokyo, Japan", 183),
        ("dar es salaam, united republic of tanzania", 252),
        ("Dar Es Salaam, United Republic", 252),  # a country cut short
        ("Calgary, Alberta", 622),  # a name with a comma in it
        ("Calgary", 622),  # ... found by its part before the comma
        ("Calgary, Alberta, Canada", 622),
        ("Hamilton, New Zealand", 1551),
    ],
)
def test_names_resolve_case_and_space_insensitively(name: str, city_id: int) -> None:
    assert bundled_cities().resolve(name).id == city_id


def test_an_ambiguous_name_is_refused_listing_the_candidates() -> None:
    with pytest.raises(CityLookupError, match="names 3 cities") as info:
        bundled_cities().resolve("Hamilton")
    assert info.value.candidates == (
        "Hamilton, Australia (413)",
        "Hamilton, New Zealand (1551)",
        "Hamilton, United Kingdom of Great Britain and Northern Ireland (1377)",
    )
    assert "Ask for 'City, Country' or by id" in str(info.value)


def test_a_long_candidate_list_is_cut_short() -> None:
    index = CityIndex(City(i, "Springfield", f"Country {i:02}") for i in range(1, 15))
    with pytest.raises(CityLookupError, match="and 4 more") as info:
        index.resolve("Springfield")
    assert len(info.value.candidates) == 14


@pytest.mark.parametrize("name", ["Atlantis", "", "Tel Aviv, Japan", "Hamilton, Mars"])
def test_an_unknown_name_is_refused(name: str) -> None:
    with pytest.raises(CityLookupError, match="no city called"):
        bundled_cities().resolve(name)


def test_unlisted_ids_are_none() -> None:
    assert bundled_cities().by_id(10**9) is None


def test_a_city_prints_as_name_country_and_id() -> None:
    assert str(City(44, "Tel Aviv", "Israel")) == "Tel Aviv, Israel (44)"
