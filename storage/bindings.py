"""The binding lifecycle: binding, moving a binding to another account, and removing it.

A member's binding never moves silently. When another account presents a fresh
invite link or the member's own phone number (its shared contact) while the member is bound,
a binding request is recorded and staff are asked through the outbox; only a staff decision
moves it. Every step is audited, and every person concerned is named in the result
(`BindingNews`): the caller posts their messages in the same transaction as the change (the
outbox), so a crash loses neither alone.

Storage decides everything here (who may decide, whether a request is still open); handlers
only present the outcome: buttons can be forged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, dialogs, identities, members, outbox
from storage.audit import Actor
from storage.identities import Account, Address
from storage.members import DEFAULT_INVITE_TTL, BindOutcome, BindResult, MemberRef
from storage.models import (
    BindingRequest,
    BindingRequestStatus,
    Identity,
    Member,
    Priority,
    Role,
)

SOURCE = "binding_request"


class Told(enum.StrEnum):
    """What an account is told about a binding."""

    staff_request = "staff_request"  # staff: an account asks to take over a member's binding
    old_account_warning = "old_account_warning"  # the bound account: someone asked for it
    move_refused = "move_refused"  # the asking account
    move_confirmed = "move_confirmed"  # the asking account, now bound
    moved_away = "moved_away"  # the account that held the binding
    unbound = "unbound"  # the account that held the binding, removed by an admin


@dataclass(frozen=True, kw_only=True)
class BindingNews(outbox.Envelope):
    told: Told
    request_id: int | None = None
    name: str = ""  # the member's name (staff_request, move_confirmed)
    subject_id: int | None = None  # the member the request is about (staff_request)
    account: str = ""  # the asking account (staff_request)
    via: str = ""  # how it asked: contact or invite (staff_request)


# -- binding, or asking to move the binding ------------------------------------------------


async def bind_by_contact(
    session: AsyncSession,
    *,
    account: Account,
    phone: str,
    now: datetime,
) -> BindResult:
    """The sender shared their own contact: bind, or, when the member with that number is bound
    to another account, ask staff to move the binding to this one."""
    result = await members.bind_by_phone(session, account=account, phone=phone)
    if result.outcome is BindOutcome.taken and result.member is not None:
        return await _request_move(session, result.member, account, "contact", now)
    return result


async def redeem_invite(
    session: AsyncSession,
    *,
    code: str,
    account: Account,
    now: datetime,
    ttl: timedelta = DEFAULT_INVITE_TTL,
) -> BindResult:
    """An invite link: bind; refuse it used or expired; or, when the member is bound to
    another account, the (now used) link asks staff to move the binding to this one."""
    result = await members.redeem_invite(session, code=code, account=account, now=now, ttl=ttl)
    if result.outcome is BindOutcome.taken and result.member is not None:
        return await _request_move(session, result.member, account, "invite", now)
    return result


async def _request_move(
    session: AsyncSession,
    member: MemberRef,
    account: Account,
    via: str,
    now: datetime,
) -> BindResult:
    """`member.account` is the account holding the binding now (on the asking one's channel)."""
    open_request = await session.scalar(
        select(BindingRequest.id).where(
            BindingRequest.member_id == member.id,
            BindingRequest.channel == account.channel,
            BindingRequest.external_id == account.external_id,
            BindingRequest.status == BindingRequestStatus.pending,
        )
    )
    if open_request is not None:
        return BindResult(BindOutcome.move_pending, member, open_request)
    request = BindingRequest(
        member_id=member.id,
        channel=account.channel,
        external_id=account.external_id,
        address=account.address,
        old_external_id=member.account.external_id if member.account else None,
        via=via,
        status=BindingRequestStatus.pending,
        created_at=now,
    )
    session.add(request)
    await session.flush()
    await audit.record(
        session,
        Actor.of(None, account),
        "member.move_request",
        object_type="member",
        object_id=member.id,
        request=request.id,
        via=via,
        channel=account.channel,
        old_account=member.account.external_id if member.account else None,
    )
    news = [
        BindingNews(
            to=decider_address,
            member_id=decider_id,
            kind="binding_request",
            priority=Priority.personal,
            source_type=SOURCE,
            source_id=request.id,
            told=Told.staff_request,
            request_id=request.id,
            name=member.name,
            subject_id=member.id,
            account=account.external_id,
            via=via,
        )
        for decider_id, decider_address in await _deciders(session, member.role)
    ]
    if member.account is not None:
        # The account bound now hears of it at once: if the request is not the member's own
        # doing, they can warn the office before staff decide.
        news.append(_tell(_to(member.account), Told.old_account_warning, request.id))
    return BindResult(BindOutcome.move_requested, member, request.id, tuple(news))


async def _deciders(session: AsyncSession, role: Role) -> list[tuple[int, Address]]:
    """Who is asked (and may decide): staff and admins; for a staff or admin member's binding,
    admins only, so staff cannot hand themselves a second privileged account."""
    allowed = _deciding_roles(role)
    rows = await session.execute(
        select(Member.id, Identity.channel, Identity.address)
        .join(Identity, identities.preferred(Member.id))
        .where(Member.active, Member.role.in_(allowed))
        .order_by(Member.id)
    )
    return [(row.id, Address(row.channel, row.address)) for row in rows]


def _to(account: Account) -> Address:
    return Address(account.channel, account.address)


def _deciding_roles(role: Role) -> list[Role]:
    return [Role.admin] if role.is_staff else [Role.staff, Role.admin]


def _tell(
    to: Address,
    told: Told,
    request_id: int | None,
    *,
    member_id: int | None = None,
    name: str = "",
) -> BindingNews:
    """News for an account. member_id only for the account the member is bound to now: the
    worker renders in that member's language and marks *them* unreachable if it fails, which
    would be wrong for an account that is not (or no longer) theirs."""
    return BindingNews(
        to=to,
        member_id=member_id,
        kind="binding",
        priority=Priority.personal,
        source_type=SOURCE if request_id is not None else "member",
        source_id=request_id,
        told=told,
        request_id=request_id,
        name=name,
    )


# -- staff decide ---------------------------------------------------------------------------


class Decision(enum.StrEnum):
    confirmed = "confirmed"
    refused = "refused"
    not_allowed = "not_allowed"  # not staff
    admin_needed = "admin_needed"  # a staff or admin member's binding: admins only
    not_found = "not_found"  # no such request, or its member left the roster
    already_decided = "already_decided"
    requester_bound = "requester_bound"  # the asking account was bound to someone else since


@dataclass(frozen=True)
class DecideResult:
    outcome: Decision
    request_id: int | None = None
    member_name: str | None = None
    status: BindingRequestStatus | None = None  # the request's status after this call
    news: tuple[BindingNews, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome in (Decision.confirmed, Decision.refused)


async def decide(
    session: AsyncSession,
    request_id: int,
    *,
    by: Account,
    confirm: bool,
    now: datetime,
) -> DecideResult:
    """Confirm (move the binding) or refuse a pending request; the role of the account pressing
    the button is read here, from the database, not from what the button claimed."""
    decider = await identities.member_of(session, by.channel, by.external_id)
    if decider is None or not decider.role.is_staff:
        return DecideResult(Decision.not_allowed, request_id)
    request = await session.get(BindingRequest, request_id, with_for_update=True)
    if request is None:
        return DecideResult(Decision.not_found, request_id)
    member = await session.get(Member, request.member_id, with_for_update=True)
    if member is None or not member.active:
        return DecideResult(Decision.not_found, request_id)
    if decider.role not in _deciding_roles(member.role):
        return DecideResult(Decision.admin_needed, request_id, member.name)
    if request.status is not BindingRequestStatus.pending:
        return DecideResult(Decision.already_decided, request_id, member.name, request.status)
    actor = Actor.of(decider.id, by)
    asking = Account(request.channel, request.external_id, request.address)
    if not confirm:
        await _close(session, request, BindingRequestStatus.refused, decider.id, now)
        await audit.record(
            session,
            actor,
            "member.move_refuse",
            object_type="member",
            object_id=member.id,
            request=request.id,
            account=request.external_id,
        )
        news = (_tell(_to(asking), Told.move_refused, request.id),)
        return DecideResult(Decision.refused, request.id, member.name, request.status, news)
    elsewhere = await members.by_account(session, asking)
    if elsewhere is not None and elsewhere.id != member.id:
        return DecideResult(Decision.requester_bound, request.id, member.name, request.status)
    old = await identities.account_of(session, member.id, asking.channel)
    await identities.attach(session, member.id, asking, now=now)
    member.bound_at = now
    member.reachable = True
    member.unreachable_reason = None
    await session.flush()
    await _close(session, request, BindingRequestStatus.confirmed, decider.id, now)
    await audit.record(
        session,
        actor,
        "member.move_confirm",
        object_type="member",
        object_id=member.id,
        request=request.id,
        channel=asking.channel,
        old_account=old.external_id if old else None,
        new_account=asking.external_id,
    )
    told = [
        _tell(_to(asking), Told.move_confirmed, request.id, member_id=member.id, name=member.name)
    ]
    if old is not None and old.key != asking.key:
        # Whatever the old account was in the middle of belongs to nobody now.
        await dialogs.clear(session, old.key)
        told.append(_tell(_to(old), Told.moved_away, request.id))
    told += await _supersede(session, member.id, request.id, decider.id, now)
    return DecideResult(Decision.confirmed, request.id, member.name, request.status, tuple(told))


async def _close(
    session: AsyncSession,
    request: BindingRequest,
    status: BindingRequestStatus,
    decider_id: int,
    now: datetime,
) -> None:
    request.status = status
    request.decided_at = now
    request.decided_by_member_id = decider_id
    await session.flush()


async def _supersede(
    session: AsyncSession, member_id: int, kept: int, decider_id: int, now: datetime
) -> list[BindingNews]:
    """Other accounts still asking for the same member are refused once one move is confirmed:
    a second confirmation would quietly take the binding away again."""
    others = await session.scalars(
        select(BindingRequest).where(
            BindingRequest.member_id == member_id,
            BindingRequest.status == BindingRequestStatus.pending,
            BindingRequest.id != kept,
        )
    )
    told = []
    for other in list(others):
        await _close(session, other, BindingRequestStatus.refused, decider_id, now)
        await audit.record(
            session,
            Actor(member_id=decider_id),
            "member.move_refuse",
            object_type="member",
            object_id=member_id,
            request=other.id,
            account=other.external_id,
            superseded_by=kept,
        )
        told.append(_tell(Address(other.channel, other.address), Told.move_refused, other.id))
    return told


# -- removing a binding ---------------------------------------------------------------------


class Unbind(enum.StrEnum):
    unbound = "unbound"
    not_bound = "not_bound"
    not_allowed = "not_allowed"  # only admins (and the command line)
    self = "self"  # an admin cannot cut off the account they are using


@dataclass(frozen=True)
class Unbound:
    outcome: Unbind
    news: tuple[BindingNews, ...] = ()


async def unbind(session: AsyncSession, member: Member, actor: Actor) -> Unbound:
    """Remove the member's binding; the account that held it is told. Admins only: the actor's
    role is read from the database (the command line, with no member or account, may)."""
    if not actor.is_cli:
        by = await session.get(Member, actor.member_id) if actor.member_id is not None else None
        if by is None or not by.active or by.role is not Role.admin:
            return Unbound(Unbind.not_allowed)
        if by.id == member.id:
            return Unbound(Unbind.self)
    accounts = await identities.accounts_of(session, member.id)
    if not accounts:
        return Unbound(Unbind.not_bound)
    member.bound_at = None
    for account in accounts:
        await identities.detach(session, member.id, account.channel)
        await dialogs.clear(session, account.key)
        await audit.record(
            session,
            actor,
            "member.unbind",
            object_type="member",
            object_id=member.id,
            channel=account.channel,
            old_account=account.external_id,
        )
    return Unbound(Unbind.unbound, tuple(_tell(_to(a), Told.unbound, None) for a in accounts))
