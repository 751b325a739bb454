"""The hashing service: digests match hashlib; wrong types and algorithms are refused."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nanoservices import InvalidRequestError, ServiceFailedError, State
from nanoservices.services.hashing import ALGORITHMS, hasher, md5


def test_md5_of_a_str_is_hashlibs_hex_digest() -> None:
    with md5() as h:
        assert h("hello") == "5d41402abc4b2a76b9719d911017c592"


def test_md5_of_bytes_is_hashed_as_is() -> None:
    with md5() as h:
        assert h(b"\x00\xffhello") == hashlib.md5(b"\x00\xffhello").hexdigest()


def test_md5_is_named_md5_and_hasher_is_named_hasher() -> None:
    with md5() as a, hasher() as b:
        assert (a.name, b.name) == ("md5", "hasher")


def test_an_empty_request_has_a_digest_and_does_not_end_the_service() -> None:
    with md5() as h:
        assert h("") == hashlib.md5(b"").hexdigest()
        assert h.state is State.READY


@given(data=st.one_of(st.text(), st.binary()))
def test_md5_matches_hashlib_for_any_str_or_bytes(data: str | bytes) -> None:
    raw = data.encode() if isinstance(data, str) else data
    with md5() as h:
        assert h(data) == hashlib.md5(raw).hexdigest()


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_every_listed_algorithm_matches_hashlib(algorithm: str) -> None:
    with hasher(algorithm) as h:
        assert h("nanoservices") == hashlib.new(algorithm, b"nanoservices").hexdigest()


def test_the_algorithm_name_is_case_insensitive() -> None:
    with hasher("SHA256") as h:
        assert h("x") == hashlib.sha256(b"x").hexdigest()


def test_the_encoding_is_configurable_for_str_requests() -> None:
    with hasher("sha1", encoding="utf-16") as h:
        assert h("héllo") == hashlib.sha1("héllo".encode("utf-16")).hexdigest()
        assert h(b"abc") == hashlib.sha1(b"abc").hexdigest()  # bytes are not re-encoded


@pytest.mark.parametrize("request_", [42, None, 4.5, ["a"], bytearray(b"a")])
def test_a_wrong_type_is_refused_and_the_service_lives_on(request_: object) -> None:
    with md5() as h:
        with pytest.raises(InvalidRequestError, match=re.escape("expected str | bytes")) as info:
            h(request_)  # type: ignore[arg-type]
        assert info.value.service == "md5"
        assert isinstance(info.value, TypeError)
        assert h.state is State.READY
        assert h("hello") == "5d41402abc4b2a76b9719d911017c592"


def test_a_str_the_encoding_cannot_represent_is_refused_and_the_service_survives() -> None:
    with hasher(encoding="ascii") as h:
        with pytest.raises(InvalidRequestError, match="cannot encode it as ascii"):
            h("é")
        assert h.state is State.READY  # refused, never killed (issue 11, item 7)
        assert h("e") == hashlib.md5(b"e").hexdigest()


def test_an_unknown_algorithm_is_refused_at_construction_naming_the_service() -> None:
    with pytest.raises(
        ServiceFailedError, match=r"'hasher'.*unknown hash algorithm 'nope'"
    ) as info:
        hasher("nope")
    assert isinstance(info.value.__cause__, ValueError)
    assert "sha256" in str(info.value.__cause__)  # it lists the choices


def test_a_variable_length_algorithm_is_refused_at_construction() -> None:
    with pytest.raises(ServiceFailedError, match="variable-length"):
        hasher("shake_128")


def test_an_unknown_encoding_is_refused_at_construction() -> None:
    with pytest.raises(ServiceFailedError, match="unknown encoding"):
        hasher(encoding="no-such-codec")


def test_closing_the_service_refuses_later_calls() -> None:
    h = md5()
    h.close()
    assert h.state is State.CLOSED
