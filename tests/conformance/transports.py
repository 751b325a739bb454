"""The transports the behaviour suite runs over.

A transport starts a service named by import path (``module:factory``, so that
out-of-process transports can start it too) and returns a handle with the
synchronous handle interface. Each transport module adds itself to
``TRANSPORTS``; ``conftest.py`` parametrizes every behaviour test over them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest


def load(path: str) -> Any:
    """The object named by ``module:attribute``."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Transport:
    """How to reach a service: ``session()`` yields a ``start(path, *args)`` function."""

    name: str
    session: Callable[[], AbstractContextManager[Callable[..., Any]]]
    marks: tuple[Any, ...] = field(default=())

    def param(self) -> Any:
        return pytest.param(self, id=self.name, marks=self.marks)


@contextmanager
def _local() -> Iterator[Callable[..., Any]]:
    yield lambda path, *args: load(path)(*args)


@contextmanager
def _shared() -> Iterator[Callable[..., Any]]:
    yield lambda path, *args: load(path)(*args).shared(timeout=5.0)


TRANSPORTS: list[Transport] = [Transport("local", _local), Transport("shared", _shared)]
