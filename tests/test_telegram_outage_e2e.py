"""Telegram unreachable for minutes, and ambiguous failures of single calls, through the emulator.

Outages run on the FakeClock: the delivery worker schedules its probes on the runtime's clock,
so a 10-minute outage is a few seconds of the test moving that clock. Direct replies retry on
real time (seconds), as a member waits in real time.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.channels import telegram_account
from bot.runner import build_web_app
from bot.tryout import BotApiEmulator, Fault, SimUser
from handlers.notices import messages as notice_messages
from storage import members as roster_members
from storage import notices
from storage.members import MemberRef
from storage.models import (
    AuditLog,
    DeliveryStatus,
    Member,
    OutboxMessage,
    Report,
    Role,
)
from storage.models.notices import AckMode, AudienceKind
from tests.support import FakeClock, Harness, bind_telegram, fresh_database, make_settings
from tests.test_delivery_e2e import eventually

STAFF = 2001
FIRST = 5000
BODY = "台风期间的紧急通知"


@asynccontextmanager
async def harness(
    emulator: BotApiEmulator, tmp_path: Path, **overrides: Any
) -> AsyncIterator[Harness]:
    """The bot on SQLite with settings of the test's own (the `bot` fixture's are fixed)."""
    async with fresh_database("sqlite", tmp_path) as db:
        settings = make_settings(emulator, db.url, tmp_path, **overrides)
        bot = Harness(emulator, db, settings, FakeClock())
        await bot.start()
        try:
            yield bot
        finally:
            await bot.stop()


async def roster(bot: Harness, members: int) -> MemberRef:
    """A staff member and `members` bound members (chats FIRST, FIRST + 1, ...)."""
    await bot.add_member("王干部", "+8615000150000", role=Role.staff, telegram_user_id=STAFF)
    async with bot.db.transaction() as session:
        for i in range(members):
            member = Member(name=f"委员{i}", phone=f"+86139{i:08d}")
            session.add(member)
            await session.flush()
            await bind_telegram(session, member.id, FIRST + i)
        staff = await roster_members.by_account(session, telegram_account(STAFF))
        assert staff is not None
        return staff


async def queue_notice(bot: Harness, staff: MemberRef, *, ack: AckMode = AckMode.none) -> int:
    """A notice to everyone (the members and the staff member), queued as 🚀 立即发送 does."""
    async with bot.db.transaction(bulk=True) as session:
        draft = await notices.open_draft(session, staff)
        assert not isinstance(draft, notices.Problem)
        await notices.set_body(session, staff, draft.id, html=BODY, visible_length=len(BODY))
        await notices.set_audience(session, staff, draft.id, AudienceKind.everyone)
        await notices.set_ack(session, staff, draft.id, ack)
        view = await notices.queue(
            session, staff, draft.id, now=bot.clock.now, message=notice_messages.message
        )
        assert not isinstance(view, notices.Problem)
    assert bot.app is not None
    bot.app.bot_data.outbox_signal()
    return view.id


async def drive(bot: Harness, seconds: float, *, step: float = 5.0) -> None:
    """Move the bot's clock `seconds` forward in steps, letting the worker look at each."""
    moved = 0.0
    while moved < seconds:
        bot.clock.advance(seconds=step)
        moved += step
        await asyncio.sleep(0.35)  # the worker ticks every 0.3 s


async def statuses(bot: Harness, notice_id: int) -> Counter[DeliveryStatus]:
    async with bot.db.transaction() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.source_type == "notice", OutboxMessage.source_id == notice_id)
            .group_by(OutboxMessage.status)
        )
        return Counter({status: n for status, n in rows})


async def drive_until_sent(bot: Harness, notice_id: int, total: int) -> None:
    """After an outage: the next probe is at most 5 minutes away on the bot's clock. The clock
    moves only until sending resumes: racing it past held rows' leases would hand them out
    twice, which real time never does."""
    for _ in range(80):
        if (await statuses(bot, notice_id))[DeliveryStatus.sent]:
            break
        bot.clock.advance(seconds=10)
        await asyncio.sleep(0.35)

    async def all_sent() -> bool:
        return (await statuses(bot, notice_id))[DeliveryStatus.sent] == total

    await eventually(all_sent, timeout=30)


