"""Operations on opinion reports: drafts, submission with receipt numbers, review, search.

Every rule lives here, inside the caller's transaction: one open draft per member, length and
attachment limits, who may see or change a report, which review step may follow which, and
gap-free receipt numbers per year. Nothing here knows Telegram or texts; results are enums and
frozen snapshots that stay valid after the session closes.
"""

from __future__ import annotations

import contextlib
import enum
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.audit import Actor
from storage.control_chars import without_control_chars
from storage.db import upsert_insert
from storage.models import (
    Member,
    Report,
    ReportAttachment,
    ReportCoauthor,
    ReportCounter,
    ReportEvent,
    ReportSource,
    ReportStatus,
    Sector,
)

RECEIPT_PREFIX = "SQ"
FIELDS = ("title", "category", "situation", "problem", "suggestions")
SECTIONS = ("situation", "problem", "suggestions")
TEXT_FIELDS = ("title", *SECTIONS)
ATTACHMENT_KINDS = ("photo", "document", "voice")
MAX_COAUTHORS = 10
MAX_NOTE_CHARS = 2000
MAX_INSTRUCTED_BY_CHARS = 100


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


class ReviewAction(enum.StrEnum):
    adopt = "adopt"
    forward = "forward"
    instruct = "instruct"
    return_ = "return"
    excellent = "excellent"  # toggles the mark for the annual awards; the status stays


# Which review step may follow which status. Adopted reports are often forwarded up, and a
# forwarded one may get (several) leader instructions; only a fresh submission goes back.
ALLOWED: dict[ReviewAction, frozenset[ReportStatus]] = {
    ReviewAction.adopt: frozenset({ReportStatus.submitted}),
    ReviewAction.forward: frozenset({ReportStatus.submitted, ReportStatus.adopted}),
    ReviewAction.instruct: frozenset(
        {
            ReportStatus.submitted,
            ReportStatus.adopted,
            ReportStatus.forwarded,
            ReportStatus.instructed,
        }
    ),
    ReviewAction.return_: frozenset({ReportStatus.submitted}),
    ReviewAction.excellent: frozenset(
        {
            ReportStatus.submitted,
            ReportStatus.adopted,
            ReportStatus.forwarded,
            ReportStatus.instructed,
        }
    ),
}
NEW_STATUS = {
    ReviewAction.adopt: ReportStatus.adopted,
    ReviewAction.forward: ReportStatus.forwarded,
    ReviewAction.instruct: ReportStatus.instructed,
    ReviewAction.return_: ReportStatus.returned,
}


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
    telegram_file_id: str | None


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
    author_chat_id: int | None
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


@dataclass(frozen=True)
class Summary:
    """One line of a list of reports."""

    id: int
    receipt_no: str | None
    title: str | None
    category: str | None
    status: ReportStatus
    excellent: bool
    submitted_at: datetime | None
    author_name: str
    coauthored: bool = False  # listed for a co-author, not the author


@dataclass(frozen=True)
class Page:
    items: tuple[Summary, ...]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


@dataclass(frozen=True)
class ReportFilter:
    """Staff search; every given criterion must match. Times are UTC."""

    status: ReportStatus | None = None
    category: str | None = None
    submitted_from: datetime | None = None
    submitted_before: datetime | None = None
    member_id: int | None = None  # author or co-author
    sector_id: int | None = None  # the author's sector


@dataclass
class _Names:
    by_id: dict[int, tuple[str, str | None, int | None]] = field(default_factory=dict)

    def name(self, member_id: int | None) -> str | None:
        entry = self.by_id.get(member_id) if member_id is not None else None
        return entry[0] if entry else None


# -- texts ----------------------------------------------------------------------------------


def clean_text(text: str | None, limit: int, *, single_line: bool = False) -> Result:
    """Strip and check one answer; Result.report stays None, the cleaned text is in .field."""
    # Control characters (Word's soft line break...) mean nothing here and break the exports.
    value = without_control_chars(text or "").replace("\r\n", "\n").strip()
    if single_line:
        value = " ".join(value.split())
    if not value:
        return Result(Outcome.empty)
    if len(value) > limit:
        return Result(Outcome.too_long, length=len(value), limit=limit)
    return Result(Outcome.ok, field=value)


