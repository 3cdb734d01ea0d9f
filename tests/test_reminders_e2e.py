"""A reminder reaches a member's chat: the scheduler's scan at the right moment, then delivery."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support import Harness


async def test_day_before_reminder_arrives_in_the_members_chat(bot: Harness) -> None:
    member_id = await bot.add_member("陈静", "+8613900139000", telegram_user_id=1401)
    start = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai
    await bot.add_signed_up_activity(
        member_id, title="老旧小区加装电梯微协商", place="鼓楼区东街街道委员联系点", starts_at=start
    )
    bot.clock.now = datetime(2026, 12, 4, 8, 59, tzinfo=UTC)  # 16:59 local, the day before
    assert await bot.scheduler().scan() == 0
    bot.clock.now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)  # 17:00 local
    assert await bot.scheduler().scan() == 1
    reminder = await bot.emu.wait_for(1401, "老旧小区加装电梯微协商")
    assert "明天" in reminder.text and "2026-12-05 14:30" in reminder.text
    assert reminder.buttons() == ["查看活动"]
    assert await bot.scheduler().scan() == 0
