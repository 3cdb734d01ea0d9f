"""The `cppcc-bot` command: run the bot, upgrade the schema, import the roster, manage staff."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot import log_privacy
from bot.cli_errors import CliFailure, unexpected
from bot.log_budget import RepeatLimiter
from bot.settings import Settings, SettingsError, load_settings, unknown_env_file_keys

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.db import Database
    from storage.migrate import SchemaState
    from storage.models import Member

log = logging.getLogger("cppcc-bot")


# Libraries whose lower levels write secrets or personal data, and the lowest level each runs at
# whatever LOG_LEVEL says (LOG_LEVEL=DEBUG turns on our own modules' debug lines, not theirs):
LIBRARY_FLOORS = {
    # Every request URL at INFO, and the URL carries the bot token (httpx is PTB's default
    # client, still used where a library brings its own; ours is aiohttp, whose client logger
    # may name a failing URL).
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiohttp.client": logging.WARNING,
    # DEBUG prints every update (shared contacts' phone numbers, report texts), every Bot API
    # call's parameters, and the API URL with the token.
    "telegram": logging.INFO,
    # DEBUG prints every statement with its parameters (phone numbers, report texts).
    "aiosqlite": logging.WARNING,
    # INFO prints SQL with its parameters.
    "sqlalchemy": logging.WARNING,
    "apscheduler": logging.WARNING,
    "alembic": logging.WARNING,
}


def configure_logging(level: str) -> None:
    """Log to stderr at level, never below the library floors; hide database-quoted values."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    wanted = logging.getLevelNamesMapping()[level.upper()]
    for name, floor in LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(floor, wanted))
    for handler in logging.getLogger().handlers:
        log_privacy.protect(handler)
        # A failure loop (a library retrying at once, an error on every update) writes one
        # line per interval with a count, not one per occurrence.
        if not any(isinstance(f, RepeatLimiter) for f in handler.filters):
            handler.addFilter(RepeatLimiter())


def _fast_event_loop() -> None:
    """uvloop where it is installed (Linux, macOS): the bot is one event loop, and under load
    much of its time is the loop's own (sockets, wake-ups from the database threads)."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_application
    from bot.cli_errors import check_listen, check_telegram, webhook_failure, webhook_url_warning
    from bot.runner import run_polling, serve_webhook_forever

    settings.token()
    if args.webhook:
        settings.check_webhook()
        if warning := webhook_url_warning(settings):
            print(warning, file=sys.stderr)
        check_listen(settings)
    # Checked before anything starts, each failure in one line: the database (opened and
    # upgraded here, so a wrong DATABASE_URL is reported whatever Telegram does), then the Bot
    # API (PTB's own start would log a traceback and retry).
    asyncio.run(_with_db(settings, _ready))
    asyncio.run(check_telegram(settings))
    _fast_event_loop()
    app = build_application(settings)
    # Everything imported and built so far lives as long as the process: out of the garbage
    # collector's sight, a full collection no longer walks it (measured under
    # benchmarks/inbound.py: pauses of about 90 ms every few seconds, the slowest answers).
    gc.collect()
    gc.freeze()
    if args.webhook:
        try:
            asyncio.run(serve_webhook_forever(app, settings))
        except Exception as exc:
            line = webhook_failure(exc, settings)
            if line is None:
                raise
            raise CliFailure(line) from exc
    else:
        run_polling(app)
    return 0


async def _with_db(settings: Settings, work: Callable[..., Awaitable[int]], *args: object) -> int:
    db = _open_database(settings)
    try:
        await _upgrade(db, settings)
        return await work(db, *args)
    finally:
        await db.dispose()


def _open_database(settings: Settings) -> Database:
    from bot.cli_errors import database_failure
    from storage.db import Database

    try:
        return Database(settings.database_url)
    except Exception as exc:  # e.g. SQLite's directory cannot be made
        line = database_failure(exc, settings.database_url)
        if line is None:
            raise
        raise CliFailure(line) from exc


async def _upgrade(db: Database, settings: Settings) -> tuple[SchemaState, SchemaState]:
    """Upgrade the schema; where it stood before and after. A failure to connect or upgrade
    is one line (CliFailure), and a database holding someone else's tables is not touched."""
    from bot.cli_errors import database_failure, unmarked_schema
    from storage.migrate import schema_state, upgrade

    try:
        before = await schema_state(db.engine)
        if not before.revisions and before.tables:
            raise CliFailure(unmarked_schema(before.tables))
        await upgrade(db.engine)
        return before, await schema_state(db.engine)
    except CliFailure:
        raise
    except Exception as exc:
        line = database_failure(exc, settings.database_url)
        if line is None:
            raise
        raise CliFailure(line) from exc