_LABELS = {
    "title": ("标题", "题目", "title"),
    "situation": ("基本情况", "情况", "situation", "background"),
    "problem": ("存在问题", "问题", "problems", "problem"),
    "suggestions": ("意见建议", "对策建议", "建议", "suggestions", "suggestion"),
}
_LABEL_RE = re.compile(
    r"^\s*(?:[一二三四五1-5][、.．)）]\s*)?(?P<label>"
    + "|".join(re.escape(label) for labels in _LABELS.values() for label in labels)
    + r")\s*[:：]\s*(?P<rest>.*)$",
    re.IGNORECASE,
)


def parse_quick_text(text: str, *, title_max: int, guess_title: bool) -> dict[str, str]:
    """Fill what a free message can fill: labelled parts ("标题：", "存在问题：" ...) go to their
    field; unlabelled text is the situation, with a short first line as title when wanted."""
    lines = without_control_chars(text or "").replace("\r\n", "\n").strip().split("\n")
    label_of = {label.lower(): name for name, labels in _LABELS.items() for label in labels}
    parts: dict[str, list[str]] = {}
    preamble: list[str] = []
    current: str | None = None
    for line in lines:
        match = _LABEL_RE.match(line)
        if match:
            current = label_of[match.group("label").lower()]
            parts.setdefault(current, [])
            if match.group("rest").strip():
                parts[current].append(match.group("rest").strip())
        elif current is None:
            preamble.append(line)
        else:
            parts[current].append(line)
    result = {name: "\n".join(chunk).strip() for name, chunk in parts.items()}
    loose = [line for line in preamble if line.strip()]
    if loose:
        first = loose[0].strip()
        if guess_title and "title" not in result and len(first) <= title_max and len(loose) > 1:
            result["title"] = first
            loose = loose[1:]
        elif guess_title and "title" not in result and len(first) <= title_max and parts:
            # A short line in front of labelled sections reads as the title.
            result["title"] = first
            loose = []
        if loose:
            body = "\n".join(loose).strip()
            before = result.get("situation")
            result["situation"] = f"{body}\n{before}" if before else body
    if "title" in result:
        result["title"] = " ".join(result["title"].split())
    return {name: value for name, value in result.items() if value}


# -- loading ----------------------------------------------------------------------------------


async def _names(session: AsyncSession, ids: Iterable[int | None]) -> _Names:
    wanted = {i for i in ids if i is not None}
    names = _Names()
    if not wanted:
        return names
    rows = await session.execute(
        select(Member.id, Member.name, Sector.name, Member.chat_id)
        .outerjoin(Sector, Member.sector_id == Sector.id)
        .where(Member.id.in_(wanted))
    )
    for member_id, name, sector, chat_id in rows:
        names.by_id[member_id] = (name, sector, chat_id)
    return names


def _people_of(report: Report) -> list[int | None]:
    ids: list[int | None] = [report.member_id]
    ids += [c.member_id for c in report.coauthors]
    ids += [e.actor_member_id for e in report.events]
    return ids


async def _view(session: AsyncSession, report: Report, names: _Names | None = None) -> ReportView:
    if names is None:
        names = await _names(session, _people_of(report))
    author = names.by_id.get(report.member_id, ("?", None, None))
    return ReportView(
        id=report.id,
        member_id=report.member_id,
        author_name=author[0],
        author_sector=author[1],
        author_chat_id=author[2],
        status=report.status,
        source=report.source,
        title=report.title,
        category=report.category,
        situation=report.situation,
        problem=report.problem,
        suggestions=report.suggestions,
        revision=report.revision,
        receipt_no=report.receipt_no,
        excellent=report.excellent,
        created_at=report.created_at,
        submitted_at=report.submitted_at,
        reviewed_at=report.reviewed_at,
        attachments=tuple(
            AttachmentView(
                a.id, a.kind, a.file_name, a.mime_type, a.size, a.path, a.telegram_file_id
            )
            for a in report.attachments
        ),
        coauthors=tuple(
            Person(c.member_id, names.name(c.member_id) or "?", names.by_id[c.member_id][1])
            for c in report.coauthors
            if c.member_id in names.by_id
        ),
        events=tuple(
            EventView(
                e.at, e.action, e.status, e.note, e.instructed_by, names.name(e.actor_member_id)
            )
            for e in report.events
        ),
    )


