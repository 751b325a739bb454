"""Which code wrote a journal: a factory's name and a fingerprint of its code.

Replaying a journal into other code shows frames that never existed, so time
travel refuses a journal whose factory is not the one given (unless forced, as
divergence does on purpose). The fingerprint is a SHA-256 of the factory
function's source text (of its bytecode when the source cannot be read), so it
is the same on every Python version and changes when the function is edited.
"""

from __future__ import annotations

import hashlib
import inspect
import marshal
from dataclasses import dataclass
from typing import Any

__all__ = ["Provenance", "provenance"]


@dataclass(frozen=True, slots=True)
class Provenance:
    """The factory a journal was written by: its qualified name and code fingerprint."""

    factory: str
    fingerprint: str

    def encode(self) -> dict[str, str]:
        return {"factory": self.factory, "fingerprint": self.fingerprint}


def provenance(factory: Any) -> Provenance:
    """The name (``module:qualname``) and code fingerprint of ``factory``."""
    fn = factory.spec.fn
    fn = getattr(fn, "__wrapped__", fn)
    name = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"
    try:
        text = inspect.getsource(fn).encode()
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        text = marshal.dumps(code) if code is not None else name.encode()
    return Provenance(name, hashlib.sha256(text).hexdigest()[:16])
