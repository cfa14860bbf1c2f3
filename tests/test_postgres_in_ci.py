"""In CI the PostgreSQL half of the suite can never be skipped: if no server can be started,
the run fails; on a developer's machine without PostgreSQL it is skipped, and says why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "TEST_DATABASE_URL", "PYTEST_ADDOPTS")}
    env["TEST_POSTGRES_BIN"] = "/nonexistent/postgresql/bin"
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_store_conformance.py", "-k", "postgres and sealed"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_without_postgresql_ci_fails() -> None:
    done = _run(ci=True)
    assert done.returncode != 0, done.stdout
    assert "PostgreSQL could not be started in CI" in done.stdout


def test_without_postgresql_a_developer_run_skips_and_says_so() -> None:
    done = _run(ci=False)
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
