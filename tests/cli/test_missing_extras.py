"""Without an optional extra, the user is told which one and how to install it.

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


def test_serve_dashboard_without_jinja2_is_a_usage_error_naming_the_extra() -> None:
    argv = ["nanoservices", "serve", "nanoservices.examples.basics:counter", "--dashboard"]
    done = _without(
        "jinja2", f"import sys; sys.argv = {argv!r}\nfrom nanoservices._cli import main; main()"
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "pip install '.[dashboard]'" in done.stderr
    assert "serving" not in done.stderr  # refused before it says it serves


def test_create_app_with_a_dashboard_without_jinja2_names_the_extra() -> None:
    done = _without(
        "jinja2",
        "from nanoservices.examples.basics import counter\n"
        "from nanoservices.http import Served, create_app\n"
        "create_app([Served(counter)], dashboard=True)",
    )
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: the dashboard needs Jinja2"), done.stderr
    assert "pip install '.[dashboard]'" in last


def test_the_postgres_store_hint_installs_from_the_clone() -> None:
    done = _without("psycopg", "import nanoservices.durable.postgres")
    assert "pip install '.[postgres]'" in done.stderr, done.stderr
    assert "nanoservices[postgres]" not in done.stderr


def test_the_plugins_ray_skip_installs_from_the_clone(tmp_path: Path) -> None:
    (tmp_path / "test_on_ray.py").write_text(
        "from nanoservices.examples.basics import counter\n\n"
        "def test_counter(start_on_transport):\n"
        "    assert start_on_transport(counter, 1)(2) == 3\n",
        encoding="utf-8",
    )
    code = (
        "import pytest, sys\n"
        f"sys.exit(pytest.main([{str(tmp_path)!r}, '-rs', '-q', '-p', 'no:cacheprovider']))"
    )
    done = _without("ray", code)
    assert "pip install '.[ray]'" in done.stdout, done.stdout
    assert "nanoservices[ray]" not in done.stdout
