"""Telegram answering 5xx: replies are retried with backoff, and a dead server is not hammered."""

from __future__ import annotations

import asyncio

from storage.models import Role
from tests.support import Harness


def _sends(bot: Harness, chat_id: int) -> int:
    return sum(1 for c in bot.emu.calls if c.method == "sendMessage" and c.chat_id == chat_id)


async def test_reply_is_retried_after_bad_gateway(bot: Harness) -> None:
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1601)
    bot.emu.fail_next(
        "sendMessage", error_code=502, description="Bad Gateway", chat_id=1601, times=2
    )
    await bot.emu.user(1601).send_command("help")
    await bot.emu.wait_for(1601, "本助手可以", timeout=10)
    assert _sends(bot, 1601) == 3


async def test_persistent_server_errors_give_up_without_spinning(bot: Harness) -> None:
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1602)
    bot.emu.fail_next(
        "sendMessage", error_code=500, description="Internal Server Error", chat_id=1602, times=1000
    )
    await bot.emu.user(1602).send_command("help")
    await asyncio.sleep(9)  # longer than all retry delays together
    # The reply, tried four times, then kept in the outbox and tried once more by the delivery
    # worker, which then waits for its clock to move; no apology: a 500 may well have been
    # delivered (and an apology would meet the same server).
    assert _sends(bot, 1602) == 5
    await asyncio.sleep(2)
    assert _sends(bot, 1602) == 5


async def test_a_reply_failing_inside_a_transaction_is_kept_and_the_chat_goes_on(
    bot: Harness,
) -> None:
    """/invite answers "not found" from inside its transaction; Telegram refuses that reply
    four times (every retry): it arrives later through the outbox, and the staff member's next
    command is answered (nothing waits for itself)."""
    await bot.add_member("王干部", "+8615000150000", role=Role.staff, telegram_user_id=1603)
    bot.emu.fail_next(
        "sendMessage", error_code=502, description="Bad Gateway", chat_id=1603, times=4
    )
    await bot.emu.user(1603).send_command("invite", "13999999999")
    await bot.emu.wait_for(1603, "13999999999", timeout=15)
    await bot.emu.user(1603).send_command("help")
    await bot.emu.wait_for(1603, "机关工作人员命令", timeout=10)
    assert sum("13999999999" in (m.text or "") for m in bot.emu.messages_to(1603)) == 1


async def test_a_reply_still_flood_limited_after_the_waits_arrives_later(bot: Harness) -> None:
    """A burst of replies (a backlog after a restart) can still meet 429 after PTB's own waits:
    the reply goes out later through the paced outbox instead of being lost, and no apology
    (which would meet the same limit) is sent."""
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1603)
    bot.emu.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        chat_id=1603,
        times=3,  # the first try and PTB's two retries
    )
    await bot.emu.user(1603).send_command("help")
    await bot.emu.wait_for(1603, "本助手可以", timeout=15)
    texts = [m.text or "" for m in bot.emu.messages_to(1603)]
    assert sum("本助手可以" in t for t in texts) == 1
    assert not [t for t in texts if "出了点问题" in t]
