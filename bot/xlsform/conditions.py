"""A form's simple skip logic as a flow `when`, so a flow survives export and import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.flow.expr import Binary, Call, ExprError, Literal, Ref, parse


def as_condition(relevant: str | None,
                 kinds: Mapping[str, str]) -> dict[str, Any] | None:
    """`selected(${q}, 'v') or …` / `${q} = 'v' or …` as a `when` (as our own export
    writes it), so a flow survives the round trip unchanged."""
    if relevant is None:
        return None
    try:
        tree = parse(relevant).tree
    except ExprError:
        return None
    terms: list[Any] = []
    while isinstance(tree, Binary) and tree.op == "or":
        terms.insert(0, tree.right)
        tree = tree.left
    terms.insert(0, tree)
    questions, values, ops = set(), [], set()
    for term in terms:
        match term:
            case Call("selected", (Ref(name), Literal(str() as value))):
                ops.add("includes")
            case Binary("=", Ref(name), Literal(str() as value)):
                ops.add("equals")
            case _:
                return None
        questions.add(name)
        values.append(value)
    if len(questions) != 1 or len(ops) != 1:
        return None
    (question,) = questions
    (op,) = ops
    expected = "multi" if op == "includes" else "single"
    if kinds.get(question) != expected:
        return None
    return {"question": question, op: values[0] if len(values) == 1 else values}
