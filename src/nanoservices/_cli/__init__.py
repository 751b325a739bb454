"""The ``nanoservices`` command line (typer + rich); uses the public API only.

Each sub-command lives in its own module and registers itself on ``app`` when
imported; commands whose optional dependencies are missing are left out.
"""

from __future__ import annotations

import importlib

from ._app import app

__all__ = ["app", "main"]

_COMMAND_MODULES = ("demo", "run", "serve", "bench", "journal", "travel")


def _register_commands() -> None:
    for module in _COMMAND_MODULES:
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name is None or not exc.name.startswith(__name__):
                raise  # a real missing dependency inside a command module


def main() -> None:
    """Entry point of the ``nanoservices`` console script."""
    _register_commands()
    app()
