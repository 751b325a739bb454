"""Without an optional extra, the user is told which one and how to install it (issue 12, item 2).

The package is not on PyPI: every hint installs the extra from the clone
(``pip install '.[ray]'``), never ``pip install 'nanoservices[...]'``, which would
look on PyPI. Each case hides the dependency the way a plain install lacks it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from .conftest import ROOT


def _without(module: str, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where ``import module`` fails as if not installed."""
    prelude = f"import sys; sys.modules[{module!r}] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_importing_nanoservices_ray_without_ray_names_the_extra() -> None:
    done = _without("ray", "from nanoservices.ray import ServiceHostPool")
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: nanoservices.ray needs Ray"), done.stderr
    assert "pip install '.[ray]'" in last
    assert "not on PyPI" in last


def test_the_opentelemetry_hint_installs_from_the_clone() -> None:
    done = _without(
        "opentelemetry", "import nanoservices; nanoservices.observe.OpenTelemetryTracer()"
    )
    assert done.returncode != 0
    assert "pip install '.[otel]'" in done.stderr, done.stderr
    assert "nanoservices[otel]" not in done.stderr


def test_bench_without_matplotlib_prints_the_extra_with_its_brackets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nanoservices._bench as bench_pkg
    from nanoservices._cli import _register_commands, app
    from tests.test_bench import TINY_IN_PROCESS

    monkeypatch.setattr(bench_pkg, "QUICK", TINY_IN_PROCESS)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    _register_commands()
    outcome = CliRunner().invoke(
        app, ["bench", "--quick", "--out", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert outcome.exit_code == 0, outcome.output
    assert "pip install '.[bench]'" in outcome.output
    assert (tmp_path / "bench.json").is_file()
