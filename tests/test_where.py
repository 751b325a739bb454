"""A failure names the frame that raised and the chain that led there, on every local kind."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path

import pytest

from nanoservices import ServiceFailedError
from nanoservices.core import Where

from . import _cart_services as carts

CART_FILE = carts.__file__


def _line(marker: str) -> int:
    """The line of ``CART_FILE`` that ends with ``marker``."""
    lines = Path(CART_FILE).read_text().splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.endswith(marker))


def _notes(error: BaseException) -> str:
    return "\n".join(getattr(error, "__notes__", []))


@pytest.mark.parametrize("shared", [False, True], ids=["local", "shared"])
def test_the_error_names_the_raising_frame_and_the_chain(shared: bool) -> None:
    h = carts.cart().shared() if shared else carts.cart()
    h("start")
    with pytest.raises(ServiceFailedError) as caught:
        h("BOGUS")
    where = caught.value.where
    line = _line("# raises here")
    assert where == Where("coupon_value", CART_FILE, line, ("cart", "checkout", "coupon_value"),
                          module=carts.__name__, relative="_cart_services.py")  # fmt: skip
    assert (
        f"the service failed in coupon_value() at {CART_FILE}:{line} "
        "(cart > checkout > coupon_value)"
    ) in _notes(caught.value)
    assert "cart() at" not in _notes(caught.value)  # not the outermost frame's line


def test_an_async_service_names_the_raising_frame_and_the_chain() -> None:
    async def main() -> ServiceFailedError:
        h = await carts.acart()
        with pytest.raises(ServiceFailedError) as caught:
            await h("BOGUS")
        await h.aclose()
        return caught.value

    error = asyncio.run(main())
    line = _line("# raises here")
    assert error.where is not None
    assert (error.where.function, error.where.line) == ("coupon_value", line)
    assert error.where.chain == ("acart", "acheckout", "coupon_value")
    assert f"coupon_value() at {CART_FILE}:{line} (acart > acheckout > coupon_value)" in _notes(
        error
    )


def test_a_failed_stream_names_the_line_of_its_source() -> None:
    h = carts.cart()
    with pytest.raises(ServiceFailedError) as caught:
        list(h.stream("items"))
    where = caught.value.where
    assert where is not None
    assert (where.function, where.line) == ("items", _line("# the stream raises here"))
    assert f"items() at {CART_FILE}:{where.line}" in _notes(caught.value)


def test_the_location_survives_pickling_and_has_a_portable_form() -> None:
    h = carts.cart()
    h("start")
    with pytest.raises(ServiceFailedError) as caught:
        h("BOGUS")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.where == caught.value.where
    portable = caught.value.where.portable()  # type: ignore[union-attr]
    assert portable.file == "_cart_services.py"  # relative to the service's folder
    assert portable.relative == caught.value.where.relative == "_cart_services.py"  # type: ignore[union-attr]
    assert "/" not in str(portable).split(" at ")[1].split(":")[0]
    assert Where.from_wire(portable.to_wire()) == portable


def test_a_frame_outside_the_services_folder_is_shown_by_its_module() -> None:
    import json

    where = Where("raw_decode", json.decoder.__file__, 355, ("svc", "raw_decode"),
                  module="json.decoder")  # fmt: skip
    assert str(where.portable()) == "raw_decode() at json.decoder:355 (svc > raw_decode)"


@pytest.mark.parametrize(
    "doc",
    [None, 3, "x", {}, {"function": "f"}, {"function": 1, "file": "a", "line": 2, "chain": []},
     {"function": "f", "file": "a", "line": "2", "chain": []},
     {"function": "f", "file": "a", "line": 2, "chain": [1]},
     {"function": "f" * 100_000, "file": "a", "line": 2, "chain": []}],
)  # fmt: skip
def test_a_location_from_the_wire_is_checked(doc: object) -> None:
    assert Where.from_wire(doc) is None


def test_explain_shows_the_chain_of_an_error_from_another_process() -> None:
    from nanoservices.core import RemoteCause
    from nanoservices.observe import explain

    error = ServiceFailedError("cart", "BOGUS")
    error.__cause__ = RemoteCause("KeyError", "'BOGUS'")
    error.where = Where("coupon_value", "cartmod.py", 8, ("cart", "checkout", "coupon_value"),
                        module="cartmod")  # fmt: skip
    ex = explain(error)
    assert [(f.function, f.where) for f in ex.frames] == [
        ("cart", ""), ("checkout", ""), ("coupon_value", "cartmod.py:8")
    ]  # fmt: skip
    text = str(ex)
    assert "└─ coupon_value  cartmod.py:8" in text
    assert "(called)" not in text
    assert "raised in another process" in text
