"""The C accelerator is optional at build time: a wheel built where a compiler
works carries it (and is tagged for this interpreter); one built where there is
no compiler is pure-Python and still installs and runs.

Built offline from this clone (``pip wheel --no-deps --no-build-isolation
--no-index``: hatchling comes from the dev extra), as ``test_fresh_project`` does.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _wheel(out: Path, **env: str) -> Path:
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("needs hatchling in this environment to build offline (the dev extra)")
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CC")}
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--wheel-dir", str(out), str(ROOT)],
        env=environ, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("*.whl")
    return wheel


def _accelerators(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zipped:
        return [name for name in zipped.namelist() if "_speedups" in name]


def test_without_a_compiler_the_wheel_is_pure_python_and_works(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "dist", CC=str(tmp_path / "no-such-compiler"))
    assert wheel.name.endswith("-py3-none-any.whl"), wheel.name
    assert _accelerators(wheel) == []
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zipped:
        zipped.extractall(site)
    code = (
        "import nanoservices as ns, nanoservices.core as core\n"
        "from nanoservices.examples.basics import md5\n"
        "h = md5()\n"
        "print(core.ACCELERATED, h.call('abc'), h('abc') == h.call('abc'))\n"
    )
    environ = {k: v for k, v in os.environ.items() if k != "NANOSERVICES_PURE_PYTHON"}
    environ["PYTHONPATH"] = str(site)
    done = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "900150983cd24fb0d6963f7d28e17f72", "True"]


def _compiler_here() -> bool:
    configured = (sysconfig.get_config_var("CC") or "").split()
    return bool(configured) and shutil.which(configured[0]) is not None


@pytest.mark.skipif(not _compiler_here(), reason="no C compiler on this machine")
def test_with_a_compiler_the_wheel_carries_the_accelerator(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "dist")
    assert not wheel.name.endswith("-none-any.whl"), wheel.name
    (module,) = _accelerators(wheel)
    assert module.startswith("nanoservices/core/_speedups")
    with zipfile.ZipFile(wheel) as zipped:
        assert not [name for name in zipped.namelist() if name.endswith(".c")]
