"""Kill -9 at random points: a conversation, a sign-up burst and a notice survive the crash.

The real bot runs as `python -m bot.cli run` (long polling) in a child process, against the Bot
API emulator in this process, on a SQLite file or PostgreSQL. A killer SIGKILLs it at seeded
random moments and starts it again. Simulated members behave as people do: they answer the
question on their screen, and when no answer comes once the bot is back, they send it again.

What must hold afterwards:
* nothing sent while the bot was down is dropped: the restarted bot gets it (getUpdates offsets)
  and answers it; updates fetched but not handled when the bot was killed come back from the
  inbox (bot/inbox.py); only those inside a handler at that moment may go unanswered, at most
  CONCURRENT_UPDATES per kill, and nothing is answered twice;
* conversation: every answer the bot acknowledged is in the draft, word for word, every field
  holds the member's own text, and /start offers to continue the draft;
* sign-up burst: never more signed up than places, one sign-up row per member, the waiting list
  in tap order, and what each member was told matches the database;
* notice: every member gets it; extra copies are bounded by the rows the killed worker had
  sent but not yet recorded (bot/delivery.py: results are written in batches of FLUSH_BATCH).

KILL9_ROUNDS (default 2) and KILL9_SEED set how many kills per scenario and the random seed;
the seed is in every failure message, so a failing run can be repeated.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.channels import TELEGRAM
from bot.settings import Settings
from bot.tryout import BotApiEmulator, SentMessage, SimUser
from handlers.notices import ack_data
from storage import notices, reports
from storage.db import Database
from storage.members import MemberRef
from storage.models import (
    AckMode,
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    AudienceKind,
    DeliveryStatus,
    Identity,
    Member,
    OutboxMessage,
    Role,
    SignupStatus,
    TargetKind,
    utcnow,
)
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


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
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


@pytest.fixture
async def bot(
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


# -- a. a conversation ----------------------------------------------------------------------

SUBMIT = "📝 提交社情民意"
CONTINUE = "▶️ 继续填写"
MARKERS = (
    ("第 1/5 步", "title"),
    ("第 2/5 步", "category"),
    ("第 3/5 步", "situation"),
    ("第 4/5 步", "problem"),
    ("第 5/5 步", "suggestions"),
    ("可以发送照片或文件作为附件", "attachments"),
    ("未完成的社情民意草稿", "offer"),
    ("请核对您的社情民意信息", "preview"),
)


def _screen(message: SentMessage) -> tuple[str, SentMessage] | None:
    text = message.text or ""
    for marker, step in MARKERS:
        if marker in text:
            return step, message
    return None


class Writer(Person):
    """A member writing an opinion report in the guided dialog."""

    def __init__(self, bot: BotProcess, user: SimUser, n: int) -> None:
        super().__init__(bot, user)
        self.answers = {
            "title": f"关于老旧小区加装电梯的建议（{n}号）",
            "situation": f"全市老旧小区约三百个，{n}号委员调研了十二个。\n第二行：居民意见分歧。",
            "problem": f"协调难、资金难、维护难 — <{n}> & “引号” 😀",
            "suggestions": f"一、建立协商机制；二、财政补贴；三、物业托管。（{n}）",
        }
        self.acked: dict[str, str] = {}  # step -> the answer the bot went on from

    async def _do(self, send: Callable[[], Awaitable[int]], tap: bool = False) -> Any:
        def answered(sent: Sent) -> Any:
            screen = self.next_message(_screen)
            if screen is not None:
                return screen
            if tap and self.callback_answer(sent):
                return ("stale", None)  # a refusal popup and no new question
            return None

        return await self.act(send, answered)

    def _answer(self, step: str, message: SentMessage) -> tuple[str, Callable[[], Awaitable[int]]]:
        """What the member does for the question on the screen."""
        user = self.user
        if step == "category":
            data = message.callback_for(message.buttons()[0])
            return data, lambda: user.send_callback(message.message_id, data)
        text = self.answers[step]
        return text, lambda: user.send_text(text)

    async def write(self, step_done: asyncio.Event) -> None:
        """Answer whatever the screen asks until the attachments question (the text is done)."""
        screen = await self._do(lambda: self.user.send_text(SUBMIT))
        while screen[0] not in ("attachments", "preview"):
            step, message = screen
            if step == "stale":  # as the popup says: open the menu again
                screen = await self._do(lambda: self.user.send_text(SUBMIT))
            elif step == "offer":
                screen = await self._do(partial(self.user.tap, message, CONTINUE), tap=True)
            else:
                answer, send = self._answer(step, message)
                screen = await self._do(send, tap=step == "category")
                if screen[0] not in (step, "stale"):
                    self.acked[step] = answer  # the bot went on to the next question
                    step_done.set()

    async def come_back(self) -> None:
        """/start offers the draft; continuing shows it whole."""
        screen = await self._do(lambda: self.user.send_command("start"))
        while screen[0] != "preview":
            if screen[0] == "offer":
                screen = await self._do(partial(self.user.tap, screen[1], CONTINUE), tap=True)
            else:
                screen = await self._do(lambda: self.user.send_command("start"))


async def _killer(bot: BotProcess, kills: int, trigger: asyncio.Event) -> None:
    """Kill right after a member's step was acknowledged (plus a random few milliseconds)."""
    for _ in range(kills):
        trigger.clear()
        await trigger.wait()
        await asyncio.sleep(bot.rng.uniform(0.0, 0.08))
        await bot.crash_and_restart()


