"""The roster: members, their sectors, committees and liaison points; invites; the audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Enum,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, BigIntPK, UTCDateTime, utcnow


class Role(enum.StrEnum):
    member = "member"
    staff = "staff"
    admin = "admin"

    @property
    def is_staff(self) -> bool:
        return self in (Role.staff, Role.admin)


class Sector(Base):
    """界别: the group a member represents."""

    __tablename__ = "sector"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Committee(Base):
    """专委会: a special committee."""

    __tablename__ = "committee"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class LiaisonPoint(Base):
    """委员联系点: a place where members meet the public."""

    __tablename__ = "liaison_point"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]


member_committee = Table(
    "member_committee",
    Base.metadata,
    Column("member_id", ForeignKey("member.id", ondelete="CASCADE"), primary_key=True),
    Column("committee_id", ForeignKey("committee.id", ondelete="CASCADE"), primary_key=True),
)


class Member(Base):
    """委员 (or staff): one row per person on the roster."""

    __tablename__ = "member"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sector.id"), index=True)
    liaison_point_id: Mapped[int | None] = mapped_column(ForeignKey("liaison_point.id"), index=True)
    organisation: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(10))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=10), default=Role.member
    )
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    sector: Mapped[Sector | None] = relationship(lazy="raise")
    liaison_point: Mapped[LiaisonPoint | None] = relationship(lazy="raise")
    committees: Mapped[list[Committee]] = relationship(
        secondary=member_committee, lazy="raise", order_by=Committee.name
    )


class Identity(Base):
    """How a member is reached on one channel: the account there (`external_id`: a Telegram
    user id, a WeCom userid) and where to write to it (`address`: the Telegram chat id, the
    WeCom userid). One per member and channel; an account belongs to one member."""

    __tablename__ = "identity"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_identity_channel"),
        UniqueConstraint("member_id", "channel", name="uq_identity_member_id"),
    )
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InviteCode(Base):
    """A one-time deep-link code that binds an account to one member."""

    __tablename__ = "invite_code"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_channel: Mapped[str | None] = mapped_column(String(20))
    used_by_external_id: Mapped[str | None] = mapped_column(String(64))


class BindingRequestStatus(enum.StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    refused = "refused"


class BindingRequest(Base):
    """Another account asks to take over a member's binding (a new phone, a lost
    account, a link someone else used first); it moves only when staff confirm."""

    __tablename__ = "binding_request"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    # The account asking, and where to answer it (it is nobody's binding yet).
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    # The account bound when it was asked, for the record (the binding may change meanwhile).
    old_external_id: Mapped[str | None] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(10))  # "invite" or "contact"
    status: Mapped[BindingRequestStatus] = mapped_column(
        Enum(BindingRequestStatus, native_enum=False, length=10),
        default=BindingRequestStatus.pending,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))


class AuditLog(Base):
    """Every staff action: who, what, on which object, when."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    actor_channel: Mapped[str | None] = mapped_column(String(20))
    actor_external_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(60))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DialogState(Base):
    """Where a user is in a multi-step conversation; survives restarts (text lives in drafts)."""

    __tablename__ = "dialog_state"
    # The account in conversation (a stranger binding has a dialog too, before any member).
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ProcessedUpdate(Base):
    """Update ids already handled, so a redelivered update has one effect."""

    __tablename__ = "processed_update"
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


Index("ix_member_name", Member.name)
Index("ix_binding_request_external_id", BindingRequest.channel, BindingRequest.external_id)
Index("ix_audit_log_object", AuditLog.object_type, AuditLog.object_id)
