"""The pure-Python local and shared handles, in the same run as the C accelerator.

When the accelerator is active, ``local`` and ``shared`` run the behaviour suite
over its C types; these transports run it over the pure-Python reference classes
too, so both implementations pass the same suite in one run. (Without the accelerator
``local`` is already the pure class, and this transport is left out.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nanoservices.core import ACCELERATED, ServiceFactory
from nanoservices.core._handle import PureLocalHandle
from nanoservices.core._shared import PureSharedHandle

from .transports import TRANSPORTS, Transport, load


def _start(path: str, *args: Any) -> Any:
    factory = load(path)
    if type(factory) is ServiceFactory:
        return PureLocalHandle(factory.spec, args)
    return factory(*args)  # a factory of another kind makes its own handles


@contextmanager
def _pure() -> Iterator[Callable[..., Any]]:
    yield _start


def _start_shared(path: str, *args: Any) -> Any:
    factory = load(path)
    if type(factory) is ServiceFactory:
        return PureSharedHandle(PureLocalHandle(factory.spec, args), timeout=5.0)
    return factory(*args).shared(timeout=5.0)


@contextmanager
def _pure_shared() -> Iterator[Callable[..., Any]]:
    yield _start_shared


if ACCELERATED:
    TRANSPORTS.append(Transport("local-pure", _pure))
    TRANSPORTS.append(Transport("shared-pure", _pure_shared))
