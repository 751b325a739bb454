"""Parametrizes the behaviour suite over every transport in ``transports.TRANSPORTS``."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import transports

#: The optional dependencies a transport may lack; only their absence drops it.
_EXTRAS = frozenset({"ray", "httpx", "starlette", "uvicorn"})

# Transport modules (transport_*.py) register themselves on import.
for _info in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if _info.name.startswith("transport_"):
        try:
            importlib.import_module(f"{__package__}.{_info.name}")
        except ModuleNotFoundError as missing:
            # A transport whose extra is not installed is left out; any other
            # import error (a renamed name in nanoservices) must fail the run,
            # not quietly shrink the suite.
            if (missing.name or "").partition(".")[0] not in _EXTRAS:
                raise


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "transport" in metafunc.fixturenames:
        metafunc.parametrize(
            "transport", [t.param() for t in transports.TRANSPORTS], scope="module"
        )


@pytest.fixture(scope="module")
def start(transport: transports.Transport) -> Iterator[Callable[..., Any]]:
    """``start("module:factory", *args)`` -> a handle on the chosen transport."""
    with transport.session() as start_service:
        yield start_service