async def _ready(db: object) -> int:
    return 0


async def _db_upgrade(settings: Settings) -> int:
    db = _open_database(settings)
    try:
        before, after = await _upgrade(db, settings)
    finally:
        await db.dispose()
    revision = "+".join(after.revisions)
    if not before.revisions:
        print(f"created the schema at revision {revision} ({after.tables} tables)")
    elif before.revisions == after.revisions:
        print(f"the schema was already current at revision {revision} ({after.tables} tables)")
    else:
        print(
            f"upgraded the schema from revision {'+'.join(before.revisions)} to {revision} "
            f"({after.tables} tables)"
        )
    return 0


async def _roster_import(db: object, settings: Settings, path: Path, data: bytes) -> int:
    from bot import roster_report
    from bot.i18n import Texts
    from storage import roster
    from storage.audit import Actor
    from storage.db import Database

    assert isinstance(db, Database)
    texts = Texts(settings.default_locale)
    try:
        rows = roster.parse_roster(data, path.name)
    except roster.RosterFileError as exc:
        print(texts.get(settings.default_locale, f"roster.file_error_{exc.code}"), file=sys.stderr)
        return 1
    async with db.transaction() as session:
        report = await roster.import_roster(
            session, rows, actor=Actor.cli(), source=f"cli:{path.name}"
        )
    print(roster_report.render(texts, settings.default_locale, report, html=False))
    return 0


async def _find_member(session: AsyncSession, query: str) -> Member | None:
    """The roster member named by phone or #id; says so on stderr when there is none."""
    from storage import members

    member = await members.find(session, query)
    if member is None:
        print(f"no member matches {query!r} on the roster", file=sys.stderr)
    return member


async def _staff_add(db: object, query: str, role_name: str) -> int:
    from storage import members
    from storage.audit import Actor
    from storage.db import Database
    from storage.models import Role

    assert isinstance(db, Database)
    async with db.transaction() as session:
        member = await _find_member(session, query)
        if member is None:
            return 1
        changed = await members.set_role(session, member, Role(role_name), Actor.cli())
        print(f"{member.name} (#{member.id}) is {'now' if changed else 'already'} {role_name}")
    return 0


async def _invite(db: object, settings: Settings, query: str) -> int:
    from storage import members
    from storage.audit import Actor
    from storage.db import Database

    assert isinstance(db, Database)
    async with db.transaction() as session:
        member = await _find_member(session, query)
        if member is None:
            return 1
        code = await members.create_invite(session, member.id, Actor.cli())
        name = member.name
    username = settings.bot_username or "<bot_username>"
    print(f"{name}: https://t.me/{username}?start={code}")
    print(f"(works once, for {settings.invite_ttl_days} days)")
    if not settings.bot_username:
        print("(set BOT_USERNAME to print the full link)", file=sys.stderr)
    return 0


async def _updates_quarantine(db: object, drop: list[int], show: int | None) -> int:
    """List the quarantined updates (id, channel, update id, kind, size, error), show one's raw
    text, or drop some."""
    from storage import quarantine
    from storage.db import Database

    assert isinstance(db, Database)
    if drop:
        async with db.transaction() as session:
            count = await quarantine.drop(session, drop)
        print(f"dropped {count} of {len(drop)} quarantined updates")
        return 0 if count == len(drop) else 1
    if show is not None:
        async with db.read() as session:
            raw = await quarantine.raw_of(session, show)
        if raw is None:
            print(f"no quarantined update #{show}", file=sys.stderr)
            return 1
        print(raw)
        return 0
    async with db.read() as session:
        rows = await quarantine.listed(session)
    if not rows:
        print("no quarantined updates")
    for row in rows:
        # The error is printed on one line; the raw update only on request (--show).
        error = " ".join(row.error.split())[:200]
        print(
            f"#{row.id}  {row.received_at:%Y-%m-%d %H:%M:%S}Z  {row.channel}  "
            f"update {row.update_id}  {row.kind}  {row.raw_size} chars  {error}"
        )
    return 0


