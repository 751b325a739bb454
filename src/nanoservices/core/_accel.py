"""Choose the local and shared handles' implementations at import time: the C
accelerator, or the pure-Python classes.

The pure-Python [`LocalHandle`][nanoservices.core.LocalHandle] and
[`SharedHandle`][nanoservices.core.SharedHandle] are the reference and the
fallback. The optional extension ``_speedups`` (compiled at install time when a C
compiler is present) provides, for each, one C type holding the handle's fields,
its ``call`` and its ``__call__``; every other method is attached here from the
pure-Python class, so the two share one definition of everything but the hot
path. (It must be one type: CPython's fast path for calling a C method checks the
exact type, so a C base under a Python subclass would lose most of the gain.) The
shared C type also brings its own lock type, ``_new_lock``, which its ``call``
takes without a method call.

``NANOSERVICES_PURE_PYTHON=1`` in the environment forces the pure path.
"""

from __future__ import annotations

import os
import types
from typing import Any

__all__ = ["ENV_PURE", "accelerate"]

#: Set to a non-empty value other than ``0`` to use the pure-Python handle.
ENV_PURE = "NANOSERVICES_PURE_PYTHON"

# Not copied onto the C type: its own storage, and its own hot path.
_OWN = frozenset({"__dict__", "__weakref__", "call", "__call__", "_new_lock"})


def _forced_pure() -> bool:
    return os.environ.get(ENV_PURE, "") not in ("", "0")


def accelerate(pure: type[Any], name: str = "LocalHandle") -> tuple[type[Any], bool]:
    """The class to use for ``pure`` (the pure-Python ``LocalHandle`` or
    ``SharedHandle``, given by ``name``), and whether it is the C type: ``pure``
    itself when forced or when the extension is missing."""
    if _forced_pure():
        return pure, False
    try:
        from . import _speedups

        fast: type[Any] = getattr(_speedups, name)
        own_fields = set(pure.__slots__)
        lacking = sorted(own_fields - set(vars(fast)) - {"__weakref__"})
        if lacking:  # the C type must hold every field of the pure class
            raise TypeError(f"the C {name} has no field(s) {', '.join(lacking)}")
        for attr, value in vars(pure).items():
            if attr in _OWN or attr in own_fields:
                continue  # the C type's own member descriptors, call and __call__
            setattr(fast, attr, value)
        fast.__class_getitem__ = classmethod(types.GenericAlias)  # LocalHandle[Req, Rep]
        _speedups.set_fallback(name, pure.call)
        from ._protocol import Refusal, Stream
        from ._sends import CheckedSink

        # the replies call() refuses, told by type; the typed sink it reads directly
        _speedups.set_types(Stream, Refusal, CheckedSink)
    except (ImportError, AttributeError, TypeError):
        # missing, or built from another version of the source (an editable
        # install's in-place build is not redone when the C file changes; reinstall):
        # the pure class, untouched, is always right. tests/test_accel.py fails
        # when a compiled module is present but not used.
        return pure, False
    return fast, True
