"""A throwaway PostgreSQL for the test session (a pytest plugin, loaded by conftest).

Started once per session from Debian's `postgresql` package: `initdb` and `pg_ctl` run as the
`postgres` account (they refuse root), the socket lives in a temporary folder, nothing listens
on TCP, and `fsync=off` because the data is thrown away. Each test gets a database of its own.

`TEST_DATABASE_URL` points the tests at a server that already runs instead, and
`TEST_POSTGRES_BIN` at PostgreSQL's programs where they are elsewhere. Without a server, a
developer's machine skips the PostgreSQL tests; in CI (`CI=true`) they FAIL, so the suite can
never pass while silently leaving one backend untested.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

SERVER_USER = "postgres"
_numbers = itertools.count()


class PostgresUnavailable(Exception):
    pass


def _binaries() -> Path:
    chosen = os.environ.get("TEST_POSTGRES_BIN")  # a folder with initdb and pg_ctl
    if chosen:
        if not (Path(chosen) / "pg_ctl").is_file():
            raise PostgresUnavailable(f"no pg_ctl in TEST_POSTGRES_BIN={chosen}")
        return Path(chosen)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise PostgresUnavailable("no pg_ctl found (apt-get install postgresql)")


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError as exc:
        raise PostgresUnavailable(f"running as root but there is no {SERVER_USER} account"
                                  ) from exc
    return ["runuser", "-u", SERVER_USER, "--", *argv]


class ThrowawayServer:
    def __init__(self) -> None:
        self.bin = _binaries()
        self.top = Path(tempfile.mkdtemp(prefix="testimony-pg-"))
        self.top.chmod(0o755)
        self.data = self.top / "data"
        self.data.mkdir(mode=0o700)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.data, entry.pw_uid, entry.pw_gid)
        self.started = False

    def start(self, durable: bool = False) -> str:
        """`durable`: fsync and synchronous commits as in production (for benchmarks);
        tests throw the data away, so they skip both."""
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", SERVER_USER,
                   "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"])
        options = f"-k {self.data} -c listen_addresses='' -c max_connections=200"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                   "-l", str(self.data / "server.log"), "-w", "-t", "60", "start"])
        self.started = True
        return f"postgresql://{SERVER_USER}@/postgres?host={self.data}"

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                           "-w", "stop"])
        shutil.rmtree(self.top, ignore_errors=True)

    @staticmethod
    def _run(argv: list[str]) -> None:
        done = subprocess.run(_as_server_user(argv), capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode:
            raise PostgresUnavailable(f"{Path(argv[0]).name} failed: "
                                      f"{(done.stderr or done.stdout).strip()[-800:]}")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The DSN of the session's server (its `postgres` database, for administration)."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    try:
        server = ThrowawayServer()
    except PostgresUnavailable as exc:
        _unavailable(str(exc))
        raise AssertionError("unreachable") from exc
    try:
        try:
            dsn = server.start()
        except (PostgresUnavailable, subprocess.SubprocessError, OSError) as exc:
            _unavailable(str(exc))
        yield dsn
    finally:
        server.stop()


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"PostgreSQL could not be started in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available here ({reason}); CI runs these tests")


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    import psycopg

    name = f"t{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield _with_database(postgres_server, name)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _with_database(url: str, name: str) -> str:
    """The same server URL naming another database (the path part of a URL)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
