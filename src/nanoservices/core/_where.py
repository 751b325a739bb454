"""Where a service failed: the frame that raised, and the chain of calls that led there.

A service delegates (``yield from``, ``await``) and calls helpers; the line that
matters is the innermost one, where the exception was raised, and the path to it
(``cart > checkout > coupon_value``). [`Where`][] holds both. It is read from the
exception's traceback once, on the error path, skipping the library's own frames.

A traceback does not cross a process boundary, so a [`Where`][] does: as JSON in
an HTTP problem document and pickled over Ray. Its portable form
([`Where.portable`][]) names the file relative to the service's folder (or by its
module when it lies elsewhere), never by an absolute path, and holds no values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from types import CodeType, FrameType, TracebackType
from typing import Any, Final

__all__ = ["Where", "is_plumbing", "where_failed"]

_PACKAGE_DIR: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The folders holding the library's own plumbing (a service's frames are elsewhere).
_PLUMBING: Final = frozenset(
    os.path.join(_PACKAGE_DIR, folder) for folder in ("core", "aio", "compose", "observe")
)
#: Bounds for a location read from the wire (it is the other side's text).
_MAX_TEXT: Final = 1000
_MAX_CHAIN: Final = 64


def is_plumbing(filename: str) -> bool:
    """Whether ``filename`` is the library's own plumbing (``nanoservices/core/_*.py``,
    the asyncio engine, the routers...), not a service's code."""
    directory, base = os.path.split(os.path.abspath(filename))
    return directory in _PLUMBING and base.startswith("_")


@dataclass(frozen=True, slots=True)
class Where:
    """Where a service failed: ``str()`` reads ``coupon_value() at cartmod.py:8
    (cart > checkout > coupon_value)``.

    ``function``, ``file`` and ``line`` name the frame that raised; ``chain`` is
    the functions from the service's own down to that one. ``relative`` is the
    path from the service's folder (empty when the file lies outside it, and then
    ``module`` names it), the same wherever the error is read. ``file`` is absolute
    in the process that ran the service; in the [portable][nanoservices.core.Where.portable]
    form that crosses HTTP it is ``relative`` too.
    """

    function: str
    file: str
    line: int
    chain: tuple[str, ...]
    module: str = ""
    relative: str = ""

    def __str__(self) -> str:
        place = self.file or self.module or "<unknown>"
        text = f"{self.function}() at {place}:{self.line}"
        return text if len(self.chain) < 2 else f"{text} ({' > '.join(self.chain)})"

    def portable(self) -> Where:
        """The form that may leave the process: no absolute path (the file relative
        to the service's folder, else only its module)."""
        return replace(self, file=self.relative)

    def to_wire(self) -> dict[str, Any]:
        """JSON builtins (of the portable form: call [`portable`][] first; its
        ``file`` is the relative path, which [`from_wire`][] reads back as both)."""
        return {
            "function": self.function,
            "file": self.file,
            "module": self.module,
            "line": self.line,
            "chain": list(self.chain),
        }

    @classmethod
    def from_wire(cls, doc: object) -> Where | None:
        """The location ``doc`` describes, or None when it is not a well-formed one
        (it came from another process: every member is checked and bounded)."""
        if not isinstance(doc, dict):
            return None
        function, file, module = doc.get("function"), doc.get("file"), doc.get("module", "")
        line, chain = doc.get("line"), doc.get("chain")
        if not (isinstance(function, str) and isinstance(file, str) and isinstance(module, str)):
            return None
        if max(len(function), len(file), len(module)) > _MAX_TEXT:
            return None
        if type(line) is not int or not isinstance(chain, list) or len(chain) > _MAX_CHAIN:
            return None
        if not all(isinstance(name, str) and len(name) <= _MAX_TEXT for name in chain):
            return None
        return cls(function, file, line, tuple(chain), module, relative=file)


def _frames(tb: TracebackType | None) -> list[tuple[FrameType, int]]:
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def _relative(filename: str, folder: str) -> str:
    """``filename`` relative to ``folder`` when it lies inside it, else ``""``."""
    try:
        path = os.path.relpath(os.path.abspath(filename), folder)
    except ValueError:  # another drive (Windows)
        return ""
    return "" if path.startswith(os.pardir) else path.replace(os.sep, "/")


def where_failed(exc: BaseException, code: CodeType | None) -> Where | None:
    """Where ``exc`` was raised, read from its traceback; None when no frame of a
    service is in it. ``code`` is the service's own function: the chain starts at
    its frame when it is there (a streamed reply's source may run without it), and
    its folder is the one the portable form's paths are relative to."""
    frames = _frames(exc.__traceback__)
    start = next((i for i, (frame, _) in enumerate(frames) if frame.f_code is code), 0)
    chain = [
        (frame, line) for frame, line in frames[start:] if not is_plumbing(frame.f_code.co_filename)
    ]
    if not chain:
        return None
    frame, line = chain[-1]
    raised = frame.f_code
    folder = os.path.dirname(os.path.abspath((code or chain[0][0].f_code).co_filename))
    return Where(
        function=raised.co_qualname,
        file=raised.co_filename,
        line=line,
        chain=tuple(f.f_code.co_qualname for f, _ in chain),
        module=str(frame.f_globals.get("__name__", "")),
        relative=_relative(raised.co_filename, folder),
    )
