"""Dependencies point one way: channels -> orchestrator -> engine/storage; the engine is pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imports_of(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


# orjson: a JSON serializer like `json` (the saved state's codec), no I/O of its own.
ENGINE_MAY_USE = ("bot.engine", "bot.flow", "__future__", "collections", "dataclasses",
                  "datetime", "enum", "json", "math", "orjson", "typing", "unicodedata")


@pytest.mark.parametrize("package", ["bot/engine", "bot/flow"])
def test_engine_and_flow_are_pure(package: str) -> None:
    """No I/O libraries, no platform, no storage, no channels, no clock or randomness."""
    for path, names in imports_of(ROOT / package).items():
        foreign = {n for n in names if not n.startswith(ENGINE_MAY_USE)}
        if package == "bot/flow":
            foreign -= {"re", "tomllib", "pathlib"}  # the loader reads files; the engine never
        assert not foreign, f"{path} imports {sorted(foreign)}"


def test_storage_knows_nothing_of_the_bot() -> None:
    for path, names in imports_of(ROOT / "storage").items():
        assert not {n for n in names if n == "bot" or n.startswith("bot.")}, path


def test_only_channels_know_platforms() -> None:
    platform = ("telegram", "httpx", "tornado")
    for path, names in imports_of(ROOT / "bot").items():
        if path.startswith(("bot/channels/", "bot/cli/")):
            continue
        assert not {n for n in names if n.startswith(platform)}, path


def test_engine_does_not_read_the_clock() -> None:
    for path in (ROOT / "bot" / "engine").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for forbidden in ("datetime.now", "time.time", "import random", "import secrets",
                          "open("):
            assert forbidden not in source, f"{path.name} uses {forbidden}"


def test_sql_and_cryptography_live_in_storage() -> None:
    for path, names in imports_of(ROOT / "bot").items():
        assert not {n for n in names if n.startswith(("sqlite3", "aiosqlite", "cryptography"))
                    }, path


def test_only_the_command_line_knows_xlsform() -> None:
    """XLSForm is a way in and out of flow files: the running bot never imports it."""
    for path, names in imports_of(ROOT / "bot").items():
        if path.startswith(("bot/xlsform/", "bot/cli/")):
            continue
        assert not {n for n in names if n.startswith(("bot.xlsform", "pyxform", "openpyxl"))}, \
            path
