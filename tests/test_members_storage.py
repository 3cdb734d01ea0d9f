"""Binding and invites in storage, on SQLite and PostgreSQL, including simultaneous use."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.channels import TELEGRAM, telegram_account
from storage import dialogs, members
from storage.audit import Actor
from storage.db import Database
from storage.members import BindOutcome
from storage.models import AuditLog, DialogState, Identity, Member, Role


async def _add(db: Database, name: str, phone: str) -> int:
    async with db.transaction() as session:
        member = Member(name=name, phone=phone)
        session.add(member)
        await session.flush()
        return member.id


async def test_bind_by_phone_in_any_format_and_only_once(db: Database) -> None:
    member_id = await _add(db, "林文华", "+8613800138000")
    async with db.transaction() as s:
        first = await members.bind_by_phone(s, account=telegram_account(11), phone="8613800138000")
    assert first.outcome is BindOutcome.bound and first.member and first.member.id == member_id
    async with db.transaction() as s:
        again = await members.bind_by_phone(s, account=telegram_account(11), phone="138 0013 8000")
        other = await members.bind_by_phone(
            s, account=telegram_account(12), phone="+86-138-0013-8000"
        )
        unknown = await members.bind_by_phone(s, account=telegram_account(13), phone="13700137000")
        garbage = await members.bind_by_phone(s, account=telegram_account(13), phone="hello")
    assert again.outcome is BindOutcome.already_bound
    assert other.outcome is BindOutcome.taken
    assert unknown.outcome is BindOutcome.not_on_roster
    assert garbage.outcome is BindOutcome.bad_phone
    async with db.transaction() as s:
        assert (await members.by_account(s, telegram_account(11))) is not None
        assert (await members.by_account(s, telegram_account(12))) is None


async def test_invite_code_wins_once_under_simultaneous_redemption(db: Database) -> None:
    member_id = await _add(db, "黄志强", "+8618600186000")
    async with db.transaction() as s:
        code = await members.create_invite(s, member_id, Actor.cli())

    async def redeem(telegram_id: int) -> BindOutcome:
        async with db.transaction() as s:
            result = await members.redeem_invite(
                s, code=code, account=telegram_account(telegram_id)
            )
            return result.outcome

    outcomes = await asyncio.gather(*(redeem(100 + i) for i in range(8)))
    assert outcomes.count(BindOutcome.bound) == 1
    assert set(outcomes) <= {BindOutcome.bound, BindOutcome.used_code, BindOutcome.taken}
    async with db.transaction() as s:
        bound = await s.scalar(
            select(func.count()).select_from(Identity).where(Identity.channel == TELEGRAM)
        )
        unknown = await members.redeem_invite(s, code="inv_nope", account=telegram_account(1))
    assert bound == 1
    assert unknown.outcome is BindOutcome.invalid_code


async def test_role_change_is_audited(db: Database) -> None:
    member_id = await _add(db, "陈静", "+8613900139000")
    async with db.transaction() as s:
        member = await members.find(s, "139 0013 9000")
        assert member is not None and member.id == member_id
        assert await members.set_role(s, member, Role.staff, Actor.of(None, telegram_account(5)))
        assert not await members.set_role(s, member, Role.staff, Actor.cli())
    async with db.transaction() as s:
        rows = list(await s.scalars(select(AuditLog).where(AuditLog.action == "member.role")))
    assert len(rows) == 1 and rows[0].details == {"old": "member", "new": "staff"}


async def test_a_dialog_moves_in_place_and_keeps_one_row_per_user(db: Database) -> None:
    opened = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    first, second = telegram_account(501).key, telegram_account(502).key
    async with db.transaction() as s:
        await dialogs.set(s, first, "report", "title", {"edit": False}, now=opened)
    async with db.transaction() as s:
        moved = await dialogs.set(
            s, first, "report", "situation", {"edit": True}, now=opened + timedelta(minutes=3)
        )
        await dialogs.set(s, second, "leave", "reason", now=opened)
    async with db.transaction() as s:
        assert await dialogs.get(s, first) == moved
        assert moved.step == "situation" and moved.data == {"edit": True}
        assert moved.updated_at == opened + timedelta(minutes=3)
        assert (await dialogs.get(s, second)) is not None
        assert await s.scalar(select(func.count()).select_from(DialogState)) == 2
        await dialogs.clear(s, first)
    async with db.transaction() as s:
        assert await dialogs.get(s, first) is None
