"""Texts the engine wants said, kept untranslated until a channel renders them.

The engine never translates: it names a message (its English source and, for flow texts, a
context) and the orchestrator renders it in the person's language through gettext.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Text:
    msgid: str
    context: str | None = None
    params: tuple[tuple[str, str | int], ...] = ()
    plural: str | None = None
    count: int | None = None
    verbatim: bool = False  # already in its final form (e.g. a language's own name)

    def __hash__(self) -> int:
        """Hashed once: texts are the keys of the rendered-text caches, looked up several
        times on every update (the generated hash re-hashes all six fields each time)."""
        try:
            return self.__dict__["_hash"]  # type: ignore[no-any-return]
        except KeyError:
            value = hash((self.msgid, self.context, self.params, self.plural, self.count,
                          self.verbatim))
            self.__dict__["_hash"] = value
            return value

    @classmethod
    def raw(cls, text: str) -> Text:
        return cls(text, verbatim=True)

    def format(self, **params: str | int) -> Text:
        """The same message with its `{placeholders}` filled in."""
        merged = {**dict(self.params), **params}
        return replace(self, params=tuple(sorted(merged.items())))


def N_(msgid: str, **params: str | int) -> Text:
    """Mark an interface string for extraction (`pybabel extract` knows `N_`)."""
    return Text(msgid, params=tuple(sorted(params.items())))


def NP_(singular: str, plural: str, count: int, **params: str | int) -> Text:
    """A string with gettext plural forms; `count` is also available as `{count}`."""
    merged = {"count": count, **params}
    return Text(singular, params=tuple(sorted(merged.items())), plural=plural, count=count)


def flow_text(flow_id: str, item: str, source: str) -> Text:
    """A text from a flow file; its context is `FLOW:ITEM`, as the extractor writes it."""
    return Text(source, context=f"{flow_id}:{item}")
