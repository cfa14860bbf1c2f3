"""`flow check FILE…`: validate consent and questionnaire files as the bot would.
`flow import FORM.xlsx --out DIR`: an XLSForm as a flow file and catalogs.
`flow export FLOW --xlsform OUT.xlsx`: a flow (with every language) as an XLSForm."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.common import Subparsers, UserError
from bot.flow import FlowError, Questionnaire
from bot.flow.loader import load_any, load_consent, load_questionnaire, parse_questionnaire


def register(commands: Subparsers) -> None:
    flow = commands.add_parser("flow", help="work with flow files")
    sub = flow.add_subparsers(dest="flow_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate consent/questionnaire files")
    check.add_argument("files", type=Path, nargs="+", metavar="FILE")
    check.set_defaults(handler=check_flows)
    imports = sub.add_parser("import", help="turn an XLSForm into a flow file and catalogs")
    imports.add_argument("form", type=Path, metavar="FORM.xlsx")
    imports.add_argument("--out", type=Path, required=True, metavar="DIR",
                         help="folder for flow.toml and locales/ (created if missing)")
    imports.add_argument("--consent", type=Path, metavar="FILE",
                         help="consent text to put in front (default: the shipped one)")
    imports.add_argument("--allow-location", action="store_true",
                         help="ask geopoint questions as a place in words (no GPS is recorded)")
    imports.set_defaults(handler=import_form)
    exports = sub.add_parser("export", help="write a flow as an XLSForm spreadsheet")
    exports.add_argument("flow", type=Path, metavar="FLOW")
    exports.add_argument("--xlsform", type=Path, required=True, metavar="OUT.xlsx")
    exports.add_argument("--locales", type=Path, metavar="DIR",
                         help="catalogs to take translations from (default: LOCALES_DIR or the "
                              "shipped ones)")
    exports.set_defaults(handler=export_form)


def check_flows(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            flow = load_any(path)
        except FlowError as exc:
            print(f"error: {exc}")
            failed += 1
            continue
        if isinstance(flow, Questionnaire):
            print(f"ok: {path}: questionnaire '{flow.id}' version {flow.version}, "
                  f"{len(flow.sections)} sections, {len(flow.questions)} questions")
        else:
            print(f"ok: {path}: consent '{flow.id}' version {flow.version}, "
                  f"{len(flow.items)} items")
    return 1 if failed else 0


def import_form(args: argparse.Namespace) -> int:
    from bot.xlsform.output import write_import
    from bot.xlsform.reader import FormRefused, read_form

    form: Path = args.form
    if not form.is_file():
        raise UserError(f"{form}: no such file")
    if args.consent is not None:
        try:
            load_consent(args.consent)
        except FlowError as exc:
            raise UserError(f"--consent: {exc}") from None
    try:
        imported = read_form(form, allow_location=args.allow_location)
    except FormRefused as refused:
        if refused.took:
            print(f"{form}: took {', '.join(refused.took)}")
        lines = "\n".join(f"  refused: {r}" for r in refused.refusals)
        raise UserError(f"{form}: not imported, {len(refused.refusals)} problem(s) to fix in "
                        f"the spreadsheet:\n{lines}") from None
    try:
        parse_questionnaire(imported.doc, form.name)  # before anything is written
    except FlowError as exc:
        raise UserError(f"{form}: not imported: question {exc.item}: {exc.problem}") from None
    written = write_import(imported, args.out, form.name, args.consent)
    try:
        flow = load_questionnaire(written.flow)
    except FlowError as exc:
        raise UserError(f"{form}: imported, but the flow is invalid: {exc}") from None
    print(f"{form}: took {', '.join(imported.took)}")
    for note in imported.left_out:
        print(f"  left out: {note}")
    print(f"  languages: {', '.join(imported.languages)} (texts in {imported.source_language})")
    for language in imported.languages[1:]:
        missing = imported.missing(language)
        if missing:
            print(f"  warning: {language}: {missing} text(s) not translated, shown in "
                  f"{imported.source_language}")
    for warning in imported.warnings:
        print(f"  warning: {warning}")
    print(f"ok: {written.flow}: questionnaire '{flow.id}' version {flow.version}, "
          f"{len(flow.sections)} sections, {len(flow.questions)} items")
    print("To use it, set:")
    print(f"  FLOW_FILE={written.flow}")
    print(f"  LOCALES_DIR={written.locales}")
    if written.consent is not None:
        print(f"  CONSENT_FILE={written.consent}")
    return 0


def export_form(args: argparse.Namespace) -> int:
    from bot.i18n import DEFAULT_LOCALES_DIR
    from bot.xlsform.writer import write_xlsform

    try:
        flow = load_questionnaire(args.flow)
    except FlowError as exc:
        raise UserError(str(exc)) from None
    locales = args.locales or _locales_setting() or DEFAULT_LOCALES_DIR
    languages = write_xlsform(flow, locales, args.xlsform)
    print(f"ok: {args.xlsform}: '{flow.id}' version {flow.version}, "
          f"{len(flow.questions)} items, languages {', '.join(languages)}")
    return 0


def _locales_setting() -> Path | None:
    import os

    value = os.environ.get("LOCALES_DIR")
    return Path(value) if value else None
