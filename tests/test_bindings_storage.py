"""The binding lifecycle in storage, on SQLite and PostgreSQL: the transaction decides expiry,
single use, who may confirm a move, and that two simultaneous confirmations move it once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import TELEGRAM, telegram_account
from handlers import bindings as binding_messages
from storage import bindings, identities, members
from storage.audit import Actor
from storage.bindings import DecideResult, Decision, Unbind, Unbound
from storage.db import Database
from storage.members import BindOutcome, BindResult
from storage.models import (
    AuditLog,
    BindingRequest,
    BindingRequestStatus,
    Member,
    OutboxMessage,
    Role,
)
from tests.support import bind_telegram

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
OFFICE = "office"
STAFF, STAFF2, OLD, NEW = 2001, 2002, 1001, 1003


async def _add(
    db: Database, name: str, phone: str, role: Role = Role.member, tg: int | None = None
) -> int:
    async with db.transaction() as s:
        member = Member(name=name, phone=phone, role=role)
        s.add(member)
        await s.flush()
        if tg is not None:
            await bind_telegram(s, member.id, tg)
        return member.id


async def _audit_count(db: Database, action: str) -> int:
    async with db.transaction() as s:
        return int(
            await s.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == action)
            )
            or 0
        )


async def test_invite_expires_at_the_ttl_in_force_when_it_is_used(db: Database) -> None:
    member_id = await _add(db, "黄志强", "+8618600186000")
    async with db.transaction() as s:
        code = await members.create_invite(s, member_id, Actor.cli(), now=NOW)
    ttl = timedelta(days=7)
    async with db.transaction() as s:
        late = await with_news(
            s,
            await bindings.redeem_invite(
                s, code=code, account=telegram_account(NEW), now=NOW + ttl, ttl=ttl
            ),
        )
    assert late.outcome is BindOutcome.expired_code
    # A longer TTL set afterwards revives it: expiry follows the setting in force.
    async with db.transaction() as s:
        revived = await with_news(
            s,
            await bindings.redeem_invite(
                s,
                code=code,
                account=telegram_account(NEW),
                now=NOW + ttl,
                ttl=ttl * 2,
            ),
        )
    assert revived.outcome is BindOutcome.bound
    assert await _audit_count(db, "member.invite_expired") == 1
    assert await _audit_count(db, "member.bind") == 1


R = TypeVar("R", BindResult, DecideResult, Unbound)


async def with_news(s: AsyncSession, result: R) -> R:
    """Post the messages the change causes, as the handlers do, in its transaction."""
    await binding_messages.tell(s, result.news, OFFICE)
    return result


async def _pending_request(db: Database) -> tuple[int, int]:
    """A member bound to OLD, two staff, and NEW asking for the binding by contact."""
    await _add(db, "王干部", "+8615000150000", Role.staff, STAFF)
    await _add(db, "郑干部", "+8615000150002", Role.staff, STAFF2)
    member_id = await _add(db, "黄志强", "+8618600186000", tg=OLD)
    async with db.transaction() as s:
        asked = await with_news(
            s,
            await bindings.bind_by_contact(
                s, account=telegram_account(NEW), phone="18600186000", now=NOW
            ),
        )
    assert asked.outcome is BindOutcome.move_requested and asked.request_id is not None
    return member_id, asked.request_id


async def test_a_move_request_asks_every_staff_member_and_warns_the_old_account(
    db: Database,
) -> None:
    member_id, request_id = await _pending_request(db)
    async with db.transaction() as s:
        again = await with_news(
            s,
            await bindings.bind_by_contact(
                s, account=telegram_account(NEW), phone="18600186000", now=NOW
            ),
        )
        chats = sorted(
            (row.channel, int(row.address))
            for row in await s.execute(select(OutboxMessage.channel, OutboxMessage.address))
        )
        bound = await identities.account_of(s, member_id, TELEGRAM)
    assert again.outcome is BindOutcome.move_pending and again.request_id == request_id
    assert chats == [(TELEGRAM, OLD), (TELEGRAM, STAFF), (TELEGRAM, STAFF2)]  # asked once only
    assert bound is not None and bound.external_id == str(OLD)


async def test_simultaneous_confirmations_move_the_binding_once(db: Database) -> None:
    member_id, request_id = await _pending_request(db)

    async def press(telegram_id: int) -> Decision:
        async with db.transaction() as s:
            result = await with_news(
                s,
                await bindings.decide(
                    s,
                    request_id,
                    by=telegram_account(telegram_id),
                    confirm=True,
                    now=NOW,
                ),
            )
            return result.outcome

    outcomes = await asyncio.gather(press(STAFF), press(STAFF2))
    assert sorted(outcomes) == [Decision.already_decided, Decision.confirmed]
    async with db.transaction() as s:
        bound = await identities.account_of(s, member_id, TELEGRAM)
        request = await s.get(BindingRequest, request_id)
        told = sorted(
            str(template)
            for template in await s.scalars(
                select(OutboxMessage.template).where(
                    OutboxMessage.channel == TELEGRAM,
                    OutboxMessage.address.in_([str(OLD), str(NEW)]),
                )
            )
        )
    assert bound is not None and bound.external_id == str(NEW) and request is not None
    assert request.status is BindingRequestStatus.confirmed
    assert told == ["binding.move_confirmed", "binding.moved_away", "binding.old_account_warning"]
    assert await _audit_count(db, "member.move_confirm") == 1


async def test_only_staff_decide_and_only_admins_unbind(db: Database) -> None:
    member_id, request_id = await _pending_request(db)
    async with db.transaction() as s:
        by_member = await with_news(
            s, await bindings.decide(s, request_id, by=telegram_account(OLD), confirm=True, now=NOW)
        )
        by_stranger = await with_news(
            s, await bindings.decide(s, request_id, by=telegram_account(NEW), confirm=True, now=NOW)
        )
        missing = await with_news(
            s,
            await bindings.decide(
                s, request_id + 100, by=telegram_account(STAFF), confirm=True, now=NOW
            ),
        )
    assert by_member.outcome is Decision.not_allowed
    assert by_stranger.outcome is Decision.not_allowed
    assert missing.outcome is Decision.not_found

    async with db.transaction() as s:
        member = await s.get(Member, member_id)
        staff = await members.by_account(s, telegram_account(STAFF))
        assert member is not None and staff is not None
        refused = await with_news(s, await bindings.unbind(s, member, staff.actor))
        still = await identities.account_of(s, member_id, TELEGRAM)
        assert still is not None and still.external_id == str(OLD)
        done = await with_news(s, await bindings.unbind(s, member, Actor.cli()))
        again = await with_news(s, await bindings.unbind(s, member, Actor.cli()))
    assert (refused.outcome, done.outcome, again.outcome) == (
        Unbind.not_allowed,
        Unbind.unbound,
        Unbind.not_bound,
    )
    async with db.transaction() as s:
        request = await s.get(BindingRequest, request_id)
    assert request is not None and request.status is BindingRequestStatus.pending
    assert await _audit_count(db, "member.unbind") == 1
