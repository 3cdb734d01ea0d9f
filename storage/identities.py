"""Identities: the accounts through which a member is reached, one per channel.

A channel ("telegram", a WeCom app, a test channel) names an account by its own id
(`external_id`) and says where to write to it (`address`: a Telegram chat id, a WeCom userid).
Storage treats both as opaque strings: it never knows what a channel is, only that an account
on it belongs to at most one member, and a member has at most one account per channel.

A member with accounts on several channels is written to on the one bound most recently (the
one they used to join last); `preferred` is that rule in SQL, so a bulk send reaches each member
once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Identity, Member, utcnow


@dataclass(frozen=True)
class Account:
    """An account on a channel: who wrote (external_id) and where to answer it (address)."""

    channel: str
    external_id: str
    address: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.channel, self.external_id)


@dataclass(frozen=True)
class Address:
    """Where a message goes: a channel and the address there."""

    channel: str
    address: str


def maybe(channel: str | None, address: str | None) -> Address | None:
    """An Address from an outer-joined identity's columns (None where there was none)."""
    return Address(channel, address) if channel is not None and address is not None else None


# The identity table again, for the "no newer identity of the same member" subquery.
_newer = aliased(Identity, name="newer_identity")


@functools.cache
def preferred(member_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """A join condition picking, for the member in column member_id, the identity to write to:
    the most recently bound (one row per member, so a send reaches each member once).

    Built once per column: every draft, list and notice asks, and building the expression
    costs more than running it."""
    latest = select(func.max(_newer.id)).where(_newer.member_id == member_id).scalar_subquery()
    return (Identity.member_id == member_id) & (Identity.id == latest)


_ADDRESS_OF = select(Identity.channel, Identity.address).where(
    preferred(bindparam("member_id", type_=Integer))
)


async def address_of(session: AsyncSession, member_id: int) -> Address | None:
    """Where to write to one member, or None when they are reached nowhere."""
    row = (await session.execute(_ADDRESS_OF, {"member_id": member_id})).first()
    return Address(row.channel, row.address) if row is not None else None


async def addresses_of(session: AsyncSession, member_ids: list[int]) -> dict[int, Address]:
    """Where to write to each of these members (those reached nowhere are left out)."""
    found: dict[int, Address] = {}
    for start in range(0, len(member_ids), 500):
        chunk = member_ids[start : start + 500]
        rows = await session.execute(
            select(Identity.member_id, Identity.channel, Identity.address).where(
                preferred(Identity.member_id), Identity.member_id.in_(chunk)
            )
        )
        found.update({row.member_id: Address(row.channel, row.address) for row in rows})
    return found


async def account_of(session: AsyncSession, member_id: int, channel: str) -> Account | None:
    """The member's account on one channel."""
    row = await session.scalar(
        select(Identity).where(Identity.member_id == member_id, Identity.channel == channel)
    )
    return Account(row.channel, row.external_id, row.address) if row is not None else None


async def accounts_of(session: AsyncSession, member_id: int) -> list[Account]:
    rows = await session.scalars(
        select(Identity).where(Identity.member_id == member_id).order_by(Identity.id)
    )
    return [Account(i.channel, i.external_id, i.address) for i in rows]


async def member_of(session: AsyncSession, channel: str, external_id: str) -> Member | None:
    """The active member this account belongs to."""
    return await session.scalar(
        select(Member)
        .join(Identity, Identity.member_id == Member.id)
        .where(Identity.channel == channel, Identity.external_id == external_id, Member.active)
    )


async def attach(
    session: AsyncSession, member_id: int, account: Account, *, now: datetime | None = None
) -> None:
    """Make account the member's account on its channel (replacing one they had there)."""
    await session.execute(
        delete(Identity).where(
            (Identity.member_id == member_id) & (Identity.channel == account.channel)
            | (Identity.channel == account.channel) & (Identity.external_id == account.external_id)
        )
    )
    session.add(
        Identity(
            member_id=member_id,
            channel=account.channel,
            external_id=account.external_id,
            address=account.address,
            bound_at=now or utcnow(),
        )
    )
    await session.flush()


async def readdress(session: AsyncSession, account: Account) -> None:
    """The account now writes from another address (a channel may change it): answer there."""
    identity = await session.scalar(
        select(Identity).where(
            Identity.channel == account.channel, Identity.external_id == account.external_id
        )
    )
    if identity is not None and identity.address != account.address:
        identity.address = account.address


async def detach(session: AsyncSession, member_id: int, channel: str) -> Account | None:
    """Remove the member's account on channel; the account it was, if any."""
    identity = await session.scalar(
        select(Identity).where(Identity.member_id == member_id, Identity.channel == channel)
    )
    if identity is None:
        return None
    account = Account(identity.channel, identity.external_id, identity.address)
    await session.delete(identity)
    await session.flush()
    return account


async def unreached_phones(session: AsyncSession, channel: str) -> list[tuple[int, str]]:
    """(member id, phone) of the active members with a phone and no account on channel: whom
    a channel that finds members by their mobile (WeCom) still has to look up."""
    has_account = (
        select(Identity.id)
        .where(Identity.member_id == Member.id, Identity.channel == channel)
        .exists()
    )
    rows = await session.execute(
        select(Member.id, Member.phone)
        .where(Member.active, Member.phone.is_not(None), ~has_account)
        .order_by(Member.id)
    )
    return [(row.id, row.phone) for row in rows if row.phone]
