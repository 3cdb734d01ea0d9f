"""What the report operations take and give back: the form's fields, the limits a draft must
respect, the outcomes, and the frozen snapshots that stay valid after the session closes."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from storage.identities import Address
from storage.models import ReportSource, ReportStatus

FIELDS = ("title", "category", "situation", "problem", "suggestions")
SECTIONS = ("situation", "problem", "suggestions")
TEXT_FIELDS = ("title", *SECTIONS)


class Outcome(enum.StrEnum):
    ok = "ok"
    empty = "empty"
    too_long = "too_long"
    not_found = "not_found"  # no such report, or not the viewer's to see or change
    not_editable = "not_editable"  # submitted and under review (or decided): no more edits
    stale = "stale"  # the button belongs to an older version of the draft
    incomplete = "incomplete"
    already_submitted = "already_submitted"
    bad_category = "bad_category"
    bad_file_type = "bad_file_type"
    file_too_big = "file_too_big"
    too_many_files = "too_many_files"
    has_draft = "has_draft"  # another draft is open; a member keeps one
    not_allowed = "not_allowed"  # this review step cannot follow the report's current status
    reason_required = "reason_required"
    self_coauthor = "self_coauthor"
    already_coauthor = "already_coauthor"
    too_many_coauthors = "too_many_coauthors"
    repeated = "repeated"  # the answer is already another field's text, word for word


@dataclass(frozen=True)
class Limits:
    """The configured limits a draft must respect."""

    title: int = 60
    section: int = 2000
    max_attachments: int = 6
    max_bytes: int = 10 * 1024 * 1024
    file_types: tuple[str, ...] = ("jpg", "jpeg", "png", "pdf", "doc", "docx", "txt")

    def for_field(self, name: str) -> int:
        return self.title if name == "title" else self.section

    def allows_type(self, kind: str, file_name: str) -> bool:
        """Photos and voice notes always; documents by extension."""
        if kind in ("photo", "voice"):
            return True
        if kind != "document":
            return False
        ext = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
        return ext in {t.lower().lstrip(".") for t in self.file_types}


@dataclass(frozen=True)
class AttachmentView:
    id: int
    kind: str
    file_name: str
    mime_type: str | None
    size: int
    path: str
    # The channel's own handle of the stored file (to show it again without uploading).
    file_ref: str | None


@dataclass(frozen=True)
class EventView:
    at: datetime
    action: str
    status: ReportStatus
    note: str | None
    instructed_by: str | None
    actor_name: str | None


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    sector: str | None = None


@dataclass(frozen=True)
class ReportView:
    """A whole report as it is now, with its files, co-authors and history."""

    id: int
    member_id: int
    author_name: str
    author_sector: str | None
    author_address: Address | None  # where the author is written to, if anywhere
    status: ReportStatus
    source: ReportSource
    title: str | None
    category: str | None
    situation: str | None
    problem: str | None
    suggestions: str | None
    revision: int
    receipt_no: str | None
    excellent: bool
    created_at: datetime
    submitted_at: datetime | None
    reviewed_at: datetime | None
    attachments: tuple[AttachmentView, ...] = ()
    coauthors: tuple[Person, ...] = ()
    events: tuple[EventView, ...] = ()

    def value(self, name: str) -> str | None:
        value: str | None = getattr(self, name)
        return value

    @property
    def missing(self) -> tuple[str, ...]:
        """The required fields not filled yet, in the order they are asked."""
        return tuple(name for name in FIELDS if not self.value(name))

    @property
    def is_draft(self) -> bool:
        return self.status is ReportStatus.draft

    @property
    def latest_feedback(self) -> EventView | None:
        """The newest history entry carrying staff text (feedback, reason, instruction)."""
        return next((e for e in reversed(self.events) if e.note), None)


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    report: ReportView | None = None
    field: str | None = None  # the field a length problem (or a repeated text) is about
    length: int = 0
    limit: int = 0
    event: EventView | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.ok
