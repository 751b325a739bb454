"""The pure-Python local handle, in the same run as the C accelerator.

When the accelerator is active, ``local`` runs the behaviour suite over its C
type; this transport runs it over the pure-Python reference class too, so both
implementations pass the same suite in one run. (Without the accelerator
``local`` is already the pure class, and this transport is left out.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nanoservices.core import ACCELERATED, ServiceFactory
from nanoservices.core._handle import PureLocalHandle

from .transports import TRANSPORTS, Transport, load


def _start(path: str, *args: Any) -> Any:
    factory = load(path)
    if type(factory) is ServiceFactory:
        return PureLocalHandle(factory.spec, args)
    return factory(*args)  # a factory of another kind makes its own handles


@contextmanager
def _pure() -> Iterator[Callable[..., Any]]:
    yield _start


if ACCELERATED:
    TRANSPORTS.append(Transport("local-pure", _pure))
