"""Notices (通知) staff send to members, their recipients and acknowledgements (回执)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
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


class NoticeStatus(enum.StrEnum):
    draft = "draft"  # being composed; only its author sees it
    scheduled = "scheduled"  # in the outbox, waiting for its time
    sending = "sending"
    done = "done"  # nothing left to send; the summary went to the author
    cancelled = "cancelled"


class AckMode(enum.StrEnum):
    none = "none"
    received = "received"  # one "received / 收到" button
    options = "options"  # staff-written reply options, e.g. attend / cannot attend


class AudienceKind(enum.StrEnum):
    everyone = "everyone"
    sectors = "sectors"
    committees = "committees"
    points = "points"  # liaison points
    activity = "activity"  # members signed up for one activity
    phones = "phones"  # a list uploaded as a file


class Notice(Base):
    """One notice: its text and attachment, who it goes to, and how far delivery got."""

    __tablename__ = "notice"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    status: Mapped[NoticeStatus] = mapped_column(
        Enum(NoticeStatus, native_enum=False, length=12), default=NoticeStatus.draft
    )
    # HTML as Telegram produced it from the staff member's formatting.
    body: Mapped[str] = mapped_column(Text, default="")
    # {"type": "photo"|"document", "file_id": ..., "filename"?: ...}
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    audience_kind: Mapped[AudienceKind | None] = mapped_column(
        Enum(AudienceKind, native_enum=False, length=12)
    )
    # Ids of sectors / committees / points / the activity, or the matched member ids of a list.
    audience_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    ack_mode: Mapped[AckMode] = mapped_column(
        Enum(AckMode, native_enum=False, length=10), default=AckMode.none
    )
    ack_options: Mapped[list[str]] = mapped_column(JSON, default=list)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    # The author's progress message, edited as delivery goes on: where it was sent (channel,
    # address) and the channel's id of it.
    progress_channel: Mapped[str | None] = mapped_column(String(20))
    progress_address: Mapped[str | None] = mapped_column(String(64))
    progress_message_id: Mapped[str | None] = mapped_column(String(64))
    reminders: Mapped[int] = mapped_column(Integer, default=0)


class NoticeRecipient(Base):
    """One member a notice went to, and their acknowledgement (recorded once)."""

    __tablename__ = "notice_recipient"
    __table_args__ = (UniqueConstraint("notice_id", "member_id"),)
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    # The delivery row of the notice itself (reminders have their own rows).
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="SET NULL")
    )
    ack_option: Mapped[int | None] = mapped_column(Integer)  # 0 = "received", else option index
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_notice_status", Notice.status, Notice.created_at)
Index("ix_notice_recipient_ack", NoticeRecipient.notice_id, NoticeRecipient.acked_at)
