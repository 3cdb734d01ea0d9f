"""`cppcc-bot console`: chat with the real bot in a terminal, offline, through the emulator.

The real bot runs in this process against a local emulator, on the configured database. What
any console's bot sends goes into the store under ``DATA_DIR/console/`` (`bot.tryout.store`), and
this console shows the rows of the people it plays or watches (`bot.tryout.console_view`): so
several consoles, one after another or side by side, each see everything sent to their people,
including what was sent while they were not running. Details: docs/features.md ("The console").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select

from bot.app import build_application
from bot.channels import TELEGRAM
from bot.runner import PollingRunner
from bot.settings import Settings
from bot.tryout.console_view import PROMPT, Person, Recorder, Screen
from bot.tryout.demo import CONSOLE_USER_BASE, user_id_for
from bot.tryout.emulator import BotApiEmulator
from bot.tryout.store import ConsoleStore
from bot.tryout.users import SimUser
from storage import identities, members
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Member, Role

STRANGER_ID = CONSOLE_USER_BASE - 1
STRANGER_PHONE = "+8613000000000"
HELP = """Type a message or a /command and press Enter; the bot's messages are numbered [3].
  [3.2]            press the second button of message 3 (as shown under it)
  [2]              press button 2 of the latest message with buttons
  line ending in \\  continues on the next line;  a line \"\"\" starts and ends a block
  /contact         share your phone number       /location LAT LON   share a location
  /photo PATH      send a photo                  /file PATH          send a file
  /as WHO          become someone else (phone, #id, name, staff, admin or stranger)
  /watch WHO       also show what the bot sends someone else
  /who             who you are and watch         /console            this help
  /quit            leave (what arrives meanwhile is shown next time)"""
_PRESS = re.compile(r"\[(\d+)(?:\.(\d+))?\]")
_BLOCK = '"""'


async def find_person(db: Database, query: str) -> Person:
    """The person named by a phone, #id, name, or one of staff / admin / member / stranger."""
    query = query.strip()
    if query == "stranger":
        return Person(STRANGER_ID, "访客", STRANGER_PHONE)
    roles = {"member": [Role.member], "staff": [Role.staff, Role.admin], "admin": [Role.admin]}
    async with db.read() as session:
        if query in roles:
            member = None
            for role in roles[query]:
                member = await session.scalar(
                    select(Member).where(Member.role == role, Member.active).order_by(Member.id)
                )
                if member is not None:
                    break
        else:
            member = await members.find(session, query) or await session.scalar(
                select(Member).where(Member.name == query).order_by(Member.id)
            )
        if member is None:
            if query in roles:
                raise LookupError(f"no {query} on the roster: run `cppcc-bot demo-data` first")
            raise LookupError(f"nobody on the roster matches {query!r}")
        account = await identities.account_of(session, member.id, TELEGRAM)
        chat_id = int(account.external_id) if account else user_id_for(member.id)
        return Person(chat_id, member.name, member.phone, member.id)


class Console:
    """The people played and watched, and what the typed lines do."""

    def __init__(self, db: Database, emu: BotApiEmulator, screen: Screen) -> None:
        self.db = db
        self.emu = emu
        self.screen = screen

    @property
    def me(self) -> Person:
        assert self.screen.current is not None
        return self.screen.current

    def user(self, person: Person) -> SimUser:
        return self.emu.user(person.chat_id, person.name)

    def become(self, person: Person) -> None:
        self.user(person)
        self.screen.say(f"You are {person.name} (Telegram id {person.chat_id}).")
        self.screen.watch(person, current=True)

    async def handle(self, line: str) -> bool:
        """Do what the line says; True when it went to the bot (whose answer brings a prompt)."""
        press = _PRESS.fullmatch(line)
        if press:
            return await self._press(int(press[1]), int(press[2]) if press[2] else None)
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        user = self.user(self.me)
        if command == "/contact" and not rest:
            await user.send_contact(self.me.phone or "")
        elif command in ("/photo", "/file") and rest:
            path = Path(rest)
            data = await asyncio.to_thread(_read, path)
            if command == "/photo":
                await user.send_photo(data)
            else:
                await user.send_document(data, path.name, "application/octet-stream")
        elif command == "/location" and rest:
            lat, lon = (float(x) for x in rest.split()[:2])
            await user.send_location(lat, lon)
        elif command in ("/as", "/watch") and rest:
            person = await find_person(self.db, rest)
            if command == "/as":
                self.become(person)
            else:
                self.user(person)
                self.screen.say(f"Watching {person.name} (Telegram id {person.chat_id}) too.")
                self.screen.watch(person)
        elif command == "/who":
            others = [p.name for p in self.screen.people.values() if p != self.me]
            self.screen.say(
                f"You are {self.me.name}; watching {', '.join(others) or 'nobody else'}."
            )
        elif command == "/console":
            self.screen.say(HELP)
        else:
            await user.send_text(line)
        return command not in ("/as", "/watch", "/who", "/console")

    async def _press(self, number: int, button: int | None) -> bool:
        """[n.k]: button k of message n (as its chat's person); [k]: of the latest one."""
        if button is None:
            button, latest = number, self.screen.latest_with_buttons(self.me.chat_id)
            if latest is None:
                self.screen.say("no message with buttons yet")
                return False
            number = latest
        shown = self.screen.message_at(number)
        chat = self.emu.state.chat(shown[0]) if shown else None
        message = self.emu.state.find_sent(chat, shown[1]) if chat and shown else None
        if message is None or message.deleted:
            self.screen.say(f"no message [{number}] to press")
            return False
        buttons = message.inline_buttons()
        if not 1 <= button <= len(buttons):
            self.screen.say(f"message [{number}] has no button {button}")
            return False
        chosen = buttons[button - 1]
        if "callback_data" not in chosen:
            self.screen.say(f"that button opens {chosen.get('url', 'nothing here')}")
            return False
        presser = self.screen.people.get(message.chat_id, self.me)
        await self.user(presser).send_callback(message.message_id, str(chosen["callback_data"]))
        return True


def _read(path: Path) -> bytes:
    return path.expanduser().read_bytes()


async def read_input() -> str | None:
    """One entry: a line, lines joined by a trailing backslash, or a \"\"\" block; None at EOF."""
    line = await asyncio.to_thread(sys.stdin.readline)
    if not line:
        return None
    text = line.rstrip("\r\n")
    if text.strip() == _BLOCK:
        lines: list[str] = []
        while True:
            more = await asyncio.to_thread(sys.stdin.readline)
            if not more or more.rstrip("\r\n").strip() == _BLOCK:
                return "\n".join(lines)
            lines.append(more.rstrip("\r\n"))
    parts = []
    while text.endswith("\\"):
        parts.append(text[:-1])
        print("… ", end="", flush=True)
        more = await asyncio.to_thread(sys.stdin.readline)
        if not more:
            break
        text = more.rstrip("\r\n")
    else:
        parts.append(text)
    return "\n".join(parts)


def _who(args: argparse.Namespace) -> str:
    if args.stranger:
        return "stranger"
    if args.admin:
        return "admin"
    if args.staff:
        return "staff"
    return str(args.as_member or "member")


async def run_console(settings: Settings, args: argparse.Namespace) -> int:
    db = Database(settings.database_url)
    store = ConsoleStore(settings.data_dir / "console")
    try:
        await upgrade(db.engine)
        try:
            me = await find_person(db, _who(args))
            watched = [await find_person(db, who) for who in args.watch or []]
        except LookupError as exc:
            print(exc, file=sys.stderr)
            return 1
        return await _converse(settings, db, store, me, watched)
    finally:
        store.close()
        await db.dispose()


async def _converse(
    settings: Settings, db: Database, store: ConsoleStore, me: Person, watched: list[Person]
) -> int:
    screen = Screen(store)
    recorder = Recorder(store, screen.wake)
    emu = BotApiEmulator(
        enforce_limits=False, bot_username=settings.bot_username or "cppcc_bot", ids=store
    )
    emu.add_listener(recorder)
    emu.add_answer_listener(recorder.popup)
    emu.set_message_lookup(recorder.lookup)
    await emu.start()
    local = settings.model_copy(
        update={
            "bot_token": SecretStr(emu.token),
            "telegram_api_base_url": emu.base_url,
            "telegram_file_base_url": emu.base_file_url,
        }
    )
    runner = PollingRunner(build_application(local, db=db, migrate=False))
    await runner.start()
    console = Console(db, emu, screen)
    screen.say(HELP)
    console.become(me)
    for person in watched:
        console.user(person)
        screen.watch(person)
    screen.prompt()
    follower = asyncio.create_task(screen.follow(), name="console-screen")
    try:
        while True:
            line = await read_input()
            if line is None or line.strip() in {"/quit", "/exit"}:
                break
            to_bot = False
            if line.strip():
                try:
                    to_bot = await console.handle(line if "\n" in line else line.strip())
                except (OSError, ValueError, LookupError) as exc:
                    screen.say(f"could not do that: {exc}")
            if not to_bot:
                screen.prompt()
        # What the bot is still answering is shown before leaving (and so marked seen).
        await asyncio.sleep(0.5)
        screen.refresh()
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        await runner.stop()
        await emu.stop()
    print()
    return 0


__all__ = ["PROMPT", "STRANGER_ID", "find_person", "run_console", "user_id_for"]
