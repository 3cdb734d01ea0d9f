"""The delivery outbox: one row per recipient of everything the bot sends in bulk."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigIntPK, UTCDateTime, utcnow


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    unreachable = "unreachable"
    cancelled = "cancelled"


class Priority(enum.IntEnum):
    """Lower goes first: a member's own status messages never wait behind a mass notice."""

    urgent = 0
    personal = 3
    normal = 5
    bulk = 8


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(30))
    priority: Mapped[int] = mapped_column(Integer, default=Priority.normal)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    # Where it goes: the channel ("telegram", ...) and the address there (a chat id, a userid).
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(64))
    # Either a locale key rendered in the recipient's language at send time, or raw text.
    template: Mapped[str | None] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str | None] = mapped_column(Text)
    # Rows of buttons: {"key"|"label", "params"?, "data"|"url"}.
    buttons: Mapped[list[list[dict[str, Any]]] | None] = mapped_column(JSON)
    # {"type": "photo"|"document", "path"?, "file_id"?, "filename"?}
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source_type: Mapped[str | None] = mapped_column(String(30))
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=12), default=DeliveryStatus.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the message may go; NULL means as soon as possible (so "now" never depends on whose
    # clock wrote the row). Retries and scheduled notices set it.
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(60))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # The channel's id of the message once sent (to edit or quote it later).
    sent_message_id: Mapped[str | None] = mapped_column(String(64))


Index("ix_outbox_due", OutboxMessage.status, OutboxMessage.priority, OutboxMessage.not_before)
Index("ix_outbox_source", OutboxMessage.source_type, OutboxMessage.source_id, OutboxMessage.status)