def copies(bot: Harness, chat_id: int, text: str) -> int:
    return sum(1 for m in bot.emu.messages_to(chat_id) if text in (m.text or ""))


def calls(bot: Harness, method: str, *, members_only: bool = False) -> int:
    return sum(
        1
        for c in bot.emu.calls
        if c.method == method and (not members_only or (c.chat_id or 0) >= FIRST)
    )


@pytest.mark.parametrize(
    ("seconds", "fault"),
    [(100, Fault.server_error), (600, Fault.drop)],
    ids=["100s-bad-gateway", "10min-dropped-connections"],
)
async def test_a_notice_queued_during_an_outage_reaches_everyone_once(
    bot: Harness, seconds: int, fault: Fault
) -> None:
    staff = await roster(bot, 125)
    probes_before = calls(bot, "getMe")
    bot.emu.outage(fault)  # every Bot API call, getUpdates included
    notice_id = await queue_notice(bot, staff)
    await drive(bot, seconds, step=5 if seconds <= 100 else 20)

    # While Telegram was down: a handful of sends and a getMe now and then, not 125 rows'
    # attempts; nothing was given up.
    during = await statuses(bot, notice_id)
    assert during[DeliveryStatus.failed] == 0 and during[DeliveryStatus.sent] == 0
    assert calls(bot, "sendMessage", members_only=True) <= 10
    # Probes back off: at 0, 5, 15, 35, 75, 155, 315 s ... at most 5 minutes apart.
    assert 1 <= calls(bot, "getMe") - probes_before <= 9

    bot.emu.end_outage()
    await drive_until_sent(bot, notice_id, 126)
    assert [copies(bot, FIRST + i, BODY) for i in range(125)] == [1] * 125


@pytest.mark.parametrize(
    "methods", [None, ["sendMessage"]], ids=["all-calls", "sends-only-getMe-answers"]
)
async def test_past_the_horizon_rows_fail_with_the_reason_and_staff_resend_them(
    emulator: BotApiEmulator, tmp_path: Path, methods: list[str] | None
) -> None:
    async with harness(emulator, tmp_path, delivery_outage_horizon_hours=0.05) as bot:  # 3 min
        staff = await roster(bot, 10)
        bot.emu.outage(Fault.server_error, methods=methods)
        notice_id = await queue_notice(bot, staff)
        await drive(bot, 600, step=20)
        async with bot.db.transaction() as session:
            errors = list(
                await session.scalars(
                    select(OutboxMessage.last_error).where(
                        OutboxMessage.source_type == "notice",
                        OutboxMessage.status == DeliveryStatus.failed,
                    )
                )
            )
        assert len(errors) == 11
        assert all("Telegram unreachable since" in (e or "") for e in errors)

        bot.emu.end_outage()
        user = bot.emu.user(STAFF)
        await user.send_text("📋 通知记录")
        listing = await bot.emu.wait_for(STAFF, "最近的通知", timeout=30)
        await user.tap(listing, listing.buttons()[0])
        card = await bot.emu.wait_for(STAFF, "失败 11")
        assert "🔁 重发失败（11）" in card.buttons()
        await user.tap(card, "🔁 重发失败（11）")
        await bot.emu.wait_for(STAFF, "11 条发送失败的消息已重新排队")
        await drive_until_sent(bot, notice_id, 11)
        assert [copies(bot, FIRST + i, BODY) for i in range(10)] == [1] * 10
        async with bot.db.transaction() as session:
            audit = await session.scalar(
                select(AuditLog).where(AuditLog.action == "notice.resend_failed")
            )
        assert audit is not None and audit.details.get("recipients") == 11


async def healthz(port: int) -> tuple[int, str, float]:
    started = time.monotonic()
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        http.get(f"http://127.0.0.1:{port}/healthz") as answer,
    ):
        body = await answer.json()
    return answer.status, str(body["status"]), time.monotonic() - started


