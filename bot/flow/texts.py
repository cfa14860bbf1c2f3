"""Every text of a flow with its catalog context (`FLOW:ITEM`), as translators see them."""

from __future__ import annotations

from collections.abc import Iterator

from bot.flow.model import ConsentText, Questionnaire


def flow_messages(flow: Questionnaire | ConsentText) -> Iterator[tuple[str, str, str]]:
    """(context, English text, note for translators) for every text in a flow."""
    if isinstance(flow, ConsentText):
        yield f"{flow.id}:intro", flow.intro, "Consent: introduction read before agreeing"
        if flow.chat_app:
            yield (f"{flow.id}:chat_app", flow.chat_app,
                   "Consent: what the chat app (Telegram) sees and what the bot can remove")
        if flow.contact:
            yield (f"{flow.id}:contact", flow.contact,
                   "Consent: how to reach the organisation (each deployer edits it)")
        for item in flow.items:
            yield f"{flow.id}:{item.id}", item.text, f"Consent item ({item.kind})"
            yield f"{flow.id}:{item.id}.yes", item.yes, "Consent button: agree"
            yield f"{flow.id}:{item.id}.no", item.no, "Consent button: do not agree"
        return
    yield f"{flow.id}:welcome", flow.welcome, "Said once consent is given"
    yield f"{flow.id}:closing", flow.closing, "Thanks at the end"
    yield f"{flow.id}:safety_note", flow.safety_note, "Safety and support note at the end"
    for section in flow.sections:
        if section.title:
            yield f"{flow.id}:section.{section.id}", section.title, "Section title"
        for qid in section.question_ids:
            question = flow.question(qid)
            if question.text:  # a calculation has none
                yield f"{flow.id}:{qid}", question.text, f"Question ({question.kind})"
            for key, note in (("hint", "Hint said before question"),
                              ("constraint_message", "Said when an answer is not accepted"),
                              ("required_message", "Said when a needed answer is skipped")):
                extra = getattr(question, key)
                if extra:
                    yield f"{flow.id}:{qid}.{key}", extra, f"{note} {qid}"
            for choice in question.choices:
                yield (f"{flow.id}:{qid}.{choice.id}", choice.label,
                       f"Answer button for question {qid}")


def context_clash(flow: Questionnaire) -> str | None:
    """Two different texts under one context (a question named `welcome`, a choice named
    `hint`) would share one translation: the first such context, or None."""
    seen: dict[str, str] = {}
    for context, text, _ in flow_messages(flow):
        if seen.setdefault(context, text) != text:
            return context.split(":", 1)[1]
    return None
