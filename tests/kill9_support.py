"""Shared by the kill -9 tests (test_kill9_*_e2e.py): the bot process, the killer, and
members who behave as people do; the fixtures `database` (SQLite and PostgreSQL) and `bot`
(a BotProcess), which the test modules import.

The real bot runs as `python -m bot.cli run` (long polling) in a child process, against the Bot
API emulator in this process, on a SQLite file or PostgreSQL. A killer SIGKILLs it at seeded
random moments and starts it again. Simulated members behave as people do: they answer the
question on their screen, and when no answer comes once the bot is back, they send it again.

In every scenario nothing sent while the bot was down is dropped: the restarted bot gets it
(getUpdates offsets) and answers it; updates fetched but not handled when the bot was killed
come back from the inbox (bot/inbox.py); only those inside a handler at that moment may go
unanswered, at most CONCURRENT_UPDATES per kill, and nothing is answered twice
(BotProcess.check_probes and BotProcess.dropped).

KILL9_ROUNDS (default 2) and KILL9_SEED set how many kills per scenario and the random seed;
the seed is in every failure message, so a failing run can be repeated.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import TELEGRAM
from bot.settings import Settings
from bot.tryout import BotApiEmulator, SentMessage, SimUser
from storage.db import Database
from storage.models import Identity, Member, utcnow
from tests.support import bind_telegram, fresh_database

ROUNDS = int(os.environ.get("KILL9_ROUNDS", "2"))
SEED = int(os.environ.get("KILL9_SEED", "20261125"))
# How long a member waits for an answer, once the bot has been up again, before sending again.
PATIENCE = 4.0
LEASE_SECONDS = 5  # the shortest lease the settings allow: a killed worker's rows come back soon
PROBE = 8_000_001  # a member who writes while the bot is down
HELP = "本助手可以"
CONCURRENT_UPDATES = Settings.model_fields["concurrent_updates"].default


async def bind_many(session: AsyncSession, user_ids: dict[str, int]) -> None:
    """Bind the members with these phones (phone -> Telegram user id, whose private chat it
    is) in one statement, as many bindings done one by one would leave them."""
    found = await session.execute(
        select(Member.phone, Member.id).where(Member.phone.in_(list(user_ids)))
    )
    member_ids = {phone: member_id for phone, member_id in found}
    now = utcnow()
    rows = [
        {
            "member_id": member_ids[phone],
            "channel": TELEGRAM,
            "external_id": str(user_id),
            "address": str(user_id),
            "bound_at": now,
        }
        for phone, user_id in user_ids.items()
    ]
    await session.execute(insert(Identity), rows)


@pytest.fixture(params=["sqlite", "postgresql"], name="database")
async def database_fixture(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Database]:
    async with fresh_database(request.param, tmp_path) as db:
        yield db


# -- the bot process, the killer and the record of what was sent -----------------------------


@dataclass
class Sent:
    """One update a member sent, and what became of it."""

    update_id: int
    chat_id: int
    at: float
    answered: bool = False
    given_up_at: float | None = None  # the member stopped waiting and sent it again


@dataclass
class BotProcess:
    """`python -m bot.cli run` in a child process; killed with SIGKILL and started again."""

    emu: BotApiEmulator
    db_url: str
    folder: Path
    rng: random.Random
    process: asyncio.subprocess.Process | None = None
    up_since: float | None = None  # emulator clock; None while down or starting
    kills: list[float] = field(default_factory=list)
    served: dict[int, float] = field(default_factory=dict)  # update id -> first handed out
    sent: list[Sent] = field(default_factory=list)
    probes: list[int] = field(default_factory=list)
    starts: int = 0

    def __post_init__(self) -> None:
        self.emu.add_call_listener(self._on_call)

    def _on_call(self, call: Any) -> None:
        if call.method == "getUpdates":
            for update in call.result or []:
                self.served.setdefault(int(update["update_id"]), self.emu.clock())

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
        env.update(
            BOT_TOKEN=self.emu.token,
            TELEGRAM_API_BASE_URL=self.emu.base_url,
            TELEGRAM_FILE_BASE_URL=self.emu.base_file_url,
            DATABASE_URL=self.db_url,
            DATA_DIR=str(self.folder / "data"),
            LOG_LEVEL="WARNING",
            DELIVERY_LEASE_SECONDS=str(LEASE_SECONDS),
        )
        return env

    def log(self) -> str:
        parts = []
        for n in range(self.starts):
            path = self.folder / f"bot-{n}.log"
            if path.exists():
                parts.append(f"--- run {n} ---\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    async def start(self) -> None:
        started = self.emu.clock()
        with (self.folder / f"bot-{self.starts}.log").open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", cwd=self.folder, env=self.env,
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        self.starts += 1
        # PTB deletes the webhook right before its first getUpdates: the bot is polling.
        try:
            await self.emu.wait_for_call("deleteWebhook", lambda c: c.at >= started, timeout=60)
        except AssertionError as exc:
            raise AssertionError(f"the bot did not start\n{self.log()}") from exc
        self.up_since = self.emu.clock()

    async def kill(self) -> None:
        assert self.process is not None
        self.up_since = None
        self.kills.append(self.emu.clock())
        self.process.kill()
        await self.process.wait()

    async def crash_and_restart(self) -> None:
        """SIGKILL, stay down a random while (a member writes meanwhile), start again."""
        await self.kill()
        await asyncio.sleep(self.rng.uniform(0.0, 0.5))
        await self.write_while_down()
        await self.start()
        await self.check_probes()

    async def write_while_down(self) -> None:
        self.probes.append(await self.emu.user(PROBE).send_command("help"))

    async def check_probes(self) -> None:
        """Every /help sent while the bot was down gets its answer from the restarted bot."""

        def answered() -> int:
            return sum(HELP in (m.text or "") for m in self.emu.messages_to(PROBE))

        for _ in range(100):
            if answered() >= len(self.probes):
                break
            await asyncio.sleep(0.1)
        assert answered() == len(self.probes), (
            f"seed {SEED}: {len(self.probes)} /help sent while the bot was down, "
            f"{answered()} answered\n{self.emu.transcript(PROBE)}"
        )

    async def close(self) -> None:
        print(self.summary())
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    def summary(self) -> str:
        resent = sum(s.given_up_at is not None for s in self.sent)
        return (
            f"seed {SEED}: {len(self.kills)} kills, {len(self.sent)} updates sent by members,"
            f" {resent} sent again after a kill, {len(self.probes)} sent while down"
        )

    def up_for(self) -> float:
        return 0.0 if self.up_since is None else self.emu.clock() - self.up_since

    def dropped(self) -> list[Sent]:
        """Updates lost other than in flight at a kill: left unanswered although no kill came
        between handing them out and the member giving up (or the end); or more lost per kill
        than can be inside handlers at once (the inbox replays the rest, bot/inbox.py)."""
        given_up = [s for s in self.sent if s.given_up_at is not None]
        if len(given_up) > len(self.kills) * CONCURRENT_UPDATES:
            return given_up
        out = []
        for sent in self.sent:
            if sent.answered:
                continue
            served = self.served.get(sent.update_id)
            until = sent.given_up_at if sent.given_up_at is not None else self.emu.clock()
            if served is None or not any(served <= kill <= until for kill in self.kills):
                out.append(sent)
        return out


@pytest.fixture(name="bot")
async def bot_fixture(
    emulator: BotApiEmulator, database: Database, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[BotProcess]:
    rng = random.Random(f"{SEED}:{request.node.name}")
    async with database.transaction() as session:
        probe = Member(name="探针", phone="+8613800000000")
        session.add(probe)
        await session.flush()
        await bind_telegram(session, probe.id, PROBE)
    process = BotProcess(emulator, database.url, tmp_path, rng)
    try:
        yield process
    finally:
        await process.close()


async def settle(bot: BotProcess, what: str, done: Callable[[], Awaitable[bool]]) -> None:
    """Wait (bounded) until done() holds."""
    for _ in range(600):
        if await done():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"seed {SEED}: {what} did not happen within 60 s\n{bot.log()}")


class Person:
    """A member at the phone: acts, waits for a visible answer, and tries again if none comes."""

    def __init__(self, bot: BotProcess, user: SimUser) -> None:
        self.bot = bot
        self.emu = bot.emu
        self.user = user
        self.seen = 0  # bot messages already read

    async def act(self, send: Callable[[], Awaitable[int]], answered: Callable[[Sent], Any]) -> Any:
        """send() until answered(sent) returns something; gives up on a send only once the bot
        has been up for PATIENCE seconds without answering it."""
        while True:
            sent = Sent(await send(), self.user.user_id, self.emu.clock())
            self.bot.sent.append(sent)
            while True:
                result = answered(sent)
                if result is not None:
                    sent.answered = True
                    return result
                waited = self.emu.clock() - sent.at
                if self.bot.up_for() >= PATIENCE and waited >= PATIENCE:
                    sent.given_up_at = self.emu.clock()
                    break
                await asyncio.sleep(0.05)

    def next_message(self, match: Callable[[SentMessage], Any]) -> Any:
        """The first unread bot message match() says something about (read up to it)."""
        messages = self.emu.messages_to(self.user.user_id)
        for index in range(self.seen, len(messages)):
            found = match(messages[index])
            if found is not None:
                self.seen = index + 1
                return found
        return None

    def callback_answer(self, sent: Sent) -> str | None:
        answer = self.emu.callback_answers.get(str(sent.update_id))
        return None if answer is None else str(answer.get("text") or "")
