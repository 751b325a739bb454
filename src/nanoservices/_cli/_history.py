"""Prompt history for ``nanoservices run``: readline, with a file kept between sessions.

The file lives in the XDG state directory (``$XDG_STATE_HOME/nanoservices``,
default ``~/.local/state/nanoservices``), or in the temp directory when that
cannot be created. Without the readline module (some platforms), the prompt
still works, only without history and completion.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from ._commands import COMMANDS

__all__ = ["default_history_path", "forget_last", "history"]

_HISTORY_LENGTH = 1000


def _readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return None
    return readline


def default_history_path() -> Path:
    """Where the history file goes when ``--history`` is not given."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    directory = Path(state) / "nanoservices"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        directory = Path(tempfile.gettempdir()) / f"nanoservices-{os.getuid()}"
        directory.mkdir(exist_ok=True)
    return directory / "run_history"


def _complete(text: str, index: int) -> str | None:
    if not text.startswith(":"):
        return None
    matches = [f":{name} " for name in COMMANDS if f":{name}".startswith(text)]
    return matches[index] if index < len(matches) else None


@contextlib.contextmanager
def history(path: Path | None) -> Iterator[None]:
    """Load the history file (if any) for the block, and save it afterwards.

    ``path`` None means no history file; completion of ``:commands`` is on either way.
    """
    readline = _readline()
    if readline is None:
        yield
        return
    readline.set_completer(_complete)
    readline.set_completer_delims(" \t\n")
    readline.parse_and_bind("tab: complete")
    readline.clear_history()
    if path is not None:
        with contextlib.suppress(OSError):
            readline.read_history_file(path)
        readline.set_history_length(_HISTORY_LENGTH)
    try:
        yield
    finally:
        if path is not None:
            with contextlib.suppress(OSError):
                readline.write_history_file(path)


def forget_last(line: str) -> None:
    """Drop ``line`` from history if it was the last entry (answers to "more?" prompts)."""
    readline = _readline()
    if readline is None or not line:
        return
    length = readline.get_current_history_length()
    if length and readline.get_history_item(length) == line:
        readline.remove_history_item(length - 1)
