"""Throwaway servers beside the test database, for the PostgreSQL pass only: a streaming replica of
the test cluster (pg_basebackup -R) and a PgBouncer in transaction mode. Both run as the
`postgres` OS user (the tests run as root in CI, and neither program runs as root), on a free
port of 127.0.0.1, from a temporary directory removed afterwards.

On PostgreSQL a missing tool fails the test rather than skipping it: CI's PostgreSQL pass must
really run these tests."""

from __future__ import annotations

import copy
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

SERVER_USER = "postgres"
START_TIMEOUT = 30


def on_postgresql() -> bool:
    return bool(settings.DATABASES[DEFAULT_DB_ALIAS]["ENGINE"] == "django.db.backends.postgresql")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def as_server_user(command: list[str]) -> list[str]:
    """The command run as the postgres OS user (runuser when we are root)."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.fail("runuser (util-linux) is needed to start PostgreSQL tools as the postgres user")
    return [runuser, "-u", SERVER_USER, "--", *command]


def tool(path: str | Path, package: str) -> str:
    """The program's path; a failure (not a skip) naming the package when it is missing."""
    found = shutil.which(str(path))
    if found is None:
        pytest.fail(f"{path} is missing: install the Debian package {package} (apt-get install -y {package})")
    return found


def postgres_bindir() -> Path:
    """The server's own version's binaries (Debian: /usr/lib/postgresql/<major>/bin)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    return Path(f"/usr/lib/postgresql/{major}/bin")


@contextmanager
def server_directory(prefix: str) -> Iterator[Path]:
    """A temporary directory the postgres user owns (mode 0700, as PostgreSQL demands)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        path.chmod(0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run(command: list[str], *, what: str, hint: str = "") -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        pytest.fail(f"{what} failed ({done.returncode}): {done.stderr.strip()}{hint}")


def wait_until(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.02)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class AddedAlias:
    alias: str
    settings_dict: dict[str, Any]


@contextmanager
def database_alias(alias: str, *, port: int, **changes: Any) -> Iterator[AddedAlias]:
    """A Django database alias for the test database on another server (127.0.0.1:`port`): the
    default alias's settings with the host and port changed, a test mirror of default (never
    flushed, created or dropped by the test runner). Removed, its connection closed, at the end."""
    added = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    added.update({"HOST": "127.0.0.1", "PORT": port, **changes})
    added["TEST"] = {**added.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}
    connections.settings[alias] = added
    try:
        yield AddedAlias(alias, added)
    finally:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]