@asynccontextmanager
async def health_server(bot: Harness) -> AsyncIterator[int]:
    assert bot.app is not None
    runner = web.AppRunner(build_web_app(bot.app, "secret"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def write_lock(path: str) -> sqlite3.Connection:
    """Another process's connection holding SQLite's write lock (BEGIN IMMEDIATE). Taken on a
    thread: it may wait for a write of the bot's, which needs this event loop to finish."""
    other = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
    return other


async def test_staff_and_healthz_are_told_while_telegram_is_unreachable(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    async with (
        harness(emulator, tmp_path, notice_progress_seconds=0.3) as bot,
        health_server(bot) as port,
    ):
        await roster(bot, 125)
        user = bot.emu.user(STAFF)
        await user.send_text("📢 发通知")
        await bot.emu.wait_for(STAFF, "请发送通知内容")
        await user.send_text(BODY)
        await user.tap(await bot.emu.wait_for(STAFF, "请选择接收对象"), "全体委员")
        await user.tap(await bot.emu.wait_for(STAFF, "是否需要委员回执"), "不需要回执")
        await user.tap(await bot.emu.wait_for(STAFF, "接收人数"), "🚀 立即发送")
        progress = await bot.emu.wait_for(STAFF, "发送中")
        # Sending breaks down (new messages and getMe); edits to existing ones still pass, so
        # the sender can be told.
        bot.emu.outage(Fault.drop, methods=["sendMessage", "getMe"])
        await drive(bot, 30)

        told = await bot.emu.wait_for(
            STAFF,
            lambda m: m.message_id == progress.message_id and "无法连接" in (m.text or ""),
            after=0,
        )
        assert "Telegram 自" in (told.text or "")
        status, text, _ = await healthz(port)
        assert status == 200 and text.startswith("degraded: Telegram unreachable since 2026-")

        # Another process holds SQLite's write lock: /healthz still reads, within a second.
        path = make_url(bot.db.url).database
        assert path is not None
        other = await write_lock(path)
        try:
            status, text, took = await healthz(port)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert status == 200 and text.startswith("degraded") and took < 1.0

        bot.emu.end_outage()
        async with bot.db.transaction() as session:
            notice_id = await session.scalar(select(func.max(OutboxMessage.source_id)))
        assert notice_id is not None
        await drive_until_sent(bot, notice_id, 126)

        async def finished() -> bool:
            shown = bot.emu.message(STAFF, progress.message_id)
            return shown is not None and "发送完成" in (shown.text or "")

        await eventually(finished, timeout=15)
        done = bot.emu.message(STAFF, progress.message_id)
        assert done is not None and done.text is not None
        assert "发送完成" in done.text and "无法连接" not in done.text
        assert [copies(bot, FIRST + i, BODY) for i in range(125)] == [1] * 125
        assert (await healthz(port))[:2] == (200, "ok")


AMBIGUOUS = [Fault.server_error_after, Fault.drop_after, Fault.slow]


async def _in_guided_report(bot: Harness, count: int) -> tuple[list[int], list[SimUser]]:
    """`count` bound members, each at the first question of the guided report."""
    members = [FIRST + i for i in range(count)]
    for uid in members:
        await bot.add_member(f"委员{uid}", f"+86139{uid:08d}", telegram_user_id=uid)
    users = [bot.emu.user(uid) for uid in members]
    await asyncio.gather(*(u.send_text("📝 提交社情民意") for u in users))
    for uid in members:
        await bot.emu.wait_for(uid, "第 1/5 步", timeout=15)
    return members, users


async def test_ambiguous_failures_in_member_dialogs_lose_nothing_and_never_apologise(
    bot: Harness,
) -> None:
    """30 members in the guided report; each one's answer to the title question meets one
    ambiguous failure (the reply was delivered, the bot cannot know): a 502, a dropped
    connection, an answer later than the read timeout."""
    members, users = await _in_guided_report(bot, 30)
    for index, uid in enumerate(members):
        bot.emu.inject_fault(
            AMBIGUOUS[index % 3], methods=["sendMessage"], chat_id=uid, times=1, delay=6.0
        )
    await asyncio.gather(*(u.send_text(f"标题{u.user_id}") for u in users))
    for uid in members:
        await bot.emu.wait_for(uid, "第 2/5 步", timeout=20)
    await asyncio.sleep(7)  # anything late (a retry after a 5 s timeout, an apology) is here

    duplicates = 0
    for uid in members:
        texts = [m.text or "" for m in bot.emu.messages_to(uid)]
        assert not any("出了点问题" in t for t in texts), bot.emu.transcript(uid)
        extra = sum(1 for t in texts if "第 2/5 步" in t) - 1
        # At most one duplicate per ambiguous failure (each member met exactly one).
        assert 0 <= extra <= bot.emu.stats.ambiguous_by_chat[uid] == 1, bot.emu.transcript(uid)
        duplicates += extra
    assert sum(bot.emu.stats.faults[f] for f in AMBIGUOUS) == 30
    async with bot.db.transaction() as session:
        titles = Counter(await session.scalars(select(Report.title)))
    assert titles == Counter(f"标题{uid}" for uid in members)  # each answer stored once
    print(f"duplicates after 30 ambiguous failures: {duplicates}")


async def test_members_writing_during_a_ten_minute_outage_are_answered_after_it(
    bot: Harness,
) -> None:
    """Telegram drops every connection for 10 minutes (bot clock) while 10 members are in the
    guided report, and slow answers (the reply arrives, its confirmation does not) mark the
    way back: every answer is stored once and answered, nobody gets a false apology."""
    members, users = await _in_guided_report(bot, 10)

    bot.emu.outage(Fault.drop)
    await asyncio.gather(*(u.send_text(f"标题{u.user_id}") for u in users))
    await drive(bot, 600, step=60)
    # Back, but each member's first answer comes late (the bot's read timeout is 5 s).
    for uid in members:
        bot.emu.inject_fault(Fault.slow, methods=["sendMessage"], chat_id=uid, delay=6.0)
    bot.emu.end_outage()
    for uid in members:
        await bot.emu.wait_for(uid, "第 2/5 步", timeout=40)
    await asyncio.sleep(7)
    for uid in members:
        texts = [m.text or "" for m in bot.emu.messages_to(uid)]
        assert not any("出了点问题" in t for t in texts), bot.emu.transcript(uid)
        extra = sum(1 for t in texts if "第 2/5 步" in t) - 1
        assert 0 <= extra <= bot.emu.stats.ambiguous_by_chat[uid]
    async with bot.db.transaction() as session:
        titles = Counter(await session.scalars(select(Report.title)))
    assert titles == Counter(f"标题{uid}" for uid in members)


async def test_healthz_answers_within_a_second_while_another_process_writes(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """A roster import from the command line holds SQLite's write lock: the health check
    reads past it (WAL) instead of queueing for the lock until its busy timeout."""
    async with harness(emulator, tmp_path) as bot, health_server(bot) as port:
        path = make_url(bot.db.url).database
        assert path is not None
        other = await write_lock(path)
        try:
            other.execute("UPDATE member SET name = name")
            status, text, took = await healthz(port)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert (status, text) == (200, "ok") and took < 1.0


async def test_replies_cut_off_by_a_100_second_outage_arrive_after_it(bot: Harness) -> None:
    """10 members answer the title question just as sends start failing (502) for 100 s: each
    handler tries four times in 6 s, then its reply waits in the outbox and arrives, with its
    buttons, once Telegram takes messages again; once each, no apology."""
    members, users = await _in_guided_report(bot, 10)

    bot.emu.outage(Fault.server_error, methods=["sendMessage"])
    await asyncio.gather(*(u.send_text(f"标题{u.user_id}") for u in users))

    async def kept() -> bool:
        async with bot.db.transaction() as session:
            n = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "reply")
            )
        return n == len(members)

    await eventually(kept, timeout=30)
    await drive(bot, 100)
    assert not any(copies(bot, uid, "第 2/5 步") for uid in members)
    bot.emu.end_outage()
    for _ in range(40):
        if all(copies(bot, uid, "第 2/5 步") for uid in members):
            break
        bot.clock.advance(seconds=10)
        await asyncio.sleep(0.35)
    await asyncio.sleep(1)
    for uid in members:
        texts = [m.text or "" for m in bot.emu.messages_to(uid)]
        assert not any("出了点问题" in t for t in texts), bot.emu.transcript(uid)
        assert copies(bot, uid, "第 2/5 步") == 1, bot.emu.transcript(uid)
        reply = next(m for m in bot.emu.messages_to(uid) if "第 2/5 步" in (m.text or ""))
        assert "民生保障" in reply.buttons()
    async with bot.db.transaction() as session:
        titles = Counter(await session.scalars(select(Report.title)))
    assert titles == Counter(f"标题{uid}" for uid in members)