async def _row(session: AsyncSession, report_id: int, *, lock: bool = False) -> Report | None:
    stmt = select(Report).where(Report.id == report_id)
    if lock:
        stmt = stmt.with_for_update()
    report: Report | None = await session.scalar(stmt)
    return report


async def _draft_row(session: AsyncSession, member_id: int) -> Report | None:
    report: Report | None = await session.scalar(
        select(Report).where(Report.draft_owner_id == member_id).with_for_update()
    )
    return report


async def _refresh(session: AsyncSession, report: Report) -> ReportView:
    """The view after a change: flush, then reload the collections the change touched."""
    await session.flush()
    await session.refresh(report, ["attachments", "coauthors", "events"])
    return await _view(session, report)


async def _saved(session: AsyncSession, report: Report) -> ReportView:
    """The view after a change to the report's own fields: its collections, loaded with it,
    are still current (a reload would cost four queries on every answer a member types)."""
    await session.flush()
    return await _view(session, report)


# -- drafts -----------------------------------------------------------------------------------


async def open_draft(session: AsyncSession, member_id: int) -> ReportView | None:
    """The member's open draft, if any."""
    report = await _draft_row(session, member_id)
    return await _view(session, report) if report else None


async def ensure_draft(
    session: AsyncSession, member_id: int, source: ReportSource = ReportSource.guided
) -> ReportView:
    """The member's open draft, created empty when there is none."""
    return await _view(session, await _ensure_row(session, member_id, source))


async def _ensure_row(session: AsyncSession, member_id: int, source: ReportSource) -> Report:
    report = await _draft_row(session, member_id)
    if report is None:
        report = Report(
            member_id=member_id,
            draft_owner_id=member_id,
            status=ReportStatus.draft,
            source=source,
            revision=0,
            excellent=False,
            # Empty collections, so they count as loaded and never lazy-load in async code.
            attachments=[],
            coauthors=[],
            events=[],
        )
        session.add(report)
        await session.flush()
    return report


async def save_text(
    session: AsyncSession,
    member_id: int,
    name: str,
    text: str | None,
    limits: Limits,
    *,
    allow_repeat: bool = True,
) -> Result:
    """Save one answer to the member's draft (created on the first answer).

    allow_repeat=False: an empty field is not filled with text another field already holds
    word for word; Outcome.repeated names that field instead. That is the trace of a resent
    answer: the bot moved to the next question and stopped before asking it (a crash), so
    the member, seeing no question, sent the last answer again."""
    if name not in TEXT_FIELDS:
        raise ValueError(f"not a text field: {name}")
    checked = clean_text(text, limits.for_field(name), single_line=name == "title")
    if not checked.ok:
        return Result(checked.outcome, field=name, length=checked.length, limit=checked.limit)
    report = await _ensure_row(session, member_id, ReportSource.guided)
    if not allow_repeat and not getattr(report, name):
        for other in TEXT_FIELDS:
            if other != name and getattr(report, other) == checked.field:
                return Result(Outcome.repeated, field=other)
    setattr(report, name, checked.field)
    report.revision += 1
    return Result(Outcome.ok, await _saved(session, report), field=name)


async def save_category(
    session: AsyncSession, member_id: int, category: str, categories: Sequence[str]
) -> Result:
    if category not in categories:
        return Result(Outcome.bad_category)
    report = await _ensure_row(session, member_id, ReportSource.guided)
    report.category = category
    report.revision += 1
    return Result(Outcome.ok, await _saved(session, report), field="category")


async def merge_quick(session: AsyncSession, member_id: int, text: str, limits: Limits) -> Result:
    """Put a free message into the member's draft (a new quick draft when none is open).

    Empty fields are filled; text for a field that already has some is added below it, so
    nothing the member wrote is overwritten. Too long: nothing changes.
    """
    report = await _draft_row(session, member_id)
    guess_title = report is None or not report.title
    parts = parse_quick_text(text, title_max=limits.title, guess_title=guess_title)
    merged: dict[str, str] = {}
    for name, value in parts.items():
        current = getattr(report, name) if report is not None else None
        if name == "title" or not current:
            merged[name] = value
        else:
            merged[name] = f"{current}\n{value}"
    for name, value in merged.items():
        if len(value) > limits.for_field(name):
            return Result(
                Outcome.too_long, field=name, length=len(value), limit=limits.for_field(name)
            )
    if report is None:
        report = await _ensure_row(session, member_id, ReportSource.quick)
    for name, value in merged.items():
        setattr(report, name, value)
    report.revision += 1
    return Result(Outcome.ok, await _saved(session, report))


