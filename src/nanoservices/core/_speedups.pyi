"""The optional C accelerator (``_speedups.c``): what ``_accel`` uses of it."""

from collections.abc import Callable
from typing import Any

#: The C local handle: the fields, ``call`` and ``__call__``; ``_accel`` adds the rest.
LocalHandle: type[Any]
#: The C shared handle, with its own lock type as ``_new_lock``.
SharedHandle: type[Any]

def set_fallback(name: str, call: Callable[..., Any], /) -> None:
    """The pure ``call`` the C type's ``call`` hands anything but its fast path to."""

def set_types(stream: type[Any], refusal: type[Any], checked_sink: type[Any], /) -> None:
    """The reply types ``call`` refuses, and the typed sink it reads directly."""
