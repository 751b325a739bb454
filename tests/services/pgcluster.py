"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb, pg_ctl, rm -rf.

PostgreSQL refuses to run as root, and CI runs as root: then the cluster runs
as an unprivileged system user (``nanoservices-pg``, created if missing, else
``nobody``) through ``runuser``. It listens on 127.0.0.1 on a free port and on
a unix socket in its own temporary directory, with durability switched off
(fsync) because the data is thrown away anyway.

Used by the suite's ``pg_cluster`` fixture (``tests/conftest.py``: one cluster
per test process) and ``benchmarks/people_stream.py``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PostgresCluster", "find_bindir", "throwaway_cluster", "unique"]

_USER = "nanoservices-pg"


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, newest version first; None if absent."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    return None


def unique(prefix: str) -> str:
    """A database name no other fixture of the run uses: ``prefix`` and random hex."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> str | None:
    """The user to run the server as; None to run as ourselves (not root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(_USER)
    except KeyError:
        made = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _USER],
            capture_output=True,
            check=False,
        )
        if made.returncode != 0:
            return "nobody"
    return _USER


class PostgresCluster:
    """One running throwaway cluster; ``dsn`` reaches its ``postgres`` database."""

    def __init__(self, bindir: Path, root: Path, port: int, user: str | None) -> None:
        self.bindir = bindir
        self.root = root
        self.datadir = root / "data"
        self.port = port
        self.user = user
        self.dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root)

    def initdb(self) -> None:
        """Create the data directory (C locale, UTF-8, trust auth: local and throwaway)."""
        self._run(
            "initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.datadir),
            "-l", str(self.root / "server.log"), "-o", options,
        )  # fmt: skip

    def restart(self) -> None:
        """Restart the server (fast mode: open connections are cut)."""
        self._run(
            "pg_ctl", "restart", "-w", "-t", "60", "-m", "fast", "-D", str(self.datadir),
            "-l", str(self.root / "server.log"),  # else the server holds our output pipe
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server, cutting open connections (``immediate``: no checkpoint either,
        for a cluster whose files are deleted next)."""
        self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.datadir))

    def create_database(self, name: str) -> str:
        """Create database ``name`` (an identifier we choose) and return its DSN."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def throwaway_cluster(bindir: Path | None = None) -> Iterator[PostgresCluster]:
    """Start a fresh cluster; stop it and delete its files on exit.

    Raises:
        FileNotFoundError: no PostgreSQL server binaries were found.
    """
    bindir = bindir or find_bindir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl) found")
    root = Path(tempfile.mkdtemp(prefix="nanoservices-pg-"))
    user = _server_user()
    try:
        if user is not None:
            shutil.chown(root, user=user)
        cluster = PostgresCluster(bindir, root, _free_port(), user)
        cluster.initdb()
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop("immediate")  # its files are deleted next: no checkpoint to wait for
    finally:
        shutil.rmtree(root, ignore_errors=True)
