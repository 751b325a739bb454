"""``__all__`` is honest: every public name exists, and no private one leaks."""

from __future__ import annotations

import nanoservices


def test_all_names_exist_and_are_public() -> None:
    for name in nanoservices.__all__:
        assert hasattr(nanoservices, name), name
        assert not name.startswith("_")


def test_no_public_name_is_missing_from_all() -> None:
    public = {
        name
        for name, value in vars(nanoservices).items()
        if not name.startswith("_") and getattr(value, "__module__", "") == "nanoservices"
    }
    assert public <= set(nanoservices.__all__)


def test_exports_report_the_package_as_their_module() -> None:
    assert nanoservices.LocalHandle.__module__ == "nanoservices"
    assert nanoservices.ServiceError.__module__ == "nanoservices"
