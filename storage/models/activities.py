"""Activities (活动): what staff publish, who is invited, and every member's sign-up row.

Statuses are explicit strings so later features (reminders, the duty record) can read them:
an activity is draft / published / postponed / cancelled; a sign-up is signed_up / waiting /
cancelled / leave / checked_in, with a timestamp for each change.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigIntPK, UTCDateTime, utcnow


class ActivityType(enum.StrEnum):
    visit = "visit"  # 走进政协
    service_day = "service_day"  # 委员在行动
    micro_consultation = "micro_consultation"  # 微协商
    training = "training"  # 异地学习培训
    inspection = "inspection"  # 视察调研
    meeting = "meeting"  # 专题协商会


class ActivityStatus(enum.StrEnum):
    draft = "draft"  # being written by staff; invisible to members
    published = "published"
    postponed = "postponed"  # published, moved to a new time; still open
    cancelled = "cancelled"


class SignupStatus(enum.StrEnum):
    signed_up = "signed_up"
    waiting = "waiting"
    cancelled = "cancelled"
    leave = "leave"  # asked for leave, with a reason
    checked_in = "checked_in"  # attended


class TargetKind(enum.StrEnum):
    everyone = "everyone"
    sector = "sector"
    committee = "committee"
    liaison_point = "liaison_point"
    member = "member"


class CheckinMethod(enum.StrEnum):
    code = "code"
    location = "location"


class Activity(Base):
    """One event members sign up for."""

    __tablename__ = "activity"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    type: Mapped[ActivityType] = mapped_column(Enum(ActivityType, native_enum=False, length=20))
    status: Mapped[ActivityStatus] = mapped_column(
        Enum(ActivityStatus, native_enum=False, length=12), default=ActivityStatus.draft
    )
    title: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # Drafts may lack times; publishing requires both.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: sign-up stays open until the start.
    signup_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200), default="")
    liaison_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("liaison_point.id", ondelete="SET NULL"), index=True
    )
    # Venue coordinates for check-in by location (copied from the liaison point when chosen).
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    capacity: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    reply_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last tap-order position handed out; bumped under the activity's row lock.
    last_position: Mapped[int] = mapped_column(Integer, default=0)
    checkin_code: Mapped[str | None] = mapped_column(String(12))
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    # Activities imported from one spreadsheet share a batch, so they can be published together.
    import_batch: Mapped[str | None] = mapped_column(String(24), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    postponed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ActivityTarget(Base):
    """One rule of who is invited: everyone, or one sector / committee / liaison point / member."""

    __tablename__ = "activity_target"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[TargetKind] = mapped_column(Enum(TargetKind, native_enum=False, length=16))
    ref_id: Mapped[int | None] = mapped_column(BigInteger)  # sector/committee/point/member id


class ActivitySignup(Base):
    """One member's standing for one activity; the row is kept and re-used, never deleted."""

    __tablename__ = "activity_signup"
    __table_args__ = (UniqueConstraint("activity_id", "member_id"),)
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    status: Mapped[SignupStatus] = mapped_column(Enum(SignupStatus, native_enum=False, length=12))
    # Tap order: the order the sign-up transactions committed (a fresh one on each sign-up).
    position: Mapped[int | None] = mapped_column(Integer)
    signed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leave_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leave_reason: Mapped[str | None] = mapped_column(String(300))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkin_method: Mapped[CheckinMethod | None] = mapped_column(
        Enum(CheckinMethod, native_enum=False, length=10)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


Index("ix_activity_status_start", Activity.status, Activity.starts_at)
Index(
    "ix_activity_signup_queue",
    ActivitySignup.activity_id,
    ActivitySignup.status,
    ActivitySignup.position,
)
