"""The delivery worker end to end: outbox rows reach members through the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.channels import telegram_address
from storage import outbox
from storage.models import DeliveryStatus, Member, OutboxMessage, Priority
from storage.outbox import button
from tests.support import Harness


async def enqueue(bot: Harness, **fields: Any) -> int:
    """Put one message in the outbox as a feature would, and wake the worker."""
    fields.setdefault("kind", "test")
    async with bot.db.transaction() as session:
        row = await outbox.enqueue(session, **fields)
        assert row is not None
        row_id = row.id
    assert bot.app is not None
    bot.app.bot_data.outbox_signal()
    return row_id


async def outbox_row(bot: Harness, row_id: int) -> OutboxMessage:
    async with bot.db.transaction() as session:
        row = await session.get(OutboxMessage, row_id)
        assert row is not None
        return row


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 5.0) -> Any:  # noqa: ASYNC109
    """Poll check until it returns something truthy (the worker records results in batches)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(0.05)


async def wait_status(bot: Harness, row_id: int, status: DeliveryStatus) -> OutboxMessage:
    async def check() -> OutboxMessage | None:
        row = await outbox_row(bot, row_id)
        return row if row.status is status else None

    row: OutboxMessage = await eventually(check)
    return row


async def test_template_is_rendered_in_the_members_language_with_buttons(bot: Harness) -> None:
    member_id = await bot.add_member("Lin", "+8613800138000", telegram_user_id=1001, locale="en")
    row_id = await enqueue(
        bot,
        to=telegram_address(1001),
        member_id=member_id,
        template="common.text_too_long",
        params={"length": 5000, "limit": 4000},
        buttons=[[button("common.yes", "t:yes"), button("common.no", "t:no")]],
    )
    message = await bot.emu.wait_for(1001, "5000 characters")
    assert message.buttons() == ["Yes", "No"]
    assert message.callback_for("Yes") == "t:yes"
    row = await wait_status(bot, row_id, DeliveryStatus.sent)
    assert row.sent_message_id == str(message.message_id)
    assert row.attempts == 1


async def test_default_language_and_raw_html_text(bot: Harness) -> None:
    member_id = await bot.add_member("陈静", "+8613900139000", telegram_user_id=1002)
    await enqueue(bot, to=telegram_address(1002), member_id=member_id, template="common.yes")
    await enqueue(bot, to=telegram_address(1002), text="<b>通知</b>：明天开会")
    await bot.emu.wait_for(1002, lambda m: m.text == "是")
    notice = await bot.emu.wait_for(1002, "明天开会")
    assert notice.entities and notice.entities[0]["type"] == "bold"


async def test_scheduled_message_waits_for_its_time(bot: Harness) -> None:
    member_id = await bot.add_member("陈静", "+8613900139000", telegram_user_id=1003)
    later = bot.clock.now + timedelta(hours=2)
    row_id = await enqueue(
        bot, to=telegram_address(1003), member_id=member_id, text="later", not_before=later
    )
    now_id = await enqueue(bot, to=telegram_address(1003), member_id=member_id, text="right away")
    await bot.emu.wait_for(1003, "right away")
    await wait_status(bot, now_id, DeliveryStatus.sent)
    assert (await outbox_row(bot, row_id)).status is DeliveryStatus.pending
    assert not any(m.text == "later" for m in bot.emu.messages_to(1003))

    bot.clock.advance(hours=2)
    await bot.emu.wait_for(1003, "later")
    await wait_status(bot, row_id, DeliveryStatus.sent)


async def test_blocked_member_is_marked_unreachable(bot: Harness) -> None:
    member_id = await bot.add_member("陈静", "+8613900139000", telegram_user_id=1004)
    bot.emu.user(1004)
    bot.emu.block(1004)
    row_id = await enqueue(bot, to=telegram_address(1004), member_id=member_id, text="hello")
    row = await wait_status(bot, row_id, DeliveryStatus.unreachable)
    assert row.last_error is not None and "blocked" in row.last_error
    async with bot.db.transaction() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        assert member.reachable is False

    # Unblocked later: the next message gets through and the member is reachable again.
    bot.emu.unblock(1004)
    again = await enqueue(bot, to=telegram_address(1004), member_id=member_id, text="hello again")
    await bot.emu.wait_for(1004, "hello again")
    await wait_status(bot, again, DeliveryStatus.sent)
    async with bot.db.transaction() as session:
        member = await session.get(Member, member_id)
        assert member is not None and member.reachable is True


