"""Updates that could not be parsed, kept aside so they never block the ones behind them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigIntPK, UTCDateTime, utcnow


class QuarantinedUpdate(Base):
    """One incoming update a channel library could not turn into an object: its raw text and
    the error, for an admin to look at (`cppcc-bot updates quarantine`) and drop."""

    __tablename__ = "quarantined_update"
    __table_args__ = (UniqueConstraint("channel", "update_id"),)
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # "telegram" today; a second channel quarantines its own malformed messages here too.
    channel: Mapped[str] = mapped_column(String(16))
    # The channel's id for the update when it had one (redeliveries are kept once).
    update_id: Mapped[int | None] = mapped_column(BigInteger)
    # What the update seemed to be ("message", "poll", ...): logged instead of the payload.
    kind: Mapped[str] = mapped_column(String(64))
    raw: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
