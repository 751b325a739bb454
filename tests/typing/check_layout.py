"""Typing tests for the redesigned surface: checked by mypy, not run.

The seams are typed: ``to_async`` keeps the handle's types, the observers
take any handle kind and refuse what is not one, ``router`` gives a factory.
"""

from __future__ import annotations

from collections.abc import Generator, Hashable
from typing import Any, assert_type

import nanoservices as ns
from nanoservices.aio import AsyncHandle
from nanoservices.compose import Routed
from nanoservices.core import ServiceFactory, SharedHandle
from nanoservices.observe import (
    Explanation,
    Inspection,
    Recorder,
    Statistics,
    StatsCollector,
    Tracing,
    explain,
    inspect_service,
    measure,
    statistics,
    trace,
)


@ns.service
def echo() -> Generator[str, str, None]:
    reply = ""
    while True:
        reply = yield reply


async def seams() -> None:
    h = echo()
    assert_type(ns.to_async(h), AsyncHandle[str, str])
    shared: SharedHandle[str, str] = h.shared()
    assert_type(ns.to_async(shared), AsyncHandle[str, str])
    assert_type(trace(h, Recorder()), Tracing)
    assert_type(trace(ns.to_async(h)), Tracing)
    assert_type(measure(h), StatsCollector)
    assert_type(statistics(h), Statistics)
    assert_type(inspect_service(h), Inspection)
    assert_type(explain(ValueError("x"), h), Explanation)
    trace("not a handle")  # type: ignore[arg-type]
    statistics(42)  # type: ignore[arg-type]
    ns.to_async("not a handle")  # type: ignore[arg-type]


def composition() -> None:
    factory = ns.router({"echo": echo})
    assert_type(factory, ServiceFactory[[], Routed | tuple[Hashable, Any], Any])
    with factory() as h:
        h(ns.route("echo", "hi"))
    menu = ns.menu({"echo": echo}, prompt="?")
    assert_type(menu, ServiceFactory[[], Any, Any])