async def _member_unbind(db: object, settings: Settings, query: str) -> int:
    from handlers import bindings as binding_messages
    from storage import bindings
    from storage.audit import Actor
    from storage.db import Database

    assert isinstance(db, Database)
    async with db.transaction() as session:
        member = await _find_member(session, query)
        if member is None:
            return 1
        unbound = await bindings.unbind(session, member, Actor.cli())
        await binding_messages.tell(session, unbound.news, settings.office_contact)
        label = f"{member.name} (#{member.id})"
    if unbound.outcome is bindings.Unbind.not_bound:
        print(f"{label} is not bound to a Telegram account; nothing changed")
        return 0
    # The message to the old account waits in the outbox until the bot runs.
    print(f"{label}: binding removed; the old account will be told")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cppcc-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot (long polling, or --webhook)")
    run.add_argument("--webhook", action="store_true", help="serve Telegram's webhook on aiohttp")
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    roster = sub.add_parser("roster", help="member roster")
    roster.add_argument("action", choices=["import"])
    roster.add_argument("file", type=Path, help="an .xlsx or .csv roster")
    staff = sub.add_parser("staff", help="staff roles")
    staff.add_argument("action", choices=["add"])
    staff.add_argument("member", help="phone number or #member-id on the roster")
    staff.add_argument("--role", choices=["staff", "admin"], default="staff")
    invite = sub.add_parser("invite", help="print a one-time binding link for a member")
    invite.add_argument("member", help="phone number or #member-id on the roster")
    member = sub.add_parser("member", help="a member's Telegram binding")
    member.add_argument("action", choices=["unbind"])
    member.add_argument("member", help="phone number or #member-id on the roster")
    updates = sub.add_parser("updates", help="incoming updates set aside")
    updates.add_argument("action", choices=["quarantine"])
    updates.add_argument(
        "--drop", type=int, nargs="+", default=[], metavar="ID", help="remove these entries"
    )
    updates.add_argument("--show", type=int, metavar="ID", help="print one entry's raw update")
    console = sub.add_parser("console", help="chat with the bot in this terminal, offline")
    who = console.add_mutually_exclusive_group()
    who.add_argument(
        "--as", "--member", dest="as_member", metavar="MEMBER", help="phone, #id or name to act as"
    )
    who.add_argument("--staff", action="store_true", help="act as the first staff member")
    who.add_argument("--admin", action="store_true", help="act as the first admin")
    who.add_argument("--stranger", action="store_true", help="act as someone not on the roster")
    console.add_argument(
        "--watch",
        action="append",
        metavar="MEMBER",
        help="also show what the bot sends this person (repeatable)",
    )
    sub.add_parser(
        "demo-data",
        help="fill the database with a demo office: roster, staff and admin, activities, "
        "notices, reports",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings: Settings | None = None
    try:
        # A misspelt key in .env would otherwise be ignored without a word.
        for warning in unknown_env_file_keys():
            print(f"warning: {warning}", file=sys.stderr)
        settings = load_settings()
        # The console shares the terminal with the chat: only warnings go there.
        configure_logging("WARNING" if args.command == "console" else settings.log_level)
        if args.command == "run":
            return _run(settings, args)
        if args.command == "db":
            return asyncio.run(_db_upgrade(settings))
        if args.command == "roster":
            if not args.file.is_file():
                print(f"no such file: {args.file}", file=sys.stderr)
                return 1
            data = args.file.read_bytes()
            return asyncio.run(_with_db(settings, _roster_import, settings, args.file, data))
        if args.command == "staff":
            return asyncio.run(_with_db(settings, _staff_add, args.member, args.role))
        if args.command == "invite":
            return asyncio.run(_with_db(settings, _invite, settings, args.member))
        if args.command == "member":
            return asyncio.run(_with_db(settings, _member_unbind, settings, args.member))
        if args.command == "updates":
            return asyncio.run(_with_db(settings, _updates_quarantine, args.drop, args.show))
        if args.command == "console":
            from bot.tryout.console import run_console

            return asyncio.run(run_console(settings, args))
        if args.command == "demo-data":
            from bot.tryout.demo import load_demo_data

            return asyncio.run(_with_db(settings, load_demo_data, settings))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    except CliFailure as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Not an operator's mistake we know: still one line, the traceback only on request.
        print(unexpected(exc, settings), file=sys.stderr)
        if settings is not None and settings.log_level == "DEBUG":
            traceback.print_exception(exc)
        return 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
