"""The rough edges a newcomer met with ``nanoservices run`` and ``serve`` (issue 12, items 1, 5).

Each test does what a new user did: a ``mysvc.py`` beside them, a command line,
a ``:command`` typed where it felt natural.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from nanoservices._cli import _target
from nanoservices.core import ServiceFactory

from .conftest import RunCli

MD5 = "nanoservices.services.hashing:md5"
ODD = "tests/cli/services_for_cli.py:odd"

MYSVC = textwrap.dedent(
    '''
    """A newcomer's first service file."""
    from collections.abc import Generator

    from nanoservices import service


    @service
    def counter(start: int = 0) -> Generator[int, int, None]:
        total = start
        while True:
            total += yield total


    def talk_style():
        """The talk's way: request = yield reply, a falsy request ends it."""
        reply = None
        while request := (yield reply):
            reply = request * 2
    '''
)


@pytest.fixture
def newcomer(tmp_path: Path, cli_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A folder holding ``mysvc.py`` (nothing else), and the CLI's environment."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "mysvc.py").write_text(MYSVC, encoding="utf-8")
    return folder, cli_env


def in_folder(
    folder: Path, env: dict[str, str], *args: str, input: str = ""
) -> subprocess.CompletedProcess[str]:
    """``nanoservices ARGS`` started as the console script starts it: ``python -P``
    keeps the current folder off ``sys.path``, as an installed script does."""
    return subprocess.run(
        [sys.executable, "-P", "-m", "nanoservices", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=folder,
        check=False,
    )


def records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


# -- item 1: the current folder is importable; serve takes what run takes ------------


def test_run_finds_a_module_in_the_current_folder(
    newcomer: tuple[Path, dict[str, str]],
) -> None:
    folder, env = newcomer
    done = in_folder(folder, env, "run", "mysvc:counter", "10", input="5\n")
    assert done.returncode == 0, done.stderr
    assert records(done.stdout) == [{"reply": 15}]


def test_run_of_a_file_uses_its_own_name_in_messages(run_cli: RunCli) -> None:
    done = run_cli("run", ODD, input=":throw Nope\n:inspect\n")
    error, inspected = records(done.stdout)
    assert "looked in services_for_cli and the built-ins" in error["error"]["message"]
    assert "_nanoservices_run" not in done.stdout + done.stderr
    assert "services_for_cli" in json.dumps(inspected)


def test_serve_loads_a_module_or_a_file_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mysvc_serve.py").write_text(MYSVC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # sys.path restored after the test
    for spec in ("mysvc_serve:counter", "mysvc_serve.py:counter", "mysvc_serve"):
        found = _target.load_services(spec)
        assert list(found) == ["counter"], spec
        assert isinstance(found["counter"], ServiceFactory)


def test_serve_of_a_plain_generator_says_exactly_what_to_write(
    newcomer: tuple[Path, dict[str, str]],
) -> None:
    folder, env = newcomer
    done = in_folder(folder, env, "serve", "mysvc.py:talk_style", "--port", "0")
    assert done.returncode == 2
    assert "nanoservices serve --raw mysvc.py:talk_style" in done.stderr
    assert "has no attribute 'spec'" not in done.stderr


def test_serve_raw_hosts_a_talk_style_generator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mysvc_raw.py").write_text(MYSVC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # sys.path restored after the test
    (factory,) = _target.load_services("mysvc_raw.py:talk_style", raw=True).values()
    assert factory.spec.protocol.name == "raw"
    with factory() as handle:
        assert handle.call(21) == 42


def test_run_of_a_plain_generator_says_exactly_what_to_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))  # sys.path restored after the test
    path = tmp_path / "mysvc_plain.py"
    path.write_text(MYSVC, encoding="utf-8")
    with pytest.raises(_target.TargetError, match=r"run --raw .*mysvc_plain\.py:talk_style"):
        _target.load_target(f"{path}:talk_style")


@pytest.mark.http
def test_serve_file_py_name_end_to_end(newcomer: tuple[Path, dict[str, str]]) -> None:
    """``serve mysvc.py:counter`` from the folder, then a client calls it over HTTP."""
    from nanoservices import connect

    folder, env = newcomer
    command = ["serve", "mysvc.py:counter", "--port", "0", "--set", "start=100"]
    server = subprocess.Popen(
        [sys.executable, "-P", "-m", "nanoservices", *command],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        url = None
        seen = []
        for line in server.stderr:  # uvicorn logs this once the socket is listening
            seen.append(line)
            if "Uvicorn running on " in line:
                url = line.split("Uvicorn running on ")[1].split()[0]
                break
        assert url is not None, "".join(seen)
        assert any(line.startswith("serving counter") for line in seen), seen
        with connect(url, "counter") as remote:  # the operator chose start=100
            assert remote.call(5) == 105
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()


# -- item 5: run's commands and messages ---------------------------------------------


def test_restart_after_close_makes_a_new_instance(run_cli: RunCli) -> None:
    done = run_cli(
        "run", "nanoservices.examples.basics:counter", "10", input="5\n:close\n:restart\n1\n"
    )
    assert done.returncode == 0, done.stderr
    assert records(done.stdout) == [
        {"reply": 15},
        {"closed": True},
        {"restarted": True},
        {"reply": 11},  # a fresh instance, from the factory's arguments: 10 + 1
    ]


def test_errors_keep_the_order_of_dict_keys(run_cli: RunCli) -> None:
    done = run_cli("run", MD5, input='{"zeta": 1, "alpha": 2}\n')
    (error,) = records(done.stdout)
    assert "{'zeta': 1, 'alpha': 2}" in error["error"]["message"]


def test_throw_of_an_exception_without_text_says_what_happened(run_cli: RunCli) -> None:
    done = run_cli("run", MD5, input=":throw KeyError\n:state\n")
    error, state = records(done.stdout)
    message = error["error"]["message"]
    assert "did not catch KeyError" in message
    assert ":reset or :restart" in message
    assert not message.rstrip().endswith(":")
    assert error["error"]["cause"] == "KeyError"
    assert state == {"state": "failed"}


@pytest.mark.parametrize("command", ["run", "serve", "bench"])
def test_help_has_no_type_metavars_and_one_example_a_line(run_cli: RunCli, command: str) -> None:
    done = run_cli(command, "--help")
    assert done.returncode == 0, done.stderr
    assert "<bool>" not in done.stdout
    examples = [line.strip() for line in done.stdout.splitlines() if "nanoservices " in line]
    if command != "bench":
        assert len(examples) >= 2, done.stdout
        assert all(line.count("nanoservices ") == 1 for line in examples), examples
