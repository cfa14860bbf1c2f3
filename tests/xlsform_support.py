"""XLSForms written by the tests themselves with openpyxl, as a form author would."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook

Row = dict[str, str]
LANGUAGES = ("English (en)", "Français (fr)", "العربية (ar)")


def write_form(path: Path, survey: Sequence[Row], choices: Sequence[Row] = (),
               settings: Row | None = None) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    for title, rows in (("survey", survey), ("choices", choices)):
        target = sheet if title == "survey" else book.create_sheet(title)
        header: list[str] = []
        for row in rows:
            header += [k for k in row if k not in header]
        target.append(header)
        for row in rows:
            target.append([row.get(k, "") for k in header])
    if settings:
        extra = book.create_sheet("settings")
        extra.append(list(settings))
        extra.append(list(settings.values()))
    book.save(path)
    return path


def labels(en: str, fr: str, ar: str, column: str = "label") -> Row:
    return {f"{column}::{name}": text for name, text in zip(LANGUAGES, (en, fr, ar),
                                                              strict=True)}


def three_language_form(path: Path) -> Path:
    """Every supported type and column, in English, French and Arabic."""
    survey: list[Row] = [
        {"type": "note", "name": "welcome", **labels(
            "Welcome. This form asks about your work.", "Bienvenue. Ce formulaire porte sur "
            "votre travail.", "مرحبا. هذا الاستبيان عن عملك.")},
        {"type": "begin group", "name": "About", **labels("About you", "À propos de vous",
                                                          "عنك")},
        {"type": "integer", "name": "Age.Years", **labels("How old are you?", "Quel âge "
                                                          "avez-vous ?", "كم عمرك؟"),
         "required": "yes", "constraint": ". >= 18 and . < 100",
         **labels("You must be 18 or older.", "Vous devez avoir 18 ans ou plus.",
                  "يجب أن يكون عمرك 18 عامًا أو أكثر.", "constraint_message"),
         **labels("Please give your age.", "Merci d'indiquer votre âge.",
                  "يرجى ذكر عمرك.", "required_message")},
        {"type": "select_one countries", "name": "country", **labels(
            "Where do you work?", "Où travaillez-vous ?", "أين تعمل؟"), "required": "yes"},
        {"type": "select_one cities", "name": "city", **labels(
            "In which city?", "Dans quelle ville ?", "في أي مدينة؟"),
         "choice_filter": "country = ${country}"},
        {"type": "select_multiple problems or_other", "name": "problems", **labels(
            "What problems did you have?", "Quels problèmes avez-vous eus ?",
            "ما المشاكل التي واجهتها؟"),
         **labels("Choose all that apply.", "Choisissez tout ce qui s'applique.",
                  "اختر كل ما ينطبق.", "hint")},
        {"type": "end group"},
        {"type": "begin group", "name": "wages", **labels("Wages", "Salaires", "الأجور"),
         "relevant": "selected(${problems}, 'unpaid')"},
        {"type": "decimal", "name": "months_unpaid", **labels(
            "For how many months were you not paid?", "Pendant combien de mois n'avez-vous "
            "pas été payé·e ?", "كم شهرًا لم تتقاضَ أجرك؟")},
        {"type": "calculate", "name": "weeks_unpaid", "calculation":
            "round(${months_unpaid} * 4.33, 0)"},
        {"type": "note", "name": "weeks_note", **labels(
            "That is about ${weeks_unpaid} weeks.", "Cela fait environ ${weeks_unpaid} "
            "semaines.", "هذا حوالي ${weeks_unpaid} أسبوعًا."),
         "relevant": "${weeks_unpaid} > 0"},
        {"type": "end group"},
        {"type": "date", "name": "arrived", **labels("When did you arrive?", "Quand êtes-vous "
                                                     "arrivé·e ?", "متى وصلت؟"),
         "constraint": ". <= today()"},
        {"type": "begin repeat", "name": "employers", **labels(
            "Employers", "Employeurs", "أصحاب العمل")},
        {"type": "text", "name": "employer_sector", **labels(
            "What work did you do for them?", "Quel travail faisiez-vous pour eux ?",
            "ما العمل الذي قمت به لديهم؟")},
        {"type": "end repeat"},
        {"type": "acknowledge", "name": "ready", **labels(
            "Next, you can tell your story.", "Ensuite, vous pouvez raconter votre histoire.",
            "بعد ذلك، يمكنك أن تروي قصتك.")},
        {"type": "audio", "name": "story", **labels(
            "Please record a voice note.", "Merci d'enregistrer un message vocal.",
            "يرجى تسجيل رسالة صوتية.")},
        {"type": "text", "name": "more", **labels(
            "Anything else?", "Autre chose ?", "هل من شيء آخر؟"),
         "relevant": "selected(${problems}, 'other') or count-selected(${problems}) > 1",
         "default": "nothing"},
        {"type": "note", "name": "closing", **labels(
            "Thank you for your answers.", "Merci pour vos réponses.", "شكرًا لإجاباتك.")},
    ]
    choices: list[Row] = [
        {"list_name": "countries", "name": "LB", **labels("Lebanon", "Liban", "لبنان")},
        {"list_name": "countries", "name": "QA", **labels("Qatar", "Qatar", "قطر")},
        {"list_name": "cities", "name": "beirut", **labels("Beirut", "Beyrouth", "بيروت"),
         "country": "LB"},
        {"list_name": "cities", "name": "tripoli", **labels("Tripoli", "Tripoli",
                                                            "طرابلس"), "country": "LB"},
        {"list_name": "cities", "name": "doha", **labels("Doha", "Doha", "الدوحة"),
         "country": "QA"},
        {"list_name": "problems", "name": "unpaid", **labels("Unpaid wages", "Salaire impayé",
                                                             "أجور غير مدفوعة")},
        {"list_name": "problems", "name": "passport", **labels(
            "Passport taken", "Passeport confisqué", "مصادرة جواز السفر")},
    ]
    return write_form(path, survey, choices, {"form_id": "Domestic_Work_2026",
                                              "form_title": "Domestic work",
                                              "version": "2026-12", "default_language":
                                              "English (en)"})