async def discard(
    session: AsyncSession, member_id: int, report_id: int
) -> tuple[Result, list[str]]:
    """Throw the open draft away; returns the stored file paths to delete.

    A draft that is the revision of a returned report is not deleted: it goes back to
    "returned" with the member's edits kept, and can be revised again.
    """
    report = await _draft_row(session, member_id)
    if report is None or report.id != report_id:
        return Result(Outcome.not_found), []
    if report.receipt_no is not None:
        report.status = ReportStatus.returned
        report.draft_owner_id = None
        report.revision += 1
        return Result(Outcome.ok, await _refresh(session, report)), []
    paths = [a.path for a in report.attachments]
    await session.delete(report)
    await session.flush()
    return Result(Outcome.ok), paths


async def revise(session: AsyncSession, member_id: int, report_id: int) -> Result:
    """Reopen a returned report as the author's draft, to change and submit again."""
    report = await _row(session, report_id, lock=True)
    if report is None or report.member_id != member_id:
        return Result(Outcome.not_found)
    if report.status is ReportStatus.draft and report.draft_owner_id == member_id:
        return Result(Outcome.ok, await _view(session, report))
    if report.status is not ReportStatus.returned:
        return Result(Outcome.not_editable, await _view(session, report))
    other = await _draft_row(session, member_id)
    if other is not None:
        return Result(Outcome.has_draft, await _view(session, other))
    report.status = ReportStatus.draft
    report.draft_owner_id = member_id
    report.revision += 1
    return Result(Outcome.ok, await _refresh(session, report))


async def editable_draft(session: AsyncSession, member_id: int, report_id: int) -> Result:
    """Whether this report may still be edited by this member (it is their open draft)."""
    report = await _row(session, report_id)
    if report is None or report.member_id != member_id:
        return Result(Outcome.not_found)
    if report.status is not ReportStatus.draft or report.draft_owner_id != member_id:
        return Result(Outcome.not_editable, await _view(session, report))
    return Result(Outcome.ok, await _view(session, report))


# -- attachments ------------------------------------------------------------------------------


def attachment_path(report_id: int, file_name: str) -> str:
    """A fresh path, relative to the data folder, for a file of this report."""
    safe = re.sub(r"[^\w.\-]+", "_", Path(file_name).name, flags=re.UNICODE).strip("._")
    return f"reports/{report_id}/{uuid.uuid4().hex[:12]}_{safe[-80:] or 'file'}"


def write_file(data_dir: Path, relative: str, data: bytes) -> None:
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def remove_files(data_dir: Path, relatives: Iterable[str]) -> None:
    for relative in relatives:
        target = data_dir / relative
        target.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            target.parent.rmdir()  # only when empty


async def add_attachment(
    session: AsyncSession,
    member_id: int,
    report_id: int,
    *,
    kind: str,
    file_name: str,
    mime_type: str | None,
    size: int,
    path: str,
    telegram_file_id: str | None,
    limits: Limits,
) -> Result:
    """Attach a stored file to the member's open draft, within the type, size and count limits."""
    report = await _draft_row(session, member_id)
    if report is None or report.id != report_id:
        return Result(Outcome.not_found)
    if kind not in ATTACHMENT_KINDS or not limits.allows_type(kind, file_name):
        return Result(Outcome.bad_file_type)
    if size > limits.max_bytes:
        return Result(Outcome.file_too_big, length=size, limit=limits.max_bytes)
    if len(report.attachments) >= limits.max_attachments:
        return Result(Outcome.too_many_files, limit=limits.max_attachments)
    report.attachments.append(
        ReportAttachment(
            kind=kind,
            file_name=file_name[:200],
            mime_type=mime_type,
            size=size,
            path=path,
            telegram_file_id=telegram_file_id,
        )
    )
    report.revision += 1
    return Result(Outcome.ok, await _refresh(session, report))


async def clear_attachments(session: AsyncSession, member_id: int) -> tuple[Result, list[str]]:
    """Remove every attachment of the open draft; returns the file paths to delete."""
    report = await _draft_row(session, member_id)
    if report is None:
        return Result(Outcome.not_found), []
    paths = [a.path for a in report.attachments]
    report.attachments.clear()
    report.revision += 1
    return Result(Outcome.ok, await _refresh(session, report)), paths


