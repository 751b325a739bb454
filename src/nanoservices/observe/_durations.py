"""How a duration is written for people, in trace lines and statistics tables alike."""

from __future__ import annotations

__all__ = ["format_duration"]


def format_duration(ns: float) -> str:
    """A duration for people: ``850 ns``, ``1.2 µs``, ``3.4 ms``, ``2.0 s``."""
    if ns < 1_000:
        return f"{ns:.0f} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.1f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f} ms"
    return f"{ns / 1_000_000_000:.1f} s"
