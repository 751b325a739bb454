"""Hatchling build hook: compile the optional C accelerator when a compiler is there.

``src/nanoservices/core/_speedups.c`` speeds up the local handle's hot path; the
pure-Python handle is the reference and works without it. So the build never
fails for want of a compiler: when compiling fails (no compiler, no Python
headers, an unsupported platform) the wheel is built pure-Python and a note says
so. ``NANOSERVICES_NO_EXTENSIONS=1`` skips the attempt; ``CC`` picks the compiler.

* a wheel: the module is compiled into a temporary folder and added to the wheel,
  which is then tagged for this interpreter and platform;
* an editable install (``pip install -e .``): the module is compiled in place,
  next to its source, where the editable install imports the package from.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src", "nanoservices", "core", "_speedups.c")
PACKAGE_DIR = "nanoservices/core"


def _compiler() -> list[str] | None:
    """The C compiler command, or None when there is none to try."""
    configured = os.environ.get("CC") or sysconfig.get_config_var("CC")
    if not configured:
        return None  # e.g. Windows builds of CPython: no sysconfig compiler
    command = shlex.split(configured)
    if shutil.which(command[0]) is None:
        return None
    return command


def _compile(root: Path, out_dir: Path) -> tuple[Path | None, str]:
    """Compile the accelerator into ``out_dir``: its path, or None and why not."""
    if os.environ.get("NANOSERVICES_NO_EXTENSIONS", "") not in ("", "0"):
        return None, "NANOSERVICES_NO_EXTENSIONS is set"
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return None, "a free-threaded interpreter (the accelerator assumes the GIL)"
    if sys.implementation.name != "cpython":
        return None, f"{sys.implementation.name} is not CPython"
    compiler = _compiler()
    if compiler is None:
        return None, "no C compiler found"
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = out_dir / f"_speedups{suffix}"
    link = ["-bundle", "-undefined", "dynamic_lookup"] if sys.platform == "darwin" else ["-shared"]
    command = [
        *compiler,
        *link,
        "-O2",
        "-fPIC",
        f"-I{sysconfig.get_paths()['include']}",
        str(root / SOURCE),
        "-o",
        str(target),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"the compiler could not run: {exc}"
    if done.returncode != 0 or not target.exists():
        first = (done.stderr or done.stdout).strip().splitlines()[:1]
        return None, f"compiling failed: {first[0] if first else done.returncode}"
    return target, ""


class SpeedupsBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds the compiled accelerator to wheels, or leaves them pure-Python."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        if version == "editable":
            built, why = _compile(root, root / SOURCE.parent)
        else:
            self._tmp = tempfile.mkdtemp(prefix="nanoservices-speedups-")
            built, why = _compile(root, Path(self._tmp))
            if built is not None:
                build_data["force_include"][str(built)] = f"{PACKAGE_DIR}/{built.name}"
                build_data["pure_python"] = False
                build_data["infer_tag"] = True
        if built is None:
            self.app.display_info(
                f"nanoservices: pure-Python build ({why}); the C accelerator is optional"
            )

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
