"""`links create|list|disable`: campaign links and QR codes for field workers."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import Subparsers, UserError, live_database, settings
from bot.config import Settings
from bot.i18n import DEFAULT_LOCALES_DIR, SOURCE_LANGUAGE, Translator
from bot.links.funnel import COLUMN_TITLES, by_campaign, masked, table
from bot.links.qr import CAPTION, can_draw, link_url, qr_png, qr_print_png, qr_svg, whatsapp_url
from bot.reminders import valid_timezone
from bot.runtime import utc_now
from storage.links import FUNNEL, LinkBook

if TYPE_CHECKING:
    from storage.pg.links import PgLinkBook


def register(commands: Subparsers) -> None:
    links = commands.add_parser("links", help="campaign links and QR codes for field workers")
    sub = links.add_subparsers(dest="links_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="make a link and its QR code (PNG and SVG)")
    create.add_argument("--campaign", required=True, help="e.g. imrf-2022")
    create.add_argument("--partner", required=True, help="the partner organisation")
    create.add_argument("--region", required=True, help="where the link is handed out")
    create.add_argument("--lang", help="preselect this language (e.g. ar)")
    create.add_argument("--label", help="a note for yourselves, e.g. 'flyer, shelter B'")
    create.add_argument("--expires", type=_day, metavar="YYYY-MM-DD",
                        help="last day the link counts for this campaign")
    create.add_argument("--timezone", metavar="AREA/CITY",
                        help="where the link is handed out, for reminders' quiet hours "
                        "(21:00-08:00 there), e.g. Asia/Manila (default: UTC)")
    create.add_argument("--out-dir", type=Path, help="where to write the QR files "
                        "(default: DATA_DIR/links)")
    create.add_argument("--channel", choices=("telegram", "whatsapp"), default="telegram",
                        help="a t.me link (default) or a wa.me link with the code typed in")
    create.add_argument("--create", action="store_true",
                        help="start a new database if there is none yet (the first link)")
    create.set_defaults(handler=create_link)
    listing = sub.add_parser("list", help="all links with their figures (small counts as <5)")
    listing.set_defaults(handler=list_links)
    disable = sub.add_parser("disable", help="stop attributing to a link (it still works)")
    disable.add_argument("code")
    disable.set_defaults(handler=disable_link)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("use the form YYYY-MM-DD") from None


def create_link(args: argparse.Namespace) -> int:
    config = settings()
    if args.channel == "telegram" and not config.bot_username:
        raise UserError("set BOT_USERNAME (the bot's @username) in .env to make t.me links")
    if args.channel == "whatsapp" and not config.whatsapp_number:
        raise UserError("set WHATSAPP_NUMBER (the bot's public number, e.g. +971501234567) "
                        "in .env to make wa.me links")
    translator = Translator(config.locales_dir or DEFAULT_LOCALES_DIR)
    if args.lang and args.lang not in translator.languages:
        raise UserError(f"--lang {args.lang}: the bot does not speak it. Use one of: "
                        f"{', '.join(translator.languages)}")
    if args.expires and args.expires < utc_now().date():
        raise UserError(f"--expires {args.expires} is already past: give today or a later day")
    if args.timezone is None:
        print("No --timezone given: reminders asked for through this link keep quiet hours "
              "(21:00-08:00) in UTC. Give the place's, e.g. --timezone Asia/Manila.",
              file=sys.stderr)
    elif not valid_timezone(args.timezone):
        raise UserError(f"--timezone {args.timezone!r} is not a time zone name. Use the "
                        "Area/City form of the tz database, e.g. Asia/Manila or Africa/Nairobi")
    if not args.create:
        live_database(config, "--create")
    return asyncio.run(_create(config, args, translator))


async def _create(config: Settings, args: argparse.Namespace, translator: Translator) -> int:
    book = await _open_links(config)
    try:
        link = await book.create(campaign=args.campaign, partner=args.partner,
                                 region=args.region, language=args.lang, label=args.label,
                                 expires_on=args.expires, now=utc_now(),
                                 timezone=args.timezone)
    finally:
        await book.close()
    url = (whatsapp_url(config.whatsapp_number, link.code) if args.channel == "whatsapp"
           else link_url(config.bot_username, link.code))
    folder: Path = args.out_dir or config.data_dir / "links"
    language = link.language or SOURCE_LANGUAGE
    text = translator.render(CAPTION, language)
    if not can_draw(text):
        print(f"No installed font has the letters of {language!r}: the PNG captions are in "
              "English (the SVG's is not). Install one, e.g. apt-get install fonts-noto-core.",
              file=sys.stderr)
    write_qr_files(folder, url, link.code, text)
    print(url)
    print(f"code: {link.code}   (people can also type it to the bot)")
    print(f"QR code: {folder / (link.code + '.png')} (screen), {link.code}-print.png "
          "(4 cm at 600 dpi) and .svg")
    return 0


def write_qr_files(folder: Path, url: str, code: str, text: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{code}.png").write_bytes(qr_png(url, code, text))
    (folder / f"{code}-print.png").write_bytes(qr_print_png(url, code, text))
    (folder / f"{code}.svg").write_text(qr_svg(url, code, text), encoding="utf-8")


def list_links(args: argparse.Namespace) -> int:
    config = settings()
    live_database(config)
    return asyncio.run(_list(config))


async def _list(config: Settings) -> int:
    book = await _open_links(config)
    try:
        figures = await book.figures(await book.all())
    finally:
        await book.close()
    if not figures:
        print("No links yet. Make one with: testimony-bot links create --campaign ...")
        return 0
    today = utc_now().date()
    header = ["code", "campaign", "partner", "region", "label", "lang", "expires", "state",
              *(COLUMN_TITLES[m] for m in FUNNEL)]
    rows = [header]
    for item in figures:
        link = item.link
        state = "live" if link.live_on(today) else ("disabled" if not link.active else "expired")
        rows.append([link.code, link.campaign, link.partner, link.region, link.label or "-",
                     link.language or "-",
                     link.expires_on.isoformat() if link.expires_on else "-", state,
                     *masked(item.live).values()])
        if any(item.expired.values()):
            rows.append(["", "", "", "", "", "", "", "after end",
                         *masked(item.expired).values()])
    print(table(rows))
    print()
    campaign_rows = [["campaign", "links", *(COLUMN_TITLES[m] for m in FUNNEL)]]
    for campaign in by_campaign(figures):
        campaign_rows.append([campaign.campaign, str(campaign.links),
                              *masked(campaign.counts).values()])
    print(table(campaign_rows))
    return 0


def disable_link(args: argparse.Namespace) -> int:
    config = settings()
    live_database(config)
    return asyncio.run(_disable(config, args.code))


async def _disable(config: Settings, code: str) -> int:
    book = await _open_links(config)
    try:
        link = await book.find(code)
        if link is None:
            raise UserError(f"no link with code {code}")
        if not link.active:
            raise UserError(f"{code} was disabled already: nothing changed")
        await book.disable(code)
    finally:
        await book.close()
    print(f"{code} disabled: it still opens the bot, but new people count as 'after end'.")
    return 0


async def _open_links(config: Settings) -> LinkBook | PgLinkBook:
    """The links on PostgreSQL when DATABASE_URL is set, else in DATA_DIR's SQLite file."""
    if config.database_url:
        from storage.pg.links import PgLinkBook

        return await PgLinkBook.open(config.database_url.value)
    return await LinkBook.open(config.database_path)
