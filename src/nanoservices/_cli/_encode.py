"""Replies as JSON text, for the non-interactive mode's JSON lines.

Services reply with rich Python data (dataclasses, dates, tuples, sets,
bytes); msgspec writes all of those as JSON directly (dataclasses as objects,
dates as ISO strings, bytes as base64). Anything it cannot write becomes its
``repr`` string, so one odd reply never ends a pipeline.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["to_json"]

_encoder = msgspec.json.Encoder(enc_hook=repr)


def to_json(value: Any) -> str:
    """``value`` as one line of JSON (never raises for odd values: they become reprs)."""
    try:
        return _encoder.encode(value).decode("utf-8")
    except (TypeError, ValueError, OverflowError):  # say, an int beyond 64 bits in a dict key
        return _encoder.encode(repr(value)).decode("utf-8")
