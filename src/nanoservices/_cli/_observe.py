"""Statistics and inspection for the command line, when this build has them.

The statistics and inspection modules are optional to the CLI: they are
looked up by name (the public ``nanoservices`` exports first, then the private
modules), and when one is missing the CLI says so instead of failing. The
fallback inspection reads only the public handle attributes.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rich import box

if TYPE_CHECKING:
    from rich.table import Table
    from rich.tree import Tree

    from nanoservices.observe import Explanation, Inspection, Statistics

__all__ = ["Observer", "basic_inspection"]

_STATS_MODULE = "nanoservices.observe"
_INSPECT_MODULE = "nanoservices.observe"
_INSPECT_NAMES = ("inspect_service", "inspect", "inspection", "describe")


def _find(names: Iterable[str], module: str) -> Callable[..., Any] | None:
    """The first callable named ``names`` exported by ``nanoservices`` or by ``module``."""
    names = tuple(names)
    for where in ("nanoservices", module):
        try:
            found = importlib.import_module(where)
        except ImportError:
            continue
        for name in names:
            obj: object = getattr(found, name, None)
            if callable(obj):
                return obj
    return None


class Observer:
    """Collects statistics for the handles it watches, if the build can."""

    def __init__(self) -> None:
        self._collect = _find(["measure"], _STATS_MODULE)
        self._snapshot = _find(["statistics"], _STATS_MODULE)
        self._table = _find(["render_statistics_table"], _STATS_MODULE)
        self._inspect = _find(_INSPECT_NAMES, _INSPECT_MODULE)
        self._explain = _find(["explain"], _INSPECT_MODULE)

    @property
    def has_statistics(self) -> bool:
        """Whether this build has the statistics module."""
        return self._collect is not None and self._snapshot is not None

    @property
    def has_inspection(self) -> bool:
        """Whether this build has the inspection module."""
        return self._inspect is not None

    @property
    def missing_statistics(self) -> str:
        """Why there are no statistics (for messages)."""
        return f"statistics are not available in this build ({_STATS_MODULE} is missing)"

    def watch(self, handle: Any) -> bool:
        """Start collecting statistics for ``handle``; False if this build cannot."""
        if self._collect is None:
            return False
        try:
            self._collect(handle)
        except TypeError:  # a handle that reports no events
            return False
        return True

    def statistics(self, handle: Any) -> Statistics | None:
        """A statistics snapshot of ``handle`` (a frozen record), or None."""
        if self._snapshot is None:
            return None
        try:
            snapshot: Statistics = self._snapshot(handle)
        except TypeError:
            return None
        return snapshot

    def table(self, handles: Iterable[Any], title: str) -> Table | None:
        """A rich table of the statistics of ``handles``, or None."""
        if self._table is not None:
            try:
                table: Table = self._table(list(handles), title=title)
            except TypeError:
                return None
            # No vertical rules: nine columns then fit 80 (what rich assumes off a terminal).
            table.box = box.SIMPLE_HEAD
            return table
        return None

    def inspection_tree(self, handle: Any) -> Tree | None:
        """A rich tree of the service's ``yield from`` chain, or None without the module."""
        if self._inspect is None:
            return None
        try:
            tree: Tree = self._inspect(handle).tree()
        except Exception:  # inspection must never end a session
            return None
        return tree

    def inspect(self, handle: Any) -> Inspection | dict[str, Any]:
        """What the inspection module says about ``handle``, or the basic facts."""
        if self._inspect is not None:
            try:
                inspection: Inspection = self._inspect(handle)
                return inspection
            except Exception as exc:  # inspection must never end a session
                info = basic_inspection(handle)
                info["inspection_error"] = f"{type(exc).__name__}: {exc}"
                return info
        return basic_inspection(handle)

    def explain(self, error: BaseException) -> Explanation | None:
        """What ``explain()`` says about ``error`` (``str()`` it, or ``.rich()``), or
        None without the module."""
        if self._explain is None:
            return None
        try:
            explanation: Explanation = self._explain(error)
        except Exception:  # explaining must never end a session
            return None
        return explanation


def basic_inspection(handle: Any) -> dict[str, Any]:
    """The public facts about a handle: name, state, protocol, request type, where
    its generator is paused, what the restart policy did."""
    info: dict[str, Any] = {"service": handle.name, "state": handle.state.value}
    spec = getattr(handle, "spec", None)
    if spec is not None:
        info["protocol"] = spec.protocol.name
        info["function"] = f"{spec.fn.__module__}.{spec.fn.__qualname__}"
        request_type = getattr(spec.request_type, "__name__", None) or repr(spec.request_type)
        info["request_type"] = str(request_type).replace("typing.", "")
        info["restart_policy"] = repr(spec.restart) if spec.restart is not None else None
    greeting = getattr(handle, "greeting", None)
    if greeting is not None:
        info["greeting"] = greeting
    gen = getattr(handle, "generator", None)
    frame = getattr(gen, "gi_frame", None)
    if frame is not None:
        info["paused_at"] = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
    supervision = getattr(handle, "supervision", None)
    if supervision is not None and dataclasses.is_dataclass(supervision):
        info["supervision"] = {
            field.name: getattr(supervision, field.name)
            for field in dataclasses.fields(supervision)
        }
    return info
