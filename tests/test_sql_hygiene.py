"""No SQL in the code is built with string formatting: values always go in as parameters."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQL_METHODS = {"execute", "executemany", "executescript"}


def _is_int_call(node: ast.expr) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "int")


def formatted(node: ast.expr) -> bool:
    """An f-string, `%`-formatting, `.format()` or `+` with something that is not a literal."""
    if isinstance(node, ast.JoinedStr):  # allowed only for int(...), e.g. PRAGMA values
        return any(isinstance(v, ast.FormattedValue) and not _is_int_call(v.value)
                   for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "format"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return formatted(node.left) or formatted(node.right) or not all(
            isinstance(side, ast.Constant | ast.Name | ast.BinOp)
            for side in (node.left, node.right))
    return False


def test_sql_is_never_built_with_string_formatting() -> None:
    offenders = []
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("storage/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SQL_METHODS and node.args
                    and formatted(node.args[0])):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"SQL built by formatting at: {offenders}"


def test_the_check_catches_formatting() -> None:
    sample = ast.parse('conn.execute(f"SELECT * FROM t WHERE a = {x}")\n'
                       'conn.execute("SELECT %s" % x)\nconn.execute("S {}".format(x))\n')
    calls = [n for n in ast.walk(sample) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and n.func.attr == "execute"]
    assert all(formatted(call.args[0]) for call in calls)
