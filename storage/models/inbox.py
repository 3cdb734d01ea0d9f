"""Updates kept from the moment they arrive until they were handled (see bot/inbox.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class InboxUpdate(Base):
    """An update fetched from Telegram (or posted to the webhook) and not yet fully handled."""

    __tablename__ = "inbox_update"
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelMessage(Base):
    """A message or event another channel (WeCom) posted, kept from arrival: its key
    de-duplicates the channel's retries (kept a while after handling for that), `claimed_at`
    says handling began (a restart replays only what was never begun)."""

    __tablename__ = "channel_message"
    __table_args__ = (UniqueConstraint("channel", "dedupe_key"),)
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ChannelChoice(Base):
    """The numbered choices last offered to an account on a channel without enough buttons
    ("回复 1 报名"): its reply "1" presses choices[0]."""

    __tablename__ = "channel_choice"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    choices: Mapped[list[str]] = mapped_column(JSON)  # encoded actions, in the offered order
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