async def test_conversation_keeps_every_acknowledged_answer(
    bot: BotProcess, database: Database
) -> None:
    await bot.start()
    writers = []
    async with database.transaction() as session:
        for n in range(4):
            user_id = 8_100_000 + n
            member = Member(name=f"委员{n}", phone=f"+86139000000{n:02d}")
            session.add(member)
            await session.flush()
            await bind_telegram(session, member.id, user_id)
            writers.append((member.id, Writer(bot, bot.emu.user(user_id, f"委员{n}"), n)))

    trigger = asyncio.Event()
    killer = asyncio.create_task(_killer(bot, ROUNDS, trigger))
    await asyncio.gather(*(w.write(trigger) for _, w in writers))
    # Keep the members busy (coming back to their drafts) until every kill happened.
    while not killer.done():
        await asyncio.gather(*(w.come_back() for _, w in writers))
        trigger.set()
    await killer
    await asyncio.gather(*(w.come_back() for _, w in writers))

    first_category = Settings.model_fields["report_categories"].get_default(
        call_default_factory=True
    )[0]
    async with database.transaction() as session:  # open_draft locks the row
        for member_id, writer in writers:
            view = await reports.open_draft(session, member_id)
            transcript = bot.emu.transcript(writer.user.user_id)
            assert view is not None, f"seed {SEED}: member {member_id}'s draft is gone"
            assert not view.missing, f"seed {SEED}: draft incomplete: {view.missing}"
            assert view.category == first_category
            for step, answer in writer.acked.items():
                if step != "category":
                    assert view.value(step) == answer, (
                        f"seed {SEED}: member {member_id}'s acknowledged {step} is not in the"
                        f" draft: {view.value(step)!r} != {answer!r}\n{transcript}"
                    )
            # Nothing foreign or mangled: every field holds one of the member's own answers
            # (a crash between moving to the next question and sending it can make a member's
            # repeated answer land in the next field, as the preview then shows).
            for step in writer.answers:
                assert view.value(step) in writer.answers.values(), (
                    f"seed {SEED}: member {member_id}'s {step}: {view.value(step)!r}\n{transcript}"
                )
    assert not bot.dropped(), f"seed {SEED}: dropped without a crash: {bot.dropped()}"
    await bot.check_probes()
    assert len(bot.kills) == ROUNDS


# -- b. a backlog fetched, then a kill --------------------------------------------------------


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_backlog_fetched_before_a_kill_is_not_lost(
    bot: BotProcess, database: Database
) -> None:
    """PTB confirms a batch to Telegram as soon as it has queued it: without the inbox a kill
    would lose everything fetched and not yet handled. (SQLite only, to keep CI short: the
    inbox's PostgreSQL statements run in every other scenario.)"""
    members = 250
    first = 8_400_000
    now = utcnow()
    async with database.transaction() as session:
        await session.execute(
            insert(Member),
            [
                {
                    "name": f"委员{n}", "phone": f"+86135{n:08d}", "role": Role.member,
                    "reachable": True, "active": True, "created_at": now, "updated_at": now,
                }
                for n in range(members)
            ],
        )  # fmt: skip
        await bind_many(session, {f"+86135{n:08d}": first + n for n in range(members)})
    for n in range(members):  # while the bot is down
        await bot.emu.user(first + n).send_command("help")

    def answered() -> Counter[int]:
        return Counter(
            n
            for n in range(members)
            for m in bot.emu.messages_to(first + n)
            if HELP in (m.text or "")
        )

    await bot.start()
    await settle(bot, "the first answers", partial(_at_least, answered, 1 + bot.rng.randrange(40)))
    await bot.kill()  # most of the backlog is fetched (and confirmed) by now, little handled
    fetched = len(bot.served)
    await bot.start()
    await settle(bot, "the drain", partial(_at_least, answered, members - CONCURRENT_UPDATES))
    await asyncio.sleep(0.5)  # anything answered twice would show by now
    copies = answered()
    print(f"backlog: {fetched} fetched before the kill, {members - len(copies)} lost")
    assert max(copies.values()) == 1, f"seed {SEED}: answered twice"
    assert len(copies) >= members - CONCURRENT_UPDATES, f"seed {SEED}: {len(copies)} answered"


