"""The binding lifecycle: binding, moving a binding to another account, and removing it.

A member's binding never moves silently. When another Telegram account presents a fresh
invite link or the member's own phone number (its shared contact) while the member is bound,
a binding request is recorded and staff are asked through the outbox; only a staff decision
moves it. Every step is audited, and every person concerned hears about it in the same
transaction as the change (the outbox), so a crash loses neither alone.

Storage decides everything here (who may decide, whether a request is still open); handlers
only present the outcome: buttons can be forged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, dialogs, members, outbox
from storage.audit import Actor
from storage.members import DEFAULT_INVITE_TTL, BindOutcome, BindResult, MemberRef
from storage.models import (
    BindingRequest,
    BindingRequestStatus,
    Member,
    Priority,
    Role,
)

FEATURE = "bnd"  # callback data of the staff buttons: bnd:ok:<request id>, bnd:no:<request id>
CONFIRM, REFUSE = "ok", "no"
SOURCE = "binding_request"


def confirm_data(request_id: int) -> str:
    return f"{FEATURE}:{CONFIRM}:{request_id}"


def refuse_data(request_id: int) -> str:
    return f"{FEATURE}:{REFUSE}:{request_id}"


# -- binding, or asking to move the binding ------------------------------------------------


async def bind_by_contact(
    session: AsyncSession,
    *,
    telegram_user_id: int,
    chat_id: int,
    phone: str,
    now: datetime,
    office: str,
) -> BindResult:
    """The sender shared their own contact: bind, or, when the member with that number is bound
    to another account, ask staff to move the binding to this one."""
    result = await members.bind_by_phone(
        session, telegram_user_id=telegram_user_id, chat_id=chat_id, phone=phone
    )
    if result.outcome is BindOutcome.taken and result.member is not None:
        return await _request_move(
            session, result.member, telegram_user_id, chat_id, "contact", now, office
        )
    return result


async def redeem_invite(
    session: AsyncSession,
    *,
    code: str,
    telegram_user_id: int,
    chat_id: int,
    now: datetime,
    office: str,
    ttl: timedelta = DEFAULT_INVITE_TTL,
) -> BindResult:
    """An invite link: bind; refuse it used or expired; or, when the member is bound to
    another account, the (now used) link asks staff to move the binding to this one."""
    result = await members.redeem_invite(
        session, code=code, telegram_user_id=telegram_user_id, chat_id=chat_id, now=now, ttl=ttl
    )
    if result.outcome is BindOutcome.taken and result.member is not None:
        return await _request_move(
            session, result.member, telegram_user_id, chat_id, "invite", now, office
        )
    return result


async def _request_move(
    session: AsyncSession,
    member: MemberRef,
    telegram_user_id: int,
    chat_id: int,
    via: str,
    now: datetime,
    office: str,
) -> BindResult:
    open_request = await session.scalar(
        select(BindingRequest.id).where(
            BindingRequest.member_id == member.id,
            BindingRequest.telegram_user_id == telegram_user_id,
            BindingRequest.status == BindingRequestStatus.pending,
        )
    )
    if open_request is not None:
        return BindResult(BindOutcome.move_pending, member, open_request)
    request = BindingRequest(
        member_id=member.id,
        telegram_user_id=telegram_user_id,
        chat_id=chat_id,
        old_telegram_user_id=member.telegram_user_id,
        via=via,
        status=BindingRequestStatus.pending,
        created_at=now,
    )
    session.add(request)
    await session.flush()
    await audit.record(
        session,
        Actor(telegram_id=telegram_user_id),
        "member.move_request",
        object_type="member",
        object_id=member.id,
        request=request.id,
        via=via,
        old_telegram_id=member.telegram_user_id,
    )
    params = {
        "request": request.id,
        "name": member.name,
        "member": member.id,
        "account": telegram_user_id,
        "via": {"key": f"binding.via_{via}"},
    }
    buttons = [
        [
            outbox.button("binding.btn_confirm", confirm_data(request.id)),
            outbox.button("binding.btn_refuse", refuse_data(request.id)),
        ]
    ]
    for decider_id, decider_chat in await _deciders(session, member.role):
        await outbox.enqueue(
            session,
            chat_id=decider_chat,
            member_id=decider_id,
            kind="binding_request",
            template="binding.staff_request",
            params=params,
            buttons=buttons,
            priority=Priority.personal,
            source_type=SOURCE,
            source_id=request.id,
        )
    if member.chat_id is not None:
        # The account bound now hears of it at once: if the request is not the member's own
        # doing, they can warn the office before staff decide.
        await _tell(session, member.chat_id, "binding.old_account_warning", request.id, office)
    return BindResult(BindOutcome.move_requested, member, request.id)


async def _deciders(session: AsyncSession, role: Role) -> list[tuple[int, int]]:
    """Who is asked (and may decide): staff and admins; for a staff or admin member's binding,
    admins only, so staff cannot hand themselves a second privileged account."""
    allowed = _deciding_roles(role)
    rows = await session.execute(
        select(Member.id, Member.chat_id)
        .where(Member.active, Member.role.in_(allowed), Member.chat_id.is_not(None))
        .order_by(Member.id)
    )
    return [(member_id, chat_id) for member_id, chat_id in rows if chat_id is not None]


def _deciding_roles(role: Role) -> list[Role]:
    return [Role.admin] if role.is_staff else [Role.staff, Role.admin]


async def _tell(
    session: AsyncSession,
    chat_id: int,
    template: str,
    request_id: int | None,
    office: str,
    *,
    member_id: int | None = None,
    **params: object,
) -> None:
    """A message to an account. member_id only for the account the member is bound to now:
    the worker renders in that member's language and marks *them* unreachable if it fails,
    which would be wrong for an account that is not (or no longer) theirs."""
    await outbox.enqueue(
        session,
        chat_id=chat_id,
        member_id=member_id,
        kind="binding",
        template=template,
        params={"office": office, **params},
        priority=Priority.personal,
        source_type=SOURCE if request_id is not None else "member",
        source_id=request_id,
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

    @property
    def ok(self) -> bool:
        return self.outcome in (Decision.confirmed, Decision.refused)


async def decide(
    session: AsyncSession,
    request_id: int,
    *,
    by_telegram_id: int,
    confirm: bool,
    now: datetime,
    office: str,
) -> DecideResult:
    """Confirm (move the binding) or refuse a pending request; the role of the account pressing
    the button is read here, from the database, not from what the button claimed."""
    decider = await session.scalar(
        select(Member).where(Member.telegram_user_id == by_telegram_id, Member.active)
    )
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
    actor = Actor(member_id=decider.id, telegram_id=by_telegram_id)
    if not confirm:
        await _close(session, request, BindingRequestStatus.refused, decider.id, now)
        await audit.record(
            session,
            actor,
            "member.move_refuse",
            object_type="member",
            object_id=member.id,
            request=request.id,
            telegram_id=request.telegram_user_id,
        )
        await _tell(session, request.chat_id, "binding.move_refused", request.id, office)
        return DecideResult(Decision.refused, request.id, member.name, request.status)
    elsewhere = await members.by_telegram_id(session, request.telegram_user_id)
    if elsewhere is not None and elsewhere.id != member.id:
        return DecideResult(Decision.requester_bound, request.id, member.name, request.status)
    old_telegram_id, old_chat_id = member.telegram_user_id, member.chat_id
    member.telegram_user_id = request.telegram_user_id
    member.chat_id = request.chat_id
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
        old_telegram_id=old_telegram_id,
        new_telegram_id=request.telegram_user_id,
    )
    await _tell(
        session,
        request.chat_id,
        "binding.move_confirmed",
        request.id,
        office,
        member_id=member.id,
        name=member.name,
    )
    if old_telegram_id is not None and old_telegram_id != request.telegram_user_id:
        # Whatever the old account was in the middle of belongs to nobody now.
        await dialogs.clear(session, old_telegram_id)
        if old_chat_id is not None:
            await _tell(session, old_chat_id, "binding.moved_away", request.id, office)
    await _supersede(session, member.id, request.id, decider.id, now, office)
    return DecideResult(Decision.confirmed, request.id, member.name, request.status)


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
    session: AsyncSession, member_id: int, kept: int, decider_id: int, now: datetime, office: str
) -> None:
    """Other accounts still asking for the same member are refused once one move is confirmed:
    a second confirmation would quietly take the binding away again."""
    others = await session.scalars(
        select(BindingRequest).where(
            BindingRequest.member_id == member_id,
            BindingRequest.status == BindingRequestStatus.pending,
            BindingRequest.id != kept,
        )
    )
    for other in list(others):
        await _close(session, other, BindingRequestStatus.refused, decider_id, now)
        await audit.record(
            session,
            Actor(member_id=decider_id),
            "member.move_refuse",
            object_type="member",
            object_id=member_id,
            request=other.id,
            telegram_id=other.telegram_user_id,
            superseded_by=kept,
        )
        await _tell(session, other.chat_id, "binding.move_refused", other.id, office)


# -- removing a binding ---------------------------------------------------------------------


class Unbind(enum.StrEnum):
    unbound = "unbound"
    not_bound = "not_bound"
    not_allowed = "not_allowed"  # only admins (and the command line)
    self = "self"  # an admin cannot cut off the account they are using


async def unbind(session: AsyncSession, member: Member, actor: Actor, *, office: str) -> Unbind:
    """Remove the member's binding; the account that held it is told. Admins only: the actor's
    role is read from the database (the command line, with no member or account, may)."""
    if actor.member_id is not None or actor.telegram_id is not None:
        by = await session.get(Member, actor.member_id) if actor.member_id is not None else None
        if by is None or not by.active or by.role is not Role.admin:
            return Unbind.not_allowed
        if by.id == member.id:
            return Unbind.self
    if member.telegram_user_id is None:
        return Unbind.not_bound
    old_telegram_id, old_chat_id = member.telegram_user_id, member.chat_id
    member.telegram_user_id = None
    member.chat_id = None
    member.bound_at = None
    await session.flush()
    await dialogs.clear(session, old_telegram_id)
    await audit.record(
        session,
        actor,
        "member.unbind",
        object_type="member",
        object_id=member.id,
        old_telegram_id=old_telegram_id,
    )
    if old_chat_id is not None:
        await _tell(session, old_chat_id, "binding.unbound", None, office)
    return Unbind.unbound
