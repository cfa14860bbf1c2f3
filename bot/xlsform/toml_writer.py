"""Writing a flow document (as `bot.flow.loader` reads it) back out as TOML.

Only what flow files hold: texts, numbers, booleans, lists of texts, small inline tables, and
the `sections` / `sections.questions` arrays of tables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(name: str) -> str:
    return name if BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, Mapping) for v in value):
            return "[\n" + "".join(f"  {_value(v)},\n" for v in value) + "]"
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to a flow file")


def dumps(doc: Mapping[str, Any], header: str = "") -> str:
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in doc.items() if k != "sections"]
    for section in doc.get("sections", ()):
        lines += ["", "[[sections]]"]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in section.items() if k != "questions"]
        for question in section.get("questions", ()):
            lines += ["", "[[sections.questions]]"]
            lines += [f"{_key(k)} = {_value(v)}" for k, v in question.items()]
    return "\n".join(lines) + "\n"
