"""Shared by the activities storage tests (test_activities_*_storage.py): fixed times, a
staff actor, check-in rules, bound members, a published activity, and shortcuts to post what
a change causes (with_news), sign up, cancel, and read the sign-up statuses and the outbox."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import telegram_account
from handlers.activities import messages
from storage import activities as acts
from storage.activities import CheckinRules
from storage.audit import Actor
from storage.db import Database
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    Member,
    OutboxMessage,
    SignupStatus,
    TargetKind,
)
from tests.support import bind_telegram

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
STAFF = Actor.of(None, telegram_account(1))
RULES = CheckinRules(timedelta(minutes=60), timedelta(minutes=120), 500.0)


R = TypeVar("R", acts.Result, acts.EditResult)


async def with_news(s: AsyncSession, result: R) -> R:
    """Post the messages a change causes, as the handlers do, in the same transaction."""
    await messages.tell(s, result.news, TZ)
    return result


_serial = itertools.count()


async def _members(db: Database, n: int, **fields: Any) -> list[int]:
    """n bound members with distinct phones (and names, unless one is given)."""
    async with db.transaction() as s:
        rows = []
        for _ in range(n):
            i = next(_serial)
            values = {"name": f"委员{i:03d}", **fields}
            rows.append((10_000 + i, Member(phone=f"+86139{i:08d}", **values)))
        s.add_all(m for _, m in rows)
        await s.flush()
        for user_id, member in rows:
            await bind_telegram(s, member.id, user_id)
        return [m.id for _, m in rows]


async def _activity(
    db: Database,
    *,
    capacity: int | None = 30,
    starts_in: timedelta = timedelta(days=7),
    deadline_in: timedelta | None = None,
    reply_required: bool = False,
    targets: list[tuple[TargetKind, int | None]] | None = None,
    **fields: Any,
) -> int:
    starts = NOW + starts_in
    async with db.transaction() as s:
        values: dict[str, Any] = {
            "type": ActivityType.visit,
            "status": ActivityStatus.published,
            "title": "走进政协开放日",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=2),
            "signup_deadline": NOW + deadline_in if deadline_in is not None else None,
            "place": "政协大楼",
            "capacity": capacity,
            "reply_required": reply_required,
            "published_at": NOW,
            **fields,
        }
        activity = Activity(**values)
        s.add(activity)
        await s.flush()
        for kind, ref in targets or [(TargetKind.everyone, None)]:
            s.add(ActivityTarget(activity_id=activity.id, kind=kind, ref_id=ref))
        return activity.id


async def _statuses(db: Database, activity_id: int) -> dict[int, tuple[SignupStatus, int | None]]:
    async with db.transaction() as s:
        rows = await s.execute(
            select(ActivitySignup.member_id, ActivitySignup.status, ActivitySignup.position).where(
                ActivitySignup.activity_id == activity_id
            )
        )
        return {m: (st, p) for m, st, p in rows}


async def _sign_up(db: Database, aid: int, mid: int, now: datetime = NOW) -> acts.Result:
    async with db.transaction() as s:
        return await acts.sign_up(s, aid, mid, now=now)


async def _cancel(db: Database, aid: int, mid: int, now: datetime = NOW) -> acts.Result:
    async with db.transaction() as s:
        return await with_news(s, await acts.cancel(s, aid, mid, now=now))


async def _outbox(db: Database, template: str) -> list[OutboxMessage]:
    async with db.transaction() as s:
        return list(
            await s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.template == template)
                .order_by(OutboxMessage.id)
            )
        )
