"""Operations on members: who wrote (by their account), binding, invites, roles, language."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, String, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, identities
from storage.audit import Actor
from storage.dialogs import Dialog
from storage.identities import Account
from storage.models import DialogState, Identity, InviteCode, Member, Role, utcnow
from storage.phones import normalize_phone

if TYPE_CHECKING:
    from storage.bindings import BindingNews

INVITE_PREFIX = "inv_"
# How long an invite link works unless the caller says otherwise (INVITE_TTL_DAYS).
DEFAULT_INVITE_TTL = timedelta(days=7)


@dataclass(frozen=True)
class MemberRef:
    """A detached snapshot of a member, safe to keep after the session closes."""

    id: int
    name: str
    role: Role
    locale: str | None
    # The account they are seen through: the one that wrote, for a viewer.
    account: Account | None = None

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def actor(self) -> Actor:
        return Actor.of(self.id, self.account)

    @classmethod
    def of(cls, m: Member, account: Account | None = None) -> MemberRef:
        return cls(m.id, m.name, m.role, m.locale, account)


class BindOutcome(enum.StrEnum):
    bound = "bound"
    already_bound = "already_bound"  # this account was already bound to this member
    not_on_roster = "not_on_roster"
    bad_phone = "bad_phone"
    taken = "taken"  # the member is bound to another account on this channel
    other_member = "other_member"  # this account is bound to a different member
    invalid_code = "invalid_code"
    used_code = "used_code"
    expired_code = "expired_code"
    # Another account holds the binding: staff are asked to move it (storage.bindings).
    move_requested = "move_requested"
    move_pending = "move_pending"  # ... and this account has asked already; still waiting


@dataclass(frozen=True)
class BindResult:
    outcome: BindOutcome
    member: MemberRef | None = None
    request_id: int | None = None  # the binding request, for move_requested and move_pending
    news: tuple[BindingNews, ...] = ()  # who is to be told (staff, the bound account)

    @property
    def ok(self) -> bool:
        return self.outcome in (BindOutcome.bound, BindOutcome.already_bound)


async def by_account(session: AsyncSession, account: Account) -> MemberRef | None:
    """The active member this account belongs to."""
    member = await identities.member_of(session, account.channel, account.external_id)
    return MemberRef.of(member, account) if member else None


def _who_statement() -> Select[Any]:
    who = select(
        bindparam("channel", type_=String).label("channel"),
        bindparam("external_id", type_=String).label("external_id"),
    ).subquery()
    member = (Member.id, Member.name, Member.role, Member.locale)
    dialog = (DialogState.flow, DialogState.step, DialogState.data, DialogState.updated_at)
    account = and_(Identity.channel == who.c.channel, Identity.external_id == who.c.external_id)
    return (
        select(*member, *dialog)
        .select_from(who)
        .outerjoin(Identity, account)
        .outerjoin(Member, and_(Member.id == Identity.member_id, Member.active))
        .outerjoin(
            DialogState,
            and_(
                DialogState.channel == who.c.channel, DialogState.external_id == who.c.external_id
            ),
        )
    )


# Built once (see storage/updates.py: building costs about as much as running).
_WHO = _who_statement()


async def who(session: AsyncSession, account: Account) -> tuple[MemberRef | None, Dialog | None]:
    """The active member this account belongs to and its open dialog step, in one round trip:
    every update asks, so this is the busiest query the bot has."""
    row = (
        await session.execute(
            _WHO, {"channel": account.channel, "external_id": account.external_id}
        )
    ).first()
    if row is None:
        return None, None
    viewer = MemberRef(row.id, row.name, row.role, row.locale, account) if row.id else None
    open_dialog = (
        Dialog(row.flow, row.step, dict(row.data or {}), row.updated_at)
        if row.flow is not None
        else None
    )
    return viewer, open_dialog


async def get(session: AsyncSession, member_id: int) -> Member | None:
    return await session.get(Member, member_id)


async def find(session: AsyncSession, query: str) -> Member | None:
    """A member by roster id ("#12" or "12") or by phone number in any common format."""
    text = query.strip().lstrip("#")
    if text.isdigit() and len(text) < 9:
        return await session.get(Member, int(text))
    phone = normalize_phone(query)
    if phone is None:
        return None
    return await session.scalar(select(Member).where(Member.phone == phone))


async def _bind(session: AsyncSession, member: Member, account: Account, *, via: str) -> BindResult:
    """Bind the account to the member (audited, `via` contact or invite) unless it is bound
    to them already, to someone else, or the member to another account on its channel."""
    current_account = await identities.account_of(session, member.id, account.channel)
    if current_account is not None and current_account.external_id == account.external_id:
        await identities.readdress(session, account)
        return BindResult(BindOutcome.already_bound, MemberRef.of(member, account))
    # An account bound to someone else is told so before anything else: it must not use up an
    # invite link or ask staff to move another member's binding to it.
    current = await by_account(session, account)
    if current is not None:
        return BindResult(BindOutcome.other_member, current)
    if current_account is not None:
        return BindResult(BindOutcome.taken, MemberRef.of(member, current_account))
    now = utcnow()
    await identities.attach(session, member.id, account, now=now)
    member.bound_at = now
    member.reachable = True
    member.unreachable_reason = None
    await session.flush()
    await audit.record(
        session,
        Actor.of(member.id, account),
        "member.bind",
        object_type="member",
        object_id=member.id,
        via=via,
    )
    return BindResult(BindOutcome.bound, MemberRef.of(member, account))


async def bind_by_phone(session: AsyncSession, *, account: Account, phone: str) -> BindResult:
    """Bind the sender's account to the roster member with this (own) phone number."""
    normalized = normalize_phone(phone)
    if normalized is None:
        return BindResult(BindOutcome.bad_phone)
    member = await session.scalar(
        select(Member).where(Member.phone == normalized, Member.active).with_for_update()
    )
    if member is None:
        return BindResult(BindOutcome.not_on_roster)
    return await _bind(session, member, account, via="contact")


