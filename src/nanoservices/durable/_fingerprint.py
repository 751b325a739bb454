"""Which code wrote a journal: a factory's name and a fingerprint of its code.

Replaying a journal into other code shows frames that never existed, so time
travel refuses a journal whose factory is not the one given, or whose code
changed since (unless forced, as divergence does on purpose). A durable handle
records both when it opens a key. The fingerprint is a SHA-256 of the source of
the module that defines the factory's function (its helpers and sub-generators
live there too), or of the function's bytecode when there is no source: the
same on every Python version, and changed by any edit of that module.
"""

from __future__ import annotations

import hashlib
import inspect
import marshal
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["Provenance", "provenance"]


@dataclass(frozen=True, slots=True)
class Provenance:
    """The factory a journal was written by: ``module:qualname``, and its code's fingerprint."""

    factory: str
    fingerprint: str


_known: dict[Any, Provenance] = {}


def provenance(spec: Any) -> Provenance:
    """The factory name and code fingerprint of the service ``spec`` describes (worked
    out once per function: opening a key asks each time)."""
    found = _known.get(spec.fn)
    if found is None:
        found = _known[spec.fn] = _work_out(spec.fn)
    return found


def _work_out(fn: Any) -> Provenance:
    fn = inspect.unwrap(fn)
    module_name = getattr(fn, "__module__", None) or "?"
    name = f"{module_name}:{getattr(fn, '__qualname__', repr(fn))}"
    module = sys.modules.get(module_name)
    try:
        text = inspect.getsource(module if module is not None else fn).encode()
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        text = marshal.dumps(code) if code is not None else name.encode()
    return Provenance(name, hashlib.sha256(text).hexdigest()[:16])