# -- co-authors -------------------------------------------------------------------------------


async def find_members(
    session: AsyncSession, query: str, *, exclude: int | None = None, limit: int = 8
) -> list[Person]:
    """Active members whose name contains the query (or with this phone / #id)."""
    text = query.strip()
    if not text:
        return []
    condition: ColumnElement[bool] = Member.name.contains(text, autoescape=True)
    digits = text.lstrip("#")
    if digits.isdigit() and len(digits) < 9:
        condition = or_(condition, Member.id == int(digits))
    stmt = (
        select(Member.id, Member.name, Sector.name)
        .outerjoin(Sector, Member.sector_id == Sector.id)
        .where(condition, Member.active)
        .order_by(Member.name, Member.id)
        .limit(limit)
    )
    if exclude is not None:
        stmt = stmt.where(Member.id != exclude)
    return [Person(i, name, sector) for i, name, sector in await session.execute(stmt)]


async def add_coauthor(
    session: AsyncSession, member_id: int, report_id: int, coauthor_id: int
) -> Result:
    report = await _draft_row(session, member_id)
    if report is None or report.id != report_id:
        return Result(Outcome.not_found)
    if coauthor_id == member_id:
        return Result(Outcome.self_coauthor)
    other = await session.scalar(select(Member.id).where(Member.id == coauthor_id, Member.active))
    if other is None:
        return Result(Outcome.not_found)
    if any(c.member_id == coauthor_id for c in report.coauthors):
        return Result(Outcome.already_coauthor, await _view(session, report))
    if len(report.coauthors) >= MAX_COAUTHORS:
        return Result(Outcome.too_many_coauthors, limit=MAX_COAUTHORS)
    report.coauthors.append(ReportCoauthor(member_id=coauthor_id))
    report.revision += 1
    return Result(Outcome.ok, await _refresh(session, report))


async def remove_coauthor(
    session: AsyncSession, member_id: int, report_id: int, coauthor_id: int
) -> Result:
    report = await _draft_row(session, member_id)
    if report is None or report.id != report_id:
        return Result(Outcome.not_found)
    kept = [c for c in report.coauthors if c.member_id != coauthor_id]
    if len(kept) != len(report.coauthors):
        report.coauthors[:] = kept
        report.revision += 1
    return Result(Outcome.ok, await _refresh(session, report))


# -- submission -------------------------------------------------------------------------------


def receipt_number(year: int, seq: int) -> str:
    return f"{RECEIPT_PREFIX}-{year}-{seq:06d}"


async def _next_seq(session: AsyncSession, year: int) -> int:
    """Take the next number of the year. The counter row is locked by the UPDATE until the
    submitting transaction ends, so concurrent submissions queue here and a rolled-back one
    gives its number back: no gaps, no duplicates (PostgreSQL and SQLite alike)."""
    await session.execute(
        upsert_insert(session)(ReportCounter)
        .values(year=year, last=0)
        .on_conflict_do_nothing(index_elements=["year"])
    )
    seq = await session.scalar(
        update(ReportCounter)
        .where(ReportCounter.year == year)
        .values(last=ReportCounter.last + 1)
        .returning(ReportCounter.last)
    )
    assert seq is not None
    return int(seq)


async def submit(
    session: AsyncSession,
    member_id: int,
    report_id: int,
    *,
    revision: int | None,
    now: datetime,
    tz: ZoneInfo,
) -> Result:
    """Submit the member's draft: a receipt number (kept when a returned report comes back).

    Confirming twice gives already_submitted with the same report; a confirm button from an
    older preview (another revision) gives stale and changes nothing.
    """
    report = await _row(session, report_id, lock=True)
    if report is None or report.member_id != member_id:
        return Result(Outcome.not_found)
    if report.status is not ReportStatus.draft:
        if report.status is ReportStatus.returned:
            return Result(Outcome.not_editable, await _view(session, report))
        return Result(Outcome.already_submitted, await _view(session, report))
    if revision is not None and report.revision != revision:
        return Result(Outcome.stale, await _view(session, report))
    view = await _view(session, report)
    if view.missing:
        return Result(Outcome.incomplete, view)
    action = "resubmitted"
    if report.receipt_no is None:
        year = now.astimezone(tz).year
        seq = await _next_seq(session, year)
        report.receipt_year, report.receipt_seq = year, seq
        report.receipt_no = receipt_number(year, seq)
        action = "submitted"
    report.status = ReportStatus.submitted
    report.draft_owner_id = None
    report.submitted_at = now
    report.revision += 1
    report.events.append(
        ReportEvent(at=now, action=action, status=ReportStatus.submitted, actor_member_id=member_id)
    )
    return Result(Outcome.ok, await _refresh(session, report))


