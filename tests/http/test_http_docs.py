"""docs/http.md says what the server does: every ``serve`` option, every ``/stats``
field, the reply to opening a session, the nesting limit the server enforces."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import typer.core
import typer.main

from nanoservices._cli import _register_commands, app
from nanoservices.examples import basics
from nanoservices.http import Served, create_app
from nanoservices.http._problems import MAX_JSON_DEPTH
from tests.conformance._server import serving_app

DOC = (Path(__file__).resolve().parents[2] / "docs" / "http.md").read_text()


def _serve_options() -> set[str]:
    _register_commands()
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    command = group.commands["serve"]
    return {
        opt
        for param in command.params
        for opt in param.opts
        if opt.startswith("--") and opt != "--help"
    }


def test_the_options_block_names_every_serve_option() -> None:
    block = DOC.split("The options, all optional:")[1].split("```")[1]
    options = _serve_options()
    assert "--durable-mode" in options  # else this checks less than it says
    missing = {opt for opt in options if not re.search(rf"\[{re.escape(opt)}\b", block)}
    assert not missing, f"docs/http.md's options block leaves out {sorted(missing)}"


def test_the_nesting_limit_is_the_one_the_server_enforces() -> None:
    row = next(line for line in DOC.splitlines() if line.startswith("| JSON nesting"))
    assert f"{MAX_JSON_DEPTH} levels" in row


def _fields(doc: dict[str, object], prefix: str = "") -> set[str]:
    """The dotted names of the document's leaves."""
    found = set()
    for key, value in doc.items():
        name = f"{prefix}{key}"
        found |= _fields(value, name + ".") if isinstance(value, dict) else {name}
    return found


@pytest.mark.http
def test_the_stats_fields_and_the_session_reply_are_documented(tmp_path: Path) -> None:
    services = [
        Served(basics.counter),
        Served(basics.counter, name="kept", durable=str(tmp_path / "j.sqlite")),
    ]
    with serving_app(create_app(services)) as url, httpx.Client(base_url=url) as http:
        opened = http.post("/services/kept/sessions", json={"key": "k1"})
        assert opened.status_code == 201, opened.text
        stats = http.get("/stats").json()
    table = DOC.split("`GET /stats`")[1].split("\n\n")[1]
    for field in _fields(stats):
        generic = re.sub(r"^services\.(counter|kept)", "services.NAME", field)
        last = generic.rpartition(".")[2]
        assert f"`{generic}`" in table or f"`.{last}`" in table or f"`{last}`" in table, field
    reply_row = next(
        line for line in DOC.splitlines() if "| `POST /services/{name}/sessions`" in line
    )
    for key in opened.json():
        assert f'"{key}"' in reply_row, key
