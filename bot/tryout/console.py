"""`cppcc-bot console`: chat with the real bot in a terminal, offline, through the emulator."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select

from bot.app import build_application
from bot.channels import TELEGRAM
from bot.runner import PollingRunner
from bot.settings import Settings
from bot.tryout import BotApiEmulator, SentMessage, SimUser
from storage import identities, members
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Member, Role

CONSOLE_USER_BASE = 7_000_000_000  # Telegram-like ids for console users, far from real ones
STRANGER_ID = CONSOLE_USER_BASE - 1
HELP = """Type a message or a /command. [N] presses inline button N of the last message that has
buttons; /contact shares your phone number; /photo PATH and /file PATH send a file;
/location LAT LON shares a location; /quit leaves."""


class Transcript:
    """Prints what the bot sends to the console user, numbering inline buttons."""

    def __init__(self, chat_id: int) -> None:
        self.chat_id = chat_id
        self.last_with_buttons: SentMessage | None = None

    def __call__(self, event: str, message: SentMessage) -> None:
        if message.chat_id != self.chat_id or event == "deleted":
            return
        prefix = "bot (edited)" if event == "edited" else "bot"
        body = (
            message.text
            or f"<{message.kind}{': ' + message.file_name if message.file_name else ''}>"
        )
        print(f"\n{prefix}: {body}")
        buttons = message.buttons()
        if buttons:
            self.last_with_buttons = message
            print("  " + "  ".join(f"[{i}] {label}" for i, label in enumerate(buttons, 1)))
        keyboard = message.keyboard_texts()
        if keyboard:
            print("  menu: " + " | ".join(keyboard))
        print("> ", end="", flush=True)


async def _pick_user(db: Database, args: argparse.Namespace) -> tuple[int, str, str | None]:
    """The Telegram id to act as, a display name, and the phone to share with /contact."""
    if args.stranger:
        return STRANGER_ID, "访客", "+8613000000000"
    async with db.transaction() as session:
        if args.as_member:
            member = await members.find(session, args.as_member)
        elif args.staff:
            member = await session.scalar(
                select(Member).where(Member.role != Role.member).order_by(Member.id)
            )
        else:
            member = await session.scalar(
                select(Member).where(Member.role == Role.member).order_by(Member.id)
            )
        if member is None:
            raise LookupError("no such member on the roster: run `cppcc-bot demo-data` first")
        account = await identities.account_of(session, member.id, TELEGRAM)
    user_id = int(account.external_id) if account else CONSOLE_USER_BASE + member.id
    return user_id, member.name, member.phone


async def _dispatch(line: str, user: SimUser, transcript: Transcript, phone: str | None) -> None:
    if line.startswith("[") and line.endswith("]") and line[1:-1].isdigit():
        message = transcript.last_with_buttons
        index = int(line[1:-1]) - 1
        if message is None or not 0 <= index < len(message.buttons()):
            print("no such button")
            return
        await user.tap(message, message.buttons()[index])
    elif line == "/contact":
        await user.send_contact(phone or "")
    elif line.startswith(("/photo ", "/file ")):
        command, _, raw_path = line.partition(" ")
        path = Path(raw_path.strip())
        data = await asyncio.to_thread(path.read_bytes)
        if command == "/photo":
            await user.send_photo(data)
        else:
            await user.send_document(data, path.name, "application/octet-stream")
    elif line.startswith("/location "):
        lat, lon = (float(x) for x in line.split()[1:3])
        await user.send_location(lat, lon)
    elif line.startswith("/"):
        command, _, rest = line[1:].partition(" ")
        await user.send_command(command, rest)
    else:
        await user.send_text(line)


async def run_console(settings: Settings, args: argparse.Namespace) -> int:
    db = Database(settings.database_url)
    await upgrade(db.engine)
    try:
        user_id, name, phone = await _pick_user(db, args)
    except LookupError as exc:
        print(exc, file=sys.stderr)
        await db.dispose()
        return 1
    emu = BotApiEmulator(enforce_limits=False, bot_username=settings.bot_username or "cppcc_bot")
    await emu.start()
    local = settings.model_copy(
        update={
            "bot_token": SecretStr(emu.token),
            "telegram_api_base_url": emu.base_url,
            "telegram_file_base_url": emu.base_file_url,
        }
    )
    runner = PollingRunner(build_application(local, db=db, migrate=False))
    transcript = Transcript(user_id)
    emu.add_listener(transcript)
    await runner.start()
    user = emu.user(user_id, name)
    print(f"You are {name} (Telegram id {user_id}).\n{HELP}\n> ", end="", flush=True)
    try:
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line or line.strip() in {"/quit", "/exit"}:
                break
            if line.strip():
                try:
                    await _dispatch(line.strip(), user, transcript, phone)
                except (OSError, ValueError) as exc:
                    print(f"could not do that: {exc}")
    finally:
        await runner.stop()
        await emu.stop()
    return 0