async def _at_least(count: Callable[[], Counter[int]], n: int) -> bool:
    return len(count()) >= n


# -- c. a sign-up burst ---------------------------------------------------------------------

SIGNUP = "✅ 报名"
SIGNED_UP = ("报名成功", "无需重复报名")
WAITING = re.compile(r"排第 (\d+) 位")


async def test_signup_burst_never_overbooks(bot: BotProcess, database: Database) -> None:
    await bot.start()
    members, capacity = 30, 10
    ids: dict[int, int] = {}
    async with database.transaction() as session:
        starts = utcnow() + timedelta(days=7)
        activity = Activity(
            type=ActivityType.visit, status=ActivityStatus.published, title="走进政协开放日",
            starts_at=starts, ends_at=starts + timedelta(hours=2), place="政协大楼",
            capacity=capacity, published_at=utcnow(),
        )  # fmt: skip
        session.add(activity)
        await session.flush()
        activity_id = activity.id
        session.add(ActivityTarget(activity_id=activity_id, kind=TargetKind.everyone))
        for n in range(members):
            user_id = 8_200_000 + n
            member = Member(name=f"委员{n}", phone=f"+86137000000{n:02d}")
            session.add(member)
            await session.flush()
            await bind_telegram(session, member.id, user_id)
            ids[user_id] = member.id

    # Everyone opens the activity card (before any kill).
    people = [Person(bot, bot.emu.user(user_id)) for user_id in ids]
    cards: dict[int, SentMessage] = {}
    for person in people:
        await person.user.send_command("start", f"act_{activity_id}")
    for person in people:
        cards[person.user.user_id] = await bot.emu.wait_for(
            person.user.user_id, lambda m: SIGNUP in m.buttons(), timeout=30
        )

    told: dict[int, str] = {}

    async def tap(person: Person) -> None:
        card = cards[person.user.user_id]
        data = card.callback_for(SIGNUP)
        told[person.user.user_id] = await person.act(
            lambda: person.user.send_callback(card.message_id, data), person.callback_answer
        )

    async def killer() -> None:
        for _ in range(ROUNDS):
            await asyncio.sleep(bot.rng.uniform(0.0, 0.6))
            await bot.crash_and_restart()

    kill = asyncio.create_task(killer())
    await asyncio.gather(*(tap(p) for p in people))
    await kill

    async with database.snapshot() as session:
        rows = (
            await session.execute(
                select(ActivitySignup.member_id, ActivitySignup.status, ActivitySignup.position)
                .where(ActivitySignup.activity_id == activity_id)
                .order_by(ActivitySignup.position)
            )
        ).all()
    per_member = Counter(member_id for member_id, _, _ in rows)
    assert max(per_member.values()) == 1, f"seed {SEED}: two sign-up rows for one member"
    signed = [r for r in rows if r.status is SignupStatus.signed_up]
    waiting = [r for r in rows if r.status is SignupStatus.waiting]
    assert len(signed) <= capacity, f"seed {SEED}: overbooked: {len(signed)} > {capacity}"
    assert len(signed) == capacity and len(waiting) == members - capacity, (
        f"seed {SEED}: {len(signed)} signed up, {len(waiting)} waiting, {len(rows)} rows"
    )
    # Places went in tap order: everyone signed up tapped before everyone waiting.
    assert max(r.position for r in signed) < min(r.position for r in waiting)
    assert len({r.position for r in rows}) == len(rows)
    rank = {r.member_id: n for n, r in enumerate(waiting, start=1)}
    for user_id, text in told.items():
        member_id = ids[user_id]
        if any(s in text for s in SIGNED_UP):
            assert member_id in {r.member_id for r in signed}, f"seed {SEED}: {text!r}"
        else:
            found = WAITING.search(text)
            assert found is not None, f"seed {SEED}: unexpected answer {text!r}"
            assert rank.get(member_id) == int(found.group(1)), (
                f"seed {SEED}: member told {text!r}, but is #{rank.get(member_id)} waiting"
            )
    assert not bot.dropped(), f"seed {SEED}: dropped without a crash: {bot.dropped()}"
    await bot.check_probes()


