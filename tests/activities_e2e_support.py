"""Shared by the activities end-to-end tests (test_activities_*_e2e.py): a staff member and
three bound members, a published activity, the sign-up statuses, and waits for button answers
and buttons."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.tryout import SentMessage
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    Role,
    SignupStatus,
    TargetKind,
)
from tests.support import Harness

STAFF = 3001
A, B, C = 4001, 4002, 4003
VENUE = (26.0745, 119.2965)


async def _people(bot: Harness) -> dict[int, int]:
    """A staff member and three bound members; returns telegram id -> member id."""
    ids = {
        STAFF: await bot.add_member(
            "王干事", "+8615000150001", role=Role.staff, telegram_user_id=STAFF
        )
    }
    for n, tg in enumerate((A, B, C)):
        ids[tg] = await bot.add_member(
            f"委员{'甲乙丙'[n]}", f"+861380013800{n}", telegram_user_id=tg
        )
    return ids


async def _activity(bot: Harness, **fields: Any) -> int:
    """A published activity a week ahead (everyone invited unless targets are given)."""
    targets = fields.pop("targets", [(TargetKind.everyone, None)])
    starts = fields.pop("starts_at", bot.clock.now + timedelta(days=7))
    values: dict[str, Any] = {
        "type": ActivityType.visit,
        "status": ActivityStatus.published,
        "title": "走进政协开放日",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
        "place": "政协大楼",
        "capacity": 30,
        "published_at": bot.clock.now,
        **fields,
    }
    async with bot.db.transaction() as s:
        activity = Activity(**values)
        s.add(activity)
        await s.flush()
        for kind, ref in targets:
            s.add(ActivityTarget(activity_id=activity.id, kind=kind, ref_id=ref))
        return activity.id


async def _signups(bot: Harness, activity_id: int) -> dict[int, SignupStatus]:
    async with bot.db.transaction() as s:
        rows = await s.execute(
            select(ActivitySignup.member_id, ActivitySignup.status).where(
                ActivitySignup.activity_id == activity_id
            )
        )
        return {member_id: status for member_id, status in rows}


async def _alert(bot: Harness, text: str) -> None:
    """Wait for a button answer (toast or alert) containing text."""
    await bot.emu.wait_for_call(
        "answerCallbackQuery", lambda c: text in str(c.params.get("text") or "")
    )


def _has_buttons(*labels: str) -> Any:
    def match(m: SentMessage) -> bool:
        return all(label in m.buttons() for label in labels)

    return match