async def test_429_pauses_and_the_same_message_is_retried(bot: Harness) -> None:
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1005)
    bot.emu.fail_next(
        "sendMessage",
        chat_id=1005,
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
    )
    row_id = await enqueue(bot, to=telegram_address(1005), text="after the pause")
    await bot.emu.wait_for(1005, "after the pause")
    row = await wait_status(bot, row_id, DeliveryStatus.sent)
    assert row.attempts == 1  # a 429 is Telegram asking to wait, not a failed attempt
    assert len([m for m in bot.emu.messages_to(1005) if m.text == "after the pause"]) == 1
    tries = [c for c in bot.emu.calls if c.method == "sendMessage" and c.chat_id == 1005]
    assert [c.error_code for c in tries] == [429, None]
    assert tries[1].at - tries[0].at >= 1.0


async def test_other_errors_retry_with_backoff(bot: Harness) -> None:
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1006)
    bot.emu.fail_next(
        "sendMessage", chat_id=1006, error_code=500, description="Internal Server Error", times=2
    )
    row_id = await enqueue(bot, to=telegram_address(1006), text="eventually")
    await bot.emu.wait_for_call("sendMessage", lambda c: c.chat_id == 1006)
    row = await eventually(lambda: _pending_with_error(bot, row_id, 1))
    assert "Internal Server Error" in (row.last_error or "")
    # Its due time stays (the outage horizon counts from it); the chat waits, 5 s, then 10 s
    # on the worker's clock, which has not moved yet.
    assert row.not_before is None
    await asyncio.sleep(1.0)
    assert bot.emu.stats.errors[500] == 1

    bot.clock.advance(seconds=5)
    await eventually(lambda: _pending_with_error(bot, row_id, 2))
    bot.clock.advance(seconds=10)
    await bot.emu.wait_for(1006, "eventually")
    row = await wait_status(bot, row_id, DeliveryStatus.sent)
    assert row.attempts == 3
    # One chat's 5xx while getMe answers is not an outage.
    assert bot.app is not None and bot.app.bot_data.telegram_unreachable_since is None


async def _pending_with_error(bot: Harness, row_id: int, attempts: int) -> OutboxMessage | None:
    row = await outbox_row(bot, row_id)
    waiting = row.status is DeliveryStatus.pending and row.attempts == attempts
    return row if waiting and row.last_error else None


async def test_urgent_message_overtakes_a_bulk_backlog(bot: Harness) -> None:
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1007)
    async with bot.db.transaction() as session:
        for chat in range(5000, 5400):
            await outbox.enqueue(
                session, kind="test", to=telegram_address(chat), text="bulk", priority=Priority.bulk
            )
    assert bot.app is not None
    bot.app.bot_data.outbox_signal()
    await bot.emu.wait_for(5000, "bulk")
    await enqueue(
        bot, to=telegram_address(1007), text="your report was adopted", priority=Priority.personal
    )
    await bot.emu.wait_for(1007, "adopted")
    sent_bulk = sum(bot.emu.stats.messages_sent[chat] for chat in range(5000, 5400))
    assert sent_bulk < 400  # it did not wait for the whole notice


async def test_restart_after_a_crash_loses_nothing(bot: Harness) -> None:
    """A worker claimed messages and died (kill -9); after a restart they all arrive, once."""
    for chat in range(3001, 3011):
        bot.emu.user(chat)
    assert bot.app is not None
    await bot.stop()
    async with bot.db.transaction() as session:
        for chat in range(3001, 3011):
            await outbox.enqueue(
                session, kind="test", to=telegram_address(chat), text=f"hello {chat}"
            )
    async with bot.db.transaction() as session:
        dead = await outbox.claim(session, worker="dead-worker", now=bot.clock.now, limit=6)
    assert len(dead) == 6
    bot.clock.advance(seconds=bot.settings.delivery_lease_seconds + 1)
    await bot.start()
    for chat in range(3001, 3011):
        await bot.emu.wait_for(chat, f"hello {chat}")

    async def all_sent() -> bool:
        async with bot.db.transaction() as session:
            rows = list(await session.scalars(select(OutboxMessage)))
        return all(r.status is DeliveryStatus.sent for r in rows)

    await eventually(all_sent)
    assert all(bot.emu.stats.messages_sent[chat] == 1 for chat in range(3001, 3011))