async def create_invite(
    session: AsyncSession, member_id: int, actor: Actor, *, now: datetime | None = None
) -> str:
    """A fresh one-time invite code (the deep-link payload) for one member; it expires a TTL
    after now (the bot passes its clock, so tests can move time)."""
    code = INVITE_PREFIX + secrets.token_urlsafe(12)
    session.add(InviteCode(code=code, member_id=member_id, created_at=now or utcnow()))
    await audit.record(session, actor, "member.invite", object_type="member", object_id=member_id)
    return code


async def redeem_invite(
    session: AsyncSession,
    *,
    code: str,
    account: Account,
    now: datetime | None = None,
    ttl: timedelta = DEFAULT_INVITE_TTL,
) -> BindResult:
    """Bind by invite code. A code works once, by one account, until created_at + ttl.

    The expiry is computed from the TTL in force now, not stored with the code: shortening
    INVITE_TTL_DAYS after a link leaked takes effect for links already handed out.
    Used and expired attempts are audited (someone holds a link they should not use).
    A fresh code for a member bound to another account is used up here and answered `taken`;
    storage.bindings turns that into a request for staff to confirm."""
    now = now or utcnow()
    invite = await session.get(InviteCode, code, with_for_update=True)
    if invite is None:
        return BindResult(BindOutcome.invalid_code)
    member = await session.get(Member, invite.member_id, with_for_update=True)
    if member is None or not member.active:
        return BindResult(BindOutcome.invalid_code)
    attempt = Actor.of(None, account)
    if invite.used_at is not None:
        # Its own account tapping the link again is harmless while the binding still stands;
        # after an unbind or a move the link is as spent as for anyone else.
        holder = await identities.account_of(session, member.id, account.channel)
        used_by = (invite.used_by_channel, invite.used_by_external_id)
        if used_by == account.key and holder is not None and holder.key == account.key:
            await identities.readdress(session, account)
            return BindResult(BindOutcome.already_bound, MemberRef.of(member, account))
        await audit.record(
            session, attempt, "member.invite_used", object_type="member", object_id=member.id
        )
        return BindResult(BindOutcome.used_code)
    if now >= invite.created_at + ttl:
        await audit.record(
            session, attempt, "member.invite_expired", object_type="member", object_id=member.id
        )
        return BindResult(BindOutcome.expired_code)
    result = await _bind(session, member, account, via="invite")
    if result.outcome in (BindOutcome.bound, BindOutcome.taken):
        # Mark used with a guarded update so two simultaneous redemptions cannot both win.
        claimed = await session.execute(
            update(InviteCode)
            .where(InviteCode.code == code, InviteCode.used_at.is_(None))
            .values(
                used_at=now,
                used_by_channel=account.channel,
                used_by_external_id=account.external_id,
            )
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            return BindResult(BindOutcome.used_code)
    return result


async def ensure_bootstrap_admin(
    session: AsyncSession, *, account: Account, name: str
) -> MemberRef:
    """An admin named in the settings: their member row, created on first contact if needed."""
    member = await identities.member_of(session, account.channel, account.external_id)
    if member is None:
        # A deactivated admin row is brought back rather than duplicated.
        member = await session.scalar(
            select(Member)
            .join(Identity, Identity.member_id == Member.id)
            .where(Identity.channel == account.channel, Identity.external_id == account.external_id)
        )
    if member is None:
        member = Member(name=name, role=Role.admin, bound_at=utcnow())
        session.add(member)
        await session.flush()
        await identities.attach(session, member.id, account)
    else:
        member.role = Role.admin
        member.active = True
        await identities.readdress(session, account)
    await session.flush()
    return MemberRef.of(member, account)


async def set_locale(session: AsyncSession, member_id: int, locale: str) -> None:
    await session.execute(update(Member).where(Member.id == member_id).values(locale=locale))


async def set_role(session: AsyncSession, member: Member, role: Role, actor: Actor) -> bool:
    """Change a member's role; False when it already was that role."""
    if member.role is role:
        return False
    previous = member.role
    member.role = role
    await audit.record(
        session,
        actor,
        "member.role",
        object_type="member",
        object_id=member.id,
        old=previous.value,
        new=role.value,
    )
    return True


async def mark_unreachable(session: AsyncSession, member_id: int, reason: str) -> None:
    await session.execute(
        update(Member)
        .where(Member.id == member_id)
        .values(reachable=False, unreachable_reason=reason[:200])
    )


async def mark_reachable(session: AsyncSession, member_id: int) -> None:
    await session.execute(
        update(Member)
        .where(Member.id == member_id, Member.reachable.is_(False))
        .values(reachable=True, unreachable_reason=None)
    )
