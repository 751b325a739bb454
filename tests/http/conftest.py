"""A real uvicorn server on 127.0.0.1 (port 0) for the HTTP tests, once per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance._server import serving

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving("nanoservices.examples.basics", max_body=4096) as base:
        yield base
