"""Public names report their public home, not the private module they live in.

``nanoservices.core._errors.ServiceError`` shows in tracebacks and reprs as
``nanoservices.core.ServiceError`` (the top level then claims its own names:
``nanoservices.ServiceError``). Each subpackage's ``__init__`` calls
[`publish`][] on its ``__all__``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["publish"]


def publish(home: str, names: Iterable[str], namespace: Mapping[str, object]) -> None:
    """Set ``__module__`` to ``home`` on the classes and functions ``names`` defined
    in a private module below the package (``nanoservices.…._x``)."""
    for name in names:
        obj = namespace[name]
        module = getattr(obj, "__module__", "")
        if not module.startswith("nanoservices.") or "._" not in module:
            continue
        try:
            obj.__module__ = home
        except (AttributeError, TypeError):
            pass
