"""Kill -9 at random points while many members act at once: a sign-up burst and a notice
survive the crash (the bot process, the killer and the members: tests/kill9_support.py).

What must hold afterwards:
* sign-up burst: never more signed up than places, one sign-up row per member, the waiting list
  in tap order, and what each member was told matches the database;
* notice: every member gets it; extra copies are bounded by the rows the killed worker had
  sent but not yet recorded (bot/delivery.py: results are written in batches of FLUSH_BATCH).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from sqlalchemy import func, insert, select

from bot import delivery
from bot.settings import Settings
from bot.tryout import SentMessage
from handlers.notices import messages as notice_messages
from storage import notices
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
    Member,
    OutboxMessage,
    Role,
    SignupStatus,
    TargetKind,
    utcnow,
)
from tests.kill9_support import (
    ROUNDS,
    SEED,
    BotProcess,
    Person,
    bind_many,
    bot_fixture,  # noqa: F401 (the fixture `bot`)
    database_fixture,  # noqa: F401 (the fixture `database`)
    settle,
)
from tests.support import bind_telegram

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
        view = await notices.queue(
            session, staff_ref, draft.id, now=utcnow(), message=notice_messages.message
        )
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
