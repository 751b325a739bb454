"""The ``:commands`` of a ``nanoservices run`` session, shared by both front ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["COMMANDS", "Command", "CommandError", "parse_command"]

#: name -> (argument, what it does); the interactive ``:help`` prints this table.
COMMANDS: Final[dict[str, tuple[str, str]]] = {
    "stream": ("REQUEST", "send REQUEST and show its streamed items one by one"),
    "all": ("REQUEST", "send REQUEST and show all of its streamed items (Ctrl-C stops)"),
    "reset": ("", "back to waiting for a request: ends an open stream, restarts a failed service"),
    "throw": ("NAME", "raise exception class NAME (from the service's module) inside it"),
    "restart": ("", "a fresh instance from the factory (its state is lost)"),
    "close": ("", "close the service (its finally blocks run)"),
    "state": ("", "the service's state: ready, streaming, failed, closed"),
    "stats": ("", "requests, errors, items and latency percentiles so far"),
    "inspect": ("", "what the service is and where its generator is paused"),
    "explain": ("", "where and why the last error happened: the line, the chain, the policy"),
    "traceback": ("", "the last error's full traceback"),
    "help": ("", "this list"),
    "quit": ("", "leave (Ctrl-D too); the service is closed"),
}
_ALIASES: Final = {"exit": "quit", "q": "quit", "s": "stream", "?": "help", "h": "help"}


class CommandError(ValueError):
    """An unknown command, or one missing its argument."""


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed ``:name argument`` line."""

    name: str
    argument: str


def parse_command(line: str) -> Command:
    """Parse ``:name [argument]`` (the leading colon included).

    Raises:
        CommandError: the name is unknown, or its argument is missing or extra.
    """
    name, _, argument = line.strip()[1:].partition(" ")
    name = _ALIASES.get(name.lower(), name.lower())
    argument = argument.strip()
    if name not in COMMANDS:
        raise CommandError(f"unknown command :{name} (try :help)")
    wants = COMMANDS[name][0]
    if wants and not argument:
        raise CommandError(f":{name} needs {wants}")
    if not wants and argument:
        raise CommandError(f":{name} takes no argument")
    return Command(name, argument)