# -- the member's own reports -----------------------------------------------------------------


def _visible_to(member_id: int) -> ColumnElement[bool]:
    coauthored = select(ReportCoauthor.report_id).where(ReportCoauthor.member_id == member_id)
    return or_(Report.member_id == member_id, Report.id.in_(coauthored))


async def list_mine(session: AsyncSession, member_id: int, page: int, size: int) -> Page:
    """Submitted reports the member wrote or co-wrote, newest first."""
    where = and_(Report.status != ReportStatus.draft, _visible_to(member_id))
    return await _page(session, where, page, size, viewer=member_id)


async def get_visible(session: AsyncSession, member_id: int, report_id: int) -> ReportView | None:
    """A report as its author (or a co-author, once submitted) may see it; else None."""
    report = await _row(session, report_id)
    if report is None:
        return None
    if report.member_id == member_id:
        return await _view(session, report)
    if report.status is ReportStatus.draft:
        return None
    if any(c.member_id == member_id for c in report.coauthors):
        return await _view(session, report)
    return None


async def _page(
    session: AsyncSession,
    where: ColumnElement[bool],
    page: int,
    size: int,
    *,
    viewer: int | None = None,
) -> Page:
    total = int(await session.scalar(select(func.count(Report.id)).where(where)) or 0)
    pages = max(1, -(-total // size))
    page = min(max(page, 0), pages - 1)
    rows = await session.execute(
        select(Report, Member.name)
        .join(Member, Member.id == Report.member_id)
        .where(where)
        .order_by(Report.submitted_at.desc(), Report.id.desc())
        .offset(page * size)
        .limit(size)
    )
    items = tuple(
        Summary(
            id=r.id,
            receipt_no=r.receipt_no,
            title=r.title,
            category=r.category,
            status=r.status,
            excellent=r.excellent,
            submitted_at=r.submitted_at,
            author_name=name,
            coauthored=viewer is not None and r.member_id != viewer,
        )
        for r, name in rows
    )
    return Page(items, total, page, size)


# -- staff ------------------------------------------------------------------------------------


async def get(session: AsyncSession, report_id: int) -> ReportView | None:
    """A submitted report for staff; drafts are private to their author."""
    report = await _row(session, report_id)
    if report is None or report.status is ReportStatus.draft:
        return None
    return await _view(session, report)


async def by_receipt(session: AsyncSession, receipt_no: str) -> ReportView | None:
    report = await session.scalar(
        select(Report).where(Report.receipt_no == receipt_no.strip().upper())
    )
    if report is None or report.status is ReportStatus.draft:
        return None
    return await _view(session, report)


async def queue_count(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count(Report.id)).where(Report.status == ReportStatus.submitted)
        )
        or 0
    )


async def next_in_queue(session: AsyncSession, after: int | None = None) -> ReportView | None:
    """The oldest report waiting for review; with after, the one queued after that report."""
    stmt = select(Report).where(Report.status == ReportStatus.submitted)
    if after is not None:
        current = await session.get(Report, after)
        if current is not None and current.submitted_at is not None:
            stmt = stmt.where(
                or_(
                    Report.submitted_at > current.submitted_at,
                    and_(Report.submitted_at == current.submitted_at, Report.id > current.id),
                )
            )
    report = await session.scalar(stmt.order_by(Report.submitted_at, Report.id).limit(1))
    return await _view(session, report) if report else None


