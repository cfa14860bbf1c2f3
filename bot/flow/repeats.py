"""A repeated section, laid out as the questions a person may be asked.

A section with `repeat` is unrolled when the flow is loaded: its questions once per instance
(the first keeps its ids, later ones are `name[2]`, `name[3]`…), so the engine needs no loop
state and every instance's answers are stored and exported under their own column. Instance k
is shown while `count >= k`; without a count, the person is asked "add another?" after each
instance (a generated yes/no question `SECTION_another`, `SECTION_another[2]`…).
References inside the section to its own questions point at the same instance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from bot.flow.expr import Binary, Expression, Literal, Ref
from bot.flow.model import Choice, Question, QuestionKind, Section

YES, NO = "yes", "no"


def instance_id(base: str, instance: int) -> str:
    return base if instance == 1 else f"{base}[{instance}]"


def another_id(section: Section, instance: int) -> str:
    return instance_id(f"{section.id}_another", instance)


def unroll(section: Section, questions: Iterable[Question]) -> list[Question]:
    """Every instance's questions, in order."""
    assert section.repeat is not None
    own = list(questions)
    base_ids = {q.id for q in own}
    unrolled: list[Question] = []
    for instance in range(1, section.repeat.max + 1):
        names = {qid: instance_id(qid, instance) for qid in base_ids}
        shown = _instance_condition(section, instance)
        for question in own:
            relevant = tuple(e.renamed(names) for e in question.relevant)
            copy = question if instance == 1 else replace(
                question,
                id=names[question.id],
                text_id=question.id,
                relevant=relevant,
                constraint=_renamed(question.constraint, names),
                calculation=_renamed(question.calculation, names),
                choice_filter=_renamed(question.choice_filter, names),
            )
            if shown is not None:
                copy = replace(copy, relevant=(shown, *copy.relevant))
            unrolled.append(copy)
        if section.repeat.count is None and instance < section.repeat.max:
            unrolled.append(Question(
                id=another_id(section, instance), kind=QuestionKind.SINGLE,
                text="Would you like to add another?", section=section.id, optional=False,
                choices=(Choice(YES, "Yes"), Choice(NO, "No")),
                relevant=(shown,) if shown is not None else (), generated=True,
                text_id=f"{section.id}_another"))
    return unrolled


def _renamed(expression: Expression | None, names: dict[str, str]) -> Expression | None:
    return expression.renamed(names) if expression is not None else None


def _instance_condition(section: Section, instance: int) -> Expression | None:
    assert section.repeat is not None
    if section.repeat.count is not None:
        tree = Binary(">=", section.repeat.count.tree, Literal(float(instance)))
        return Expression(f"({section.repeat.count.source}) >= {instance}", tree)
    if instance == 1:
        return None
    previous = another_id(section, instance - 1)
    return Expression(f"${{{previous}}} = '{YES}'", Binary("=", Ref(previous), Literal(YES)))
