"""A uvicorn server in a thread, on 127.0.0.1 and a free port (for tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nanoservices.http import Served, create_app
from nanoservices.http._host import discover
from nanoservices.http._run import serving_app

__all__ = ["serving", "serving_app"]


@contextmanager
def serving(target: str, **options: Any) -> Iterator[str]:
    """Serve the services of ``target`` (``module`` or ``module:factory``).

    The behaviour suite starts services with factory arguments of its choosing,
    so its server trusts clients with them (``client_args``): a test server only.
    """
    offload = options.pop("offload", True)
    services = [Served(f, offload=offload, client_args=True) for f in discover(target).values()]
    with serving_app(create_app(services, **options)) as url:
        yield url
