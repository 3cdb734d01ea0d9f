"""A reminder reaches a member's chat: the scheduler's scan at the right moment, then delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.scheduler import SchedulerService
from storage.models.activities import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityType,
    SignupStatus,
)
from tests.support import Harness


def _scheduler(bot: Harness) -> SchedulerService:
    assert bot.app is not None
    return next(s for s in bot.app.bot_data.services if isinstance(s, SchedulerService))


async def test_day_before_reminder_arrives_in_the_members_chat(bot: Harness) -> None:
    member_id = await bot.add_member("陈静", "+8613900139000", telegram_user_id=1401)
    start = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai
    async with bot.db.transaction() as s:
        activity = Activity(
            type=ActivityType.micro_consultation,
            status=ActivityStatus.published,
            title="老旧小区加装电梯微协商",
            place="鼓楼区东街街道委员联系点",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
        )
        s.add(activity)
        await s.flush()
        s.add(
            ActivitySignup(
                activity_id=activity.id,
                member_id=member_id,
                status=SignupStatus.signed_up,
                position=1,
            )
        )
    bot.clock.now = datetime(2026, 12, 4, 8, 59, tzinfo=UTC)  # 16:59 local, the day before
    assert await _scheduler(bot).scan() == 0
    bot.clock.now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)  # 17:00 local
    assert await _scheduler(bot).scan() == 1
    reminder = await bot.emu.wait_for(1401, "老旧小区加装电梯微协商")
    assert "明天" in reminder.text and "2026-12-05 14:30" in reminder.text
    assert reminder.buttons() == ["查看活动"]
    assert await _scheduler(bot).scan() == 0
