"""``nanoservices demo`` where loopback is down: forecasts come through the in-process transport."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nanoservices.services.forecast import LocalWMOServer

from .conftest import ROOT


def _assert_forecasts_in_process(output: str) -> None:
    assert "local WMO server (bundled WWIS data) in process: loopback is unavailable" in output
    assert "2020-08-06 │ Sunny" in output  # Tel Aviv's first day, bundled data
    assert "by name: weather.stream('Tokyo') -> 2020-07-29" in output
    assert "fetched 1 time(s): the service is a cache" in output
    assert "252 next ->" in output  # the talk's forecasts, through the same transport
    assert "failed" not in output
    assert "skipped" not in output


def test_the_demo_runs_in_process_when_loopback_cannot_be_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Binding 127.0.0.1 fails, as in a sandbox without network: the demo still runs."""

    def cannot_bind(self: LocalWMOServer) -> LocalWMOServer:
        raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")

    monkeypatch.setattr(LocalWMOServer, "start", cannot_bind)
    from nanoservices._cli import _register_commands, app

    _register_commands()
    outcome = CliRunner().invoke(app, ["demo"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert outcome.exit_code == 0, outcome.output
    _assert_forecasts_in_process(outcome.output)
    assert "Cannot assign requested address" in outcome.output


def _can_unshare_network() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    done = subprocess.run([unshare, "-rn", "true"], capture_output=True, check=False)
    return done.returncode == 0


@pytest.mark.skipif(not _can_unshare_network(), reason="needs unshare -rn (a network namespace)")
def test_the_demo_runs_in_a_network_namespace_with_loopback_down(
    tmp_path: Path,
) -> None:
    """A real sandbox with no network at all (a fresh network namespace: loopback is down)."""
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", XDG_STATE_HOME=str(tmp_path))
    done = subprocess.run(
        ["unshare", "-rn", sys.executable, "-m", "nanoservices", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    _assert_forecasts_in_process(done.stdout)