async def review(
    session: AsyncSession,
    actor: Actor,
    report_id: int,
    action: ReviewAction,
    *,
    note: str | None,
    instructed_by: str | None = None,
    now: datetime,
) -> Result:
    """One review decision, recorded in the history and the audit log.

    Return needs a reason; an instruction needs its text and who gave it. A step that cannot
    follow the current status (e.g. adopting twice) changes nothing.
    """
    report = await _row(session, report_id, lock=True)
    if report is None or report.status is ReportStatus.draft:
        return Result(Outcome.not_found)
    if report.status not in ALLOWED[action]:
        return Result(Outcome.not_allowed, await _view(session, report))
    cleaned_note: str | None = None
    if note is not None and note.strip():
        checked = clean_text(note, MAX_NOTE_CHARS)
        if not checked.ok:
            return Result(checked.outcome, length=checked.length, limit=checked.limit)
        cleaned_note = checked.field
    who: str | None = None
    if action is ReviewAction.return_ and cleaned_note is None:
        return Result(Outcome.reason_required)
    if action is ReviewAction.instruct:
        if cleaned_note is None:
            return Result(Outcome.empty, field="note")
        by = clean_text(instructed_by, MAX_INSTRUCTED_BY_CHARS, single_line=True)
        if not by.ok:
            return Result(by.outcome, field="instructed_by", length=by.length, limit=by.limit)
        who = by.field
    old_status = report.status
    if action is ReviewAction.excellent:
        report.excellent = not report.excellent
        event_action = "excellent" if report.excellent else "unexcellent"
    else:
        report.status = NEW_STATUS[action]
        event_action = action.value
    report.reviewed_at = now
    report.revision += 1
    event = ReportEvent(
        at=now,
        action=event_action,
        status=report.status,
        actor_member_id=actor.member_id,
        note=cleaned_note,
        instructed_by=who,
    )
    report.events.append(event)
    await audit.record(
        session,
        actor,
        f"report.{event_action}",
        object_type="report",
        object_id=report.id,
        old=old_status.value,
        new=report.status.value,
        note=cleaned_note,
        instructed_by=who,
    )
    view = await _refresh(session, report)
    return Result(Outcome.ok, view, event=view.events[-1])


def _filtered(flt: ReportFilter) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [Report.status != ReportStatus.draft]
    if flt.status is not None:
        conditions.append(Report.status == flt.status)
    if flt.category is not None:
        conditions.append(Report.category == flt.category)
    if flt.submitted_from is not None:
        conditions.append(Report.submitted_at >= flt.submitted_from)
    if flt.submitted_before is not None:
        conditions.append(Report.submitted_at < flt.submitted_before)
    if flt.member_id is not None:
        conditions.append(_visible_to(flt.member_id))
    if flt.sector_id is not None:
        authors = select(Member.id).where(Member.sector_id == flt.sector_id)
        conditions.append(Report.member_id.in_(authors))
    return and_(*conditions)


async def search(session: AsyncSession, flt: ReportFilter, page: int, size: int) -> Page:
    return await _page(session, _filtered(flt), page, size)


async def export(
    session: AsyncSession, flt: ReportFilter, *, limit: int = 10_000
) -> list[ReportView]:
    """Every report matching the filter, whole, oldest first (for the xlsx and documents)."""
    stmt = (
        select(Report).where(_filtered(flt)).order_by(Report.submitted_at, Report.id).limit(limit)
    )
    rows = list(await session.scalars(stmt))
    # One name lookup for the whole export instead of one per report.
    names = await _names(session, [i for report in rows for i in _people_of(report)])
    return [await _view(session, report, names) for report in rows]


async def find_sector(session: AsyncSession, name: str) -> Person | None:
    """A sector by exact name, or the only one whose name contains the text."""
    text = name.strip()
    if not text:
        return None
    exact = await session.execute(select(Sector.id, Sector.name).where(Sector.name == text))
    row = exact.first()
    if row is None:
        rows = (
            await session.execute(
                select(Sector.id, Sector.name)
                .where(Sector.name.contains(text, autoescape=True))
                .limit(2)
            )
        ).all()
        row = rows[0] if len(rows) == 1 else None
    return Person(row[0], row[1]) if row else None


async def sector(session: AsyncSession, sector_id: int) -> Person | None:
    row = (
        await session.execute(select(Sector.id, Sector.name).where(Sector.id == sector_id))
    ).first()
    return Person(row[0], row[1]) if row else None


async def person(session: AsyncSession, member_id: int) -> Person | None:
    row = (
        await session.execute(
            select(Member.id, Member.name, Sector.name)
            .outerjoin(Sector, Member.sector_id == Sector.id)
            .where(Member.id == member_id)
        )
    ).first()
    return Person(row[0], row[1], row[2]) if row else None