# -- d. a notice ----------------------------------------------------------------------------

BODY = "关于召开年度全体委员会议的通知：请于12月1日上午9点准时参加。"


async def _in_flight(database: Database, counted: set[str | None]) -> int:
    """Rows a worker killed just now left in `sending` (earlier dead workers' rows not again)."""
    async with database.snapshot() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.claimed_by, func.count())
                .where(OutboxMessage.status == DeliveryStatus.sending)
                .group_by(OutboxMessage.claimed_by)
            )
        ).all()
    fresh = [(worker, int(n)) for worker, n in rows if worker not in counted]
    counted.update(worker for worker, _ in fresh)
    return sum(n for _, n in fresh)


async def test_notice_reaches_everyone_after_kills(bot: BotProcess, database: Database) -> None:
    await bot.start()
    members = 30 * ROUNDS + 20  # about a second of sending per kill at the 30/s cap
    first = 8_300_000
    async with database.transaction() as session:
        staff = Member(name="王干部", phone="+8615000150000", role=Role.staff)
        session.add(staff)
        await session.flush()
        staff_ref = MemberRef.of(staff)
        now = utcnow()
        rows = [
            {
                "name": f"委员{n}", "phone": f"+86136{n:08d}", "role": Role.member,
                "reachable": True, "active": True, "created_at": now, "updated_at": now,
            }
            for n in range(members)
        ]  # fmt: skip
        await session.execute(insert(Member), rows)
        await bind_many(session, {f"+86136{n:08d}": first + n for n in range(members)})
    delivered: list[float] = []
    bot.emu.add_listener(
        lambda event, m: (
            delivered.append(bot.emu.clock())
            if event == "sent" and BODY in (m.text or "")
            else None
        )
    )
    async with database.transaction() as session:
        draft = await notices.open_draft(session, staff_ref)
        assert not isinstance(draft, notices.Problem)
        await notices.set_body(session, staff_ref, draft.id, html=BODY, visible_length=len(BODY))
        await notices.set_audience(session, staff_ref, draft.id, AudienceKind.everyone)
        await notices.set_ack(session, staff_ref, draft.id, AckMode.received)
        view = await notices.queue(session, staff_ref, draft.id, now=utcnow(), ack_data=ack_data)
        assert not isinstance(view, notices.Problem)

    async def left() -> int:
        async with database.snapshot() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != DeliveryStatus.sent)
            )
        return int(count or 0)

    bound = 0  # rows the killed workers held in `sending`: the most that can be sent twice
    counted: set[str | None] = set()
    for _ in range(ROUNDS):
        before = len(delivered)
        await settle(bot, "delivery", partial(_more, delivered, before))
        await asyncio.sleep(bot.rng.uniform(0.0, 0.8))
        if not await left():
            break
        await bot.kill()
        held = await _in_flight(database, counted)
        assert held <= Settings.model_fields["delivery_batch_size"].default, held
        bound += held
        await asyncio.sleep(bot.rng.uniform(0.0, 0.5))
        await bot.write_while_down()
        await bot.start()
        await bot.check_probes()
    assert bot.kills, f"seed {SEED}: the notice was sent before any kill"

    await settle(bot, "the whole notice delivered", partial(_none, left))
    copies = Counter(
        sum(BODY in (m.text or "") for m in bot.emu.messages_to(first + n)) for n in range(members)
    )
    lost = copies.get(0, 0)
    duplicates = sum(n * (c - 1) for c, n in copies.items() if c > 1)
    print(f"notice: {len(bot.kills)} kills, {bound} rows in flight, {duplicates} duplicates")
    assert lost == 0, f"seed {SEED}: {lost} members never got the notice"
    assert duplicates <= bound, f"seed {SEED}: {duplicates} duplicates > {bound} in flight"
    # bot/delivery.py records results at least every FLUSH_BATCH sends: no more than that can
    # be sent and not yet recorded when the process dies.
    assert duplicates <= len(bot.kills) * delivery.FLUSH_BATCH, duplicates
    await bot.check_probes()


async def _more(delivered: list[float], before: int) -> bool:
    return len(delivered) > before


async def _none(count: Callable[[], Awaitable[int]]) -> bool:
    return await count() == 0
