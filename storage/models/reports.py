"""Opinion reports (社情民意信息): drafts and submitted reports, files, co-authors, history."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, BigIntPK, UTCDateTime, utcnow


class ReportStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"  # waiting for review
    adopted = "adopted"  # 采用
    forwarded = "forwarded"  # 报送
    instructed = "instructed"  # 批示
    returned = "returned"  # 退回, for the author to revise


class ReportSource(enum.StrEnum):
    guided = "guided"  # step by step from the menu
    quick = "quick"  # started from one free message


class Report(Base):
    """One report, from the first answer of its draft to its last review decision."""

    __tablename__ = "report"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    # The author's member id while this row is their open draft, else NULL: the unique index
    # makes "one open draft per member" a database fact, not just a check.
    draft_owner_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    status: Mapped[ReportStatus] = mapped_column(
        Enum(ReportStatus, native_enum=False, length=12), default=ReportStatus.draft
    )
    source: Mapped[ReportSource] = mapped_column(
        Enum(ReportSource, native_enum=False, length=8), default=ReportSource.guided
    )
    title: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(60))
    situation: Mapped[str | None] = mapped_column(Text)
    problem: Mapped[str | None] = mapped_column(Text)
    suggestions: Mapped[str | None] = mapped_column(Text)
    # Bumped by every change to the draft, so a button on an older preview is recognised.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    receipt_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    receipt_year: Mapped[int | None] = mapped_column(Integer)
    receipt_seq: Mapped[int | None] = mapped_column(Integer)
    excellent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attachments: Mapped[list[ReportAttachment]] = relationship(
        lazy="selectin", order_by="ReportAttachment.id", cascade="all, delete-orphan"
    )
    coauthors: Mapped[list[ReportCoauthor]] = relationship(
        lazy="selectin", order_by="ReportCoauthor.added_at", cascade="all, delete-orphan"
    )
    events: Mapped[list[ReportEvent]] = relationship(
        lazy="selectin", order_by="ReportEvent.id", cascade="all, delete-orphan"
    )


class ReportAttachment(Base):
    """A photo, document or voice note, downloaded and stored under DATA_DIR."""

    __tablename__ = "report_attachment"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # photo | document | voice
    file_name: Mapped[str] = mapped_column(String(200))
    mime_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    # Relative to DATA_DIR, so the data folder can move.
    path: Mapped[str] = mapped_column(String(300))
    # The channel's own handle of the file (Telegram's file_id), to show it again without
    # uploading; the stored copy is the record.
    file_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportCoauthor(Base):
    """A member the author named as co-author; the report counts on their duty record too."""

    __tablename__ = "report_coauthor"
    report_id: Mapped[int] = mapped_column(
        ForeignKey("report.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportEvent(Base):
    """One line of a report's history: submission, each review decision, excellent marks."""

    __tablename__ = "report_event"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(20))
    status: Mapped[ReportStatus] = mapped_column(Enum(ReportStatus, native_enum=False, length=12))
    actor_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL")
    )
    # What staff wrote: feedback, the reason for a return, or the leader's instruction.
    note: Mapped[str | None] = mapped_column(Text)
    # Who gave an instruction (批示人), as staff typed it.
    instructed_by: Mapped[str | None] = mapped_column(String(100))


class ReportCounter(Base):
    """The last receipt sequence number of each year; bumped inside the submitting transaction."""

    __tablename__ = "report_counter"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


Index("ix_report_status_submitted", Report.status, Report.submitted_at)
