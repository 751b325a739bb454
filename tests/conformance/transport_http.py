"""The HTTP transport: a real uvicorn server on 127.0.0.1 serving the example services."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from nanoservices.http import connect

from . import transports
from ._server import serving


@contextmanager
def _http() -> Iterator[Callable[..., Any]]:
    with serving("nanoservices.examples.basics") as url:

        def start(path: str, *args: Any) -> Any:
            return connect(url, path.partition(":")[2], *args)

        yield start


transports.TRANSPORTS.append(
    transports.Transport("http", _http, marks=(pytest.mark.http,)),
)
