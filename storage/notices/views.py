"""What the notice operations give back and share: why an operation changed nothing
(Problem), the snapshot of a notice (NoticeView), and how its outbox rows are marked."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import identities
from storage.identities import Address
from storage.models import DeliveryStatus
from storage.models.notices import AckMode, AudienceKind, Notice, NoticeStatus
from storage.outbox import Message

SOURCE = "notice"
REMIND_SOURCE = "notice_remind"
SUMMARY_SOURCE = "notice_summary"
OPEN = (NoticeStatus.scheduled, NoticeStatus.sending)
UNSENT = (DeliveryStatus.pending, DeliveryStatus.sending)


class Problem(enum.StrEnum):
    """Why an operation changed nothing; each has a text in notices.toml (error_<name>)."""

    forbidden = "forbidden"
    not_found = "not_found"
    not_draft = "not_draft"
    empty = "empty"
    too_long = "too_long"
    no_audience = "no_audience"
    no_recipients = "no_recipients"
    unknown_names = "unknown_names"
    too_few_options = "too_few_options"
    too_many_options = "too_many_options"
    option_too_long = "option_too_long"
    in_the_past = "in_the_past"
    not_open = "not_open"
    no_ack = "no_ack"
    nobody_silent = "nobody_silent"
    nothing_failed = "nothing_failed"
    bad_activity = "bad_activity"


@dataclass(frozen=True)
class NoticeView:
    id: int
    status: NoticeStatus
    author_id: int | None
    body: str
    attachment: dict[str, Any] | None
    audience_kind: AudienceKind | None
    audience_ids: tuple[int, ...]
    ack_mode: AckMode
    ack_options: tuple[str, ...]
    scheduled_at: datetime | None
    created_at: datetime
    queued_at: datetime | None
    finished_at: datetime | None
    recipient_count: int
    # Where the author's progress message is, on its channel (None until it is sent).
    progress_at: Address | None
    progress_message_id: str | None
    reminders: int

    @property
    def asks_ack(self) -> bool:
        return self.ack_mode is not AckMode.none

    def option_count(self) -> int:
        return len(self.ack_options) if self.ack_mode is AckMode.options else 1

    @classmethod
    def of(cls, n: Notice) -> NoticeView:
        return cls(
            n.id,
            n.status,
            n.author_id,
            n.body,
            n.attachment,
            n.audience_kind,
            tuple(n.audience_ids or ()),
            n.ack_mode,
            tuple(n.ack_options or ()),
            n.scheduled_at,
            n.created_at,
            n.queued_at,
            n.finished_at,
            n.recipient_count,
            identities.maybe(n.progress_channel, n.progress_address),
            n.progress_message_id,
            n.reminders,
        )


# The message members get for a notice, as the caller composes it (its text key, the body, the
# acknowledgement buttons): storage fans it out to the recipients and knows no texts.
Compose = Callable[[NoticeView], Message]
