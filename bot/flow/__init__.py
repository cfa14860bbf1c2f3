"""Consent texts and questionnaires as versioned, validated data."""

from bot.flow.loader import FlowError, load_consent, load_questionnaire
from bot.flow.model import (
    Choice,
    Condition,
    ConsentItem,
    ConsentText,
    Question,
    QuestionKind,
    Questionnaire,
    Section,
)

__all__ = [
    "Choice",
    "Condition",
    "ConsentItem",
    "ConsentText",
    "FlowError",
    "Question",
    "QuestionKind",
    "Questionnaire",
    "Section",
    "load_consent",
    "load_questionnaire",
]
