"""Running the ``nanoservices`` command line for real, in a subprocess or a pseudo-terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no colours, a wide terminal and a private history file."""
    env = dict(os.environ)
    env.update(
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="200",
        XDG_STATE_HOME=str(tmp_path / "state"),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str]) -> RunCli:
    """Run ``nanoservices ARGS...`` with ``input`` on stdin; the finished process."""

    def run(*args: str, input: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "nanoservices", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=cli_env,
            cwd=ROOT,
            check=False,
        )

    return run
