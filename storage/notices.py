"""Notices: compose, choose recipients, queue (now or at a time), cancel, acknowledge, statistics.

Every operation runs in the caller's transaction and checks who may do it (staff compose and
see statistics; a member acknowledges only a notice that was sent to them). Nothing here knows
Telegram or texts: results are enums and dataclasses, messages are outbox rows with locale keys.
The callback data of acknowledgement buttons is supplied by the caller (`AckData`).
"""

from __future__ import annotations

import enum
import io
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, outbox
from storage.audit import Actor
from storage.members import MemberRef
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    Committee,
    DeliveryStatus,
    LiaisonPoint,
    Member,
    OutboxMessage,
    Priority,
    Sector,
    SignupStatus,
    member_committee,
)
from storage.models.notices import AckMode, AudienceKind, Notice, NoticeRecipient, NoticeStatus
from storage.outbox import Button, button
from storage.phones import normalize_phone

MAX_BODY_CHARS = 3800  # visible characters; the header keeps the message under Telegram's 4096
MAX_OPTIONS = 4
MAX_OPTION_CHARS = 20
MIN_OPTIONS = 2
SOURCE = "notice"
REMIND_SOURCE = "notice_remind"
SUMMARY_SOURCE = "notice_summary"
OPEN = (NoticeStatus.scheduled, NoticeStatus.sending)
UNSENT = (DeliveryStatus.pending, DeliveryStatus.sending)

# (notice id, option index) -> callback data of that acknowledgement button.
AckData = Callable[[int, int], str]


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


class AckOutcome(enum.StrEnum):
    recorded = "recorded"
    already = "already"
    not_recipient = "not_recipient"  # also: notice unknown, forged option, no receipt asked


class Category(enum.StrEnum):
    """Lists staff can open on a notice's statistics."""

    delivered = "delivered"
    acknowledged = "acknowledged"
    silent = "silent"  # delivered, not acknowledged
    unreachable = "unreachable"
    failed = "failed"
    waiting = "waiting"  # not sent yet


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
    progress_chat_id: int | None
    progress_message_id: int | None
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
            n.progress_chat_id,
            n.progress_message_id,
            n.reminders,
        )


@dataclass(frozen=True)
class Choice:
    """A sector, committee, liaison point or activity staff can pick."""

    id: int
    name: str
    when: datetime | None = None


@dataclass(frozen=True)
class AudienceCount:
    recipients: int  # bound to Telegram: will get the message
    not_bound: int  # on the roster and in the audience, not using the bot yet


@dataclass(frozen=True)
class PhoneMatch:
    member_ids: tuple[int, ...]
    unknown: tuple[str, ...]  # numbers (as written) not on the roster
    unreadable: int  # cells that did not look like a phone number at all


@dataclass(frozen=True)
class Stats:
    total: int
    delivered: int
    waiting: int
    failed: int
    unreachable: int
    cancelled: int
    acknowledged: int
    silent: int
    by_option: tuple[int, ...]

    @property
    def finished(self) -> bool:
        return self.waiting == 0


@dataclass(frozen=True)
class RecipientLine:
    member_id: int
    name: str
    phone: str | None
    sector: str | None
    delivery: DeliveryStatus | None
    sent_at: datetime | None
    error: str | None
    ack_option: int | None
    acked_at: datetime | None


@dataclass(frozen=True)
class ReceivedNotice:
    """A notice as one member received it."""

    notice: NoticeView
    sent_at: datetime | None
    ack_option: int | None
    acked_at: datetime | None


def _staff(actor: MemberRef | None) -> bool:
    return actor is not None and actor.is_staff


async def _notice(session: AsyncSession, notice_id: int, *, lock: bool = False) -> Notice | None:
    stmt = select(Notice).where(Notice.id == notice_id)
    if lock:
        stmt = stmt.with_for_update()
    notice: Notice | None = await session.scalar(stmt)
    return notice


async def _draft(session: AsyncSession, actor: MemberRef, notice_id: int) -> Notice | Problem:
    if not _staff(actor):
        return Problem.forbidden
    notice = await _notice(session, notice_id, lock=True)
    if notice is None:
        return Problem.not_found
    if notice.status is not NoticeStatus.draft or notice.author_id != actor.id:
        return Problem.not_draft
    return notice


# -- composing ----------------------------------------------------------------------------------


async def open_draft(session: AsyncSession, actor: MemberRef) -> NoticeView | Problem:
    """The author's unsent draft, or a new one."""
    if not _staff(actor):
        return Problem.forbidden
    notice = await session.scalar(
        select(Notice)
        .where(Notice.author_id == actor.id, Notice.status == NoticeStatus.draft)
        .order_by(Notice.id.desc())
        .limit(1)
    )
    if notice is None:
        notice = Notice(author_id=actor.id, status=NoticeStatus.draft, audience_ids=[])
        session.add(notice)
        await session.flush()
    return NoticeView.of(notice)


async def discard_draft(session: AsyncSession, actor: MemberRef, notice_id: int) -> Problem | None:
    notice = await _draft(session, actor, notice_id)
    if isinstance(notice, Problem):
        return notice
    await session.delete(notice)
    return None


async def start_over(session: AsyncSession, actor: MemberRef) -> NoticeView | Problem:
    """Throw away the author's draft (if any) and begin an empty one."""
    if not _staff(actor):
        return Problem.forbidden
    await session.execute(
        delete(Notice).where(Notice.author_id == actor.id, Notice.status == NoticeStatus.draft)
    )
    return await open_draft(session, actor)


async def set_body(
    session: AsyncSession,
    actor: MemberRef,
    notice_id: int,
    *,
    html: str,
    visible_length: int,
    attachment: dict[str, Any] | None = None,
) -> NoticeView | Problem:
    """The notice text (HTML from Telegram's formatting) and optional photo or file."""
    if visible_length > MAX_BODY_CHARS:
        return Problem.too_long
    if not html.strip() and attachment is None:
        return Problem.empty
    notice = await _draft(session, actor, notice_id)
    if isinstance(notice, Problem):
        return notice
    notice.body = html.strip()
    notice.attachment = attachment
    await session.flush()
    return NoticeView.of(notice)


async def choices(session: AsyncSession, kind: AudienceKind, *, limit: int = 60) -> list[Choice]:
    """What staff can pick for a kind of audience (activities: the most recent open ones)."""
    if kind is AudienceKind.activity:
        rows = await session.execute(
            select(Activity.id, Activity.title, Activity.starts_at)
            .where(Activity.status.in_((ActivityStatus.published, ActivityStatus.postponed)))
            .order_by(Activity.starts_at.desc(), Activity.id.desc())
            .limit(limit)
        )
        return [Choice(i, title, when) for i, title, when in rows]
    model = _NAMED.get(kind)
    if model is None:
        return []
    named = await session.execute(select(model.id, model.name).order_by(model.name).limit(limit))
    return [Choice(i, name) for i, name in named]


_PHONE_IN_TEXT = re.compile(r"\+?\d[\d\s\-()]{5,}\d")
LIST_SUFFIXES = (".xlsx", ".csv", ".txt")


class ListFileError(Exception):
    """The uploaded list could not be read at all."""


def phone_cells(data: bytes, filename: str) -> list[str]:
    """Every cell (xlsx) or line (csv, txt) of an uploaded list that might hold a phone number."""
    name = filename.lower()
    cells: list[str] = []
    if name.endswith(".xlsx"):
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise ListFileError(type(exc).__name__) from exc
        try:
            for sheet in workbook.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    cells.extend(_cell(value) for value in row if value is not None)
        finally:
            workbook.close()
    else:
        text = _decode(data)
        for line in text.splitlines():
            cells.extend(part for part in re.split(r"[,;\t]", line))
    out: list[str] = []
    for cell in (c.strip() for c in cells):
        if not cell:
            continue
        if normalize_phone(cell) is not None:
            out.append(cell)
            continue
        found = _PHONE_IN_TEXT.findall(cell)
        # A name or a header is not an error; only digit runs that fail to parse are.
        out.extend(found if found else ([cell] if any(ch.isdigit() for ch in cell) else []))
    return out


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16", "gb18030"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ListFileError("unknown text encoding")


_NAMED: dict[AudienceKind, type[Sector] | type[Committee] | type[LiaisonPoint]] = {
    AudienceKind.sectors: Sector,
    AudienceKind.committees: Committee,
    AudienceKind.points: LiaisonPoint,
}

_NAME_SPLIT = re.compile(r"[,，、;；\n]+")


async def ids_for_names(
    session: AsyncSession, kind: AudienceKind, text: str
) -> tuple[list[int], list[str]]:
    """Typed names ("经济界, 农业界") to ids; the second list holds names that do not exist."""
    model = _NAMED.get(kind)
    names = [n.strip() for n in _NAME_SPLIT.split(text) if n.strip()]
    if model is None or not names:
        return [], names
    rows = await session.execute(select(model.id, model.name).where(model.name.in_(names)))
    found = {name: i for i, name in rows}
    return [found[n] for n in dict.fromkeys(names) if n in found], [
        n for n in names if n not in found
    ]


async def match_phones(session: AsyncSession, values: Iterable[str]) -> PhoneMatch:
    """Roster members for the phone numbers of an uploaded list, in the order given."""
    wanted: dict[str, str] = {}
    unreadable = 0
    for raw in values:
        phone = normalize_phone(raw)
        if phone is None:
            unreadable += 1
        else:
            wanted.setdefault(phone, raw.strip())
    found: dict[str, int] = {}
    phones = list(wanted)
    for start in range(0, len(phones), 5000):
        rows = await session.execute(
            select(Member.phone, Member.id).where(
                Member.phone.in_(phones[start : start + 5000]), Member.active
            )
        )
        found.update({phone: member_id for phone, member_id in rows if phone})
    return PhoneMatch(
        tuple(found[p] for p in phones if p in found),
        tuple(raw for p, raw in wanted.items() if p not in found),
        unreadable,
    )


async def set_audience(
    session: AsyncSession,
    actor: MemberRef,
    notice_id: int,
    kind: AudienceKind,
    ids: Sequence[int] = (),
) -> NoticeView | Problem:
    """Who the notice goes to; ids are checked to exist (a forged id changes nothing)."""
    notice = await _draft(session, actor, notice_id)
    if isinstance(notice, Problem):
        return notice
    unique = list(dict.fromkeys(int(i) for i in ids))
    if kind is not AudienceKind.everyone and not unique:
        return Problem.no_audience
    if kind is AudienceKind.activity:
        if len(unique) != 1 or not await session.scalar(
            select(func.count()).select_from(Activity).where(Activity.id == unique[0])
        ):
            return Problem.bad_activity
    elif kind is AudienceKind.phones:
        known = await session.scalar(
            select(func.count()).select_from(Member).where(Member.id.in_(unique))
        )
        if known != len(unique):
            return Problem.unknown_names
    elif kind in _NAMED:
        model = _NAMED[kind]
        known = await session.scalar(
            select(func.count()).select_from(model).where(model.id.in_(unique))
        )
        if known != len(unique):
            return Problem.unknown_names
    notice.audience_kind = kind
    notice.audience_ids = unique if kind is not AudienceKind.everyone else []
    await session.flush()
    return NoticeView.of(notice)


async def toggle_audience(
    session: AsyncSession, actor: MemberRef, notice_id: int, kind: AudienceKind, ref_id: int
) -> NoticeView | Problem:
    """Add or remove one sector / committee / liaison point from the selection."""
    notice = await _draft(session, actor, notice_id)
    if isinstance(notice, Problem):
        return notice
    model = _NAMED.get(kind)
    if model is None or await session.get(model, ref_id) is None:
        return Problem.unknown_names
    current = list(notice.audience_ids or []) if notice.audience_kind is kind else []
    if ref_id in current:
        current.remove(ref_id)
    else:
        current.append(ref_id)
    notice.audience_kind = kind
    notice.audience_ids = current
    await session.flush()
    return NoticeView.of(notice)


def _audience_filter(kind: AudienceKind | None, ids: Sequence[int]) -> Any:
    """A WHERE clause on Member selecting the audience (active roster members only)."""
    base = Member.active.is_(True)
    if kind is AudienceKind.everyone:
        return base
    if kind is AudienceKind.sectors:
        return and_(base, Member.sector_id.in_(ids))
    if kind is AudienceKind.points:
        return and_(base, Member.liaison_point_id.in_(ids))
    if kind is AudienceKind.committees:
        return and_(
            base,
            Member.id.in_(
                select(member_committee.c.member_id).where(member_committee.c.committee_id.in_(ids))
            ),
        )
    if kind is AudienceKind.activity:
        return and_(
            base,
            Member.id.in_(
                select(ActivitySignup.member_id).where(
                    ActivitySignup.activity_id.in_(ids),
                    ActivitySignup.status.in_((SignupStatus.signed_up, SignupStatus.checked_in)),
                )
            ),
        )
    if kind is AudienceKind.phones:
        return and_(base, Member.id.in_(ids))
    return Member.id.is_(None)  # no audience chosen: nobody


async def count_audience(session: AsyncSession, notice_id: int) -> AudienceCount:
    notice = await _notice(session, notice_id)
    if notice is None:
        return AudienceCount(0, 0)
    where = _audience_filter(notice.audience_kind, list(notice.audience_ids or []))
    rows = await session.execute(
        select(Member.chat_id.is_not(None), func.count())
        .where(where)
        .group_by(Member.chat_id.is_not(None))
    )
    counts = {bool(bound): int(n) for bound, n in rows}
    return AudienceCount(counts.get(True, 0), counts.get(False, 0))


async def set_ack(
    session: AsyncSession,
    actor: MemberRef,
    notice_id: int,
    mode: AckMode,
    options: Sequence[str] = (),
) -> NoticeView | Problem:
    """No receipt, a "received" button, or 2-4 reply options written by staff."""
    notice = await _draft(session, actor, notice_id)
    if isinstance(notice, Problem):
        return notice
    cleaned = [o.strip() for o in options if o.strip()]
    if mode is AckMode.options:
        if len(cleaned) < MIN_OPTIONS:
            return Problem.too_few_options
        if len(cleaned) > MAX_OPTIONS:
            return Problem.too_many_options
        if any(len(o) > MAX_OPTION_CHARS for o in cleaned):
            return Problem.option_too_long
    notice.ack_mode = mode
    notice.ack_options = cleaned if mode is AckMode.options else []
    await session.flush()
    return NoticeView.of(notice)


def message_template(view: NoticeView, *, reminder: bool = False) -> str:
    if reminder:
        return "notices.reminder"
    return "notices.message_ack" if view.asks_ack else "notices.message"


def ack_buttons(view: NoticeView, ack_data: AckData) -> list[list[Button]]:
    """The reply buttons members get: "received", or one per staff-written option."""
    if view.ack_mode is AckMode.received:
        return [[button("notices.ack_button", ack_data(view.id, 0))]]
    if view.ack_mode is AckMode.options:
        return [
            [{"label": label, "data": ack_data(view.id, index)}]
            for index, label in enumerate(view.ack_options)
        ]
    return []


# -- sending ------------------------------------------------------------------------------------


async def queue(
    session: AsyncSession,
    actor: MemberRef,
    notice_id: int,
    *,
    now: datetime,
    ack_data: AckData,
    at: datetime | None = None,
) -> NoticeView | Problem:
    """Put one outbox row per recipient in the outbox (due at `at`, or now); the draft is final."""
    notice = await _draft(session, actor, notice_id)
    if isinstance(notice, Problem):
        return notice
    if not notice.body and notice.attachment is None:
        return Problem.empty
    if notice.audience_kind is None:
        return Problem.no_audience
    if at is not None and at <= now:
        return Problem.in_the_past
    where = _audience_filter(notice.audience_kind, list(notice.audience_ids or []))
    people = (
        await session.execute(
            select(Member.id, Member.chat_id)
            .where(where, Member.chat_id.is_not(None))
            .order_by(Member.id)
        )
    ).all()
    if not people:
        return Problem.no_recipients
    view = NoticeView.of(notice)
    buttons = ack_buttons(view, ack_data) or None
    template = message_template(view)
    params = {"body": outbox.formatted(notice.body)}
    rows = [
        {
            "kind": SOURCE,
            "priority": int(Priority.bulk),
            "member_id": member_id,
            "chat_id": chat_id,
            "template": template,
            "params": params,
            "buttons": buttons,
            "attachment": notice.attachment,
            "source_type": SOURCE,
            "source_id": notice.id,
            "not_before": at,
            "status": DeliveryStatus.pending,
            "attempts": 0,
            # The caller's clock: the outage horizon counts from here (or from `at`).
            "created_at": now,
        }
        for member_id, chat_id in people
    ]
    outbox_ids: dict[int, int] = {}
    for start in range(0, len(rows), 2000):
        result = await session.execute(
            insert(OutboxMessage).returning(OutboxMessage.id, OutboxMessage.member_id),
            rows[start : start + 2000],
        )
        outbox_ids.update({int(m or 0): row_id for row_id, m in result})
    recipients = [
        {"notice_id": notice.id, "member_id": member_id, "outbox_id": outbox_ids.get(member_id)}
        for member_id, _ in people
    ]
    for start in range(0, len(recipients), 2000):
        await session.execute(insert(NoticeRecipient), recipients[start : start + 2000])
    notice.status = NoticeStatus.scheduled if at is not None else NoticeStatus.sending
    notice.scheduled_at = at
    notice.queued_at = now
    notice.recipient_count = len(people)
    await audit.record(
        session,
        actor.actor,
        "notice.schedule" if at is not None else "notice.send",
        object_type="notice",
        object_id=notice.id,
        recipients=len(people),
        audience=notice.audience_kind.value,
        at=at.isoformat() if at else None,
    )
    await session.flush()
    return NoticeView.of(notice)


async def set_progress_message(
    session: AsyncSession, notice_id: int, chat_id: int, message_id: int
) -> None:
    await session.execute(
        update(Notice)
        .where(Notice.id == notice_id)
        .values(progress_chat_id=chat_id, progress_message_id=message_id)
    )


async def cancel(
    session: AsyncSession, actor: MemberRef, notice_id: int, *, now: datetime
) -> tuple[NoticeView, int] | Problem:
    """Stop a scheduled or half-sent notice: whatever is not sent yet is not sent."""
    if not _staff(actor):
        return Problem.forbidden
    notice = await _notice(session, notice_id, lock=True)
    if notice is None:
        return Problem.not_found
    if notice.status not in OPEN:
        return Problem.not_open
    # Rows a worker already holds are cancelled too: it checks before sending and drops them.
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.source_type.in_((SOURCE, REMIND_SOURCE)),
            OutboxMessage.source_id == notice.id,
            OutboxMessage.status.in_(UNSENT),
        )
        .values(status=DeliveryStatus.cancelled)
        .execution_options(synchronize_session=False)
    )
    stopped = int(result.rowcount)  # type: ignore[attr-defined]
    notice.status = NoticeStatus.cancelled
    notice.cancelled_at = now
    await audit.record(
        session,
        actor.actor,
        "notice.cancel",
        object_type="notice",
        object_id=notice.id,
        not_sent=stopped,
    )
    await session.flush()
    return NoticeView.of(notice), stopped


async def remind(
    session: AsyncSession,
    actor: MemberRef | None,
    notice_id: int,
    *,
    now: datetime,
    ack_data: AckData,
    not_before: datetime | None = None,
) -> int | Problem:
    """Send the notice again, as a reminder, to members who have not answered: those who got
    it, and those it failed to reach (Telegram unreachable past the horizon) — for them the
    reminder, which carries the whole text, is the notice.

    actor None is the scheduler's automatic re-remind (storage.reminders); anyone else must be
    staff. not_before holds the reminders back (quiet hours)."""
    if actor is not None and not _staff(actor):
        return Problem.forbidden
    notice = await _notice(session, notice_id, lock=True)
    if notice is None:
        return Problem.not_found
    if notice.ack_mode is AckMode.none:
        return Problem.no_ack
    if notice.status in (NoticeStatus.draft, NoticeStatus.cancelled):
        return Problem.not_open
    silent = (
        await session.execute(
            select(NoticeRecipient.id, Member.id, Member.chat_id)
            .join(Member, Member.id == NoticeRecipient.member_id)
            .join(OutboxMessage, OutboxMessage.id == NoticeRecipient.outbox_id)
            .where(
                NoticeRecipient.notice_id == notice.id,
                NoticeRecipient.acked_at.is_(None),
                OutboxMessage.status.in_((DeliveryStatus.sent, DeliveryStatus.failed)),
                Member.active.is_(True),
                Member.chat_id.is_not(None),
            )
        )
    ).all()
    if not silent:
        return Problem.nobody_silent
    view = NoticeView.of(notice)
    buttons = ack_buttons(view, ack_data)
    rows = [
        {
            "kind": REMIND_SOURCE,
            "priority": int(Priority.bulk),
            "member_id": member_id,
            "chat_id": chat_id,
            "template": message_template(view, reminder=True),
            "params": {"body": outbox.formatted(notice.body)},
            "buttons": buttons,
            "attachment": None,
            "source_type": REMIND_SOURCE,
            "source_id": notice.id,
            "not_before": not_before,
            "status": DeliveryStatus.pending,
            "attempts": 0,
            "created_at": now,
        }
        for _, member_id, chat_id in silent
    ]
    for start in range(0, len(rows), 2000):
        await session.execute(insert(OutboxMessage), rows[start : start + 2000])
    await session.execute(
        update(NoticeRecipient)
        .where(NoticeRecipient.id.in_([r for r, _, _ in silent]))
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    notice.reminders += 1
    await audit.record(
        session,
        actor.actor if actor is not None else Actor(),
        "notice.remind",
        object_type="notice",
        object_id=notice.id,
        recipients=len(silent),
    )
    return len(silent)


async def resend_failed(
    session: AsyncSession, actor: MemberRef, notice_id: int, *, now: datetime
) -> int | Problem:
    """Staff: put the notice's failed messages back in the queue, due now (a fresh horizon).

    Only rows that failed (never unreachable ones: the member blocked the bot), only for a
    notice that went out, and the rows are reused, so the statistics follow them."""
    if not _staff(actor):
        return Problem.forbidden
    notice = await _notice(session, notice_id, lock=True)
    if notice is None:
        return Problem.not_found
    if notice.status not in (NoticeStatus.sending, NoticeStatus.done):
        return Problem.not_open
    failed = select(NoticeRecipient.outbox_id).where(
        NoticeRecipient.notice_id == notice.id, NoticeRecipient.outbox_id.is_not(None)
    )
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(failed),
            OutboxMessage.source_type == SOURCE,
            OutboxMessage.source_id == notice.id,
            OutboxMessage.status == DeliveryStatus.failed,
        )
        .values(
            status=DeliveryStatus.pending,
            not_before=now,
            attempts=0,
            claimed_at=None,
            claimed_by=None,
        )
        .execution_options(synchronize_session=False)
    )
    n = int(result.rowcount)  # type: ignore[attr-defined]
    if not n:
        return Problem.nothing_failed
    await audit.record(
        session,
        actor.actor,
        "notice.resend_failed",
        object_type="notice",
        object_id=notice.id,
        recipients=n,
    )
    return n


# -- acknowledgement ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AckResult:
    outcome: AckOutcome
    notice: NoticeView | None = None
    option: int | None = None  # the answer on record
    at: datetime | None = None


async def acknowledge(
    session: AsyncSession, notice_id: int, member_id: int, option: int, *, now: datetime
) -> AckResult:
    """Record a member's answer once; a second press changes nothing and says what is on record."""
    notice = await _notice(session, notice_id)
    if notice is None or notice.ack_mode is AckMode.none:
        return AckResult(AckOutcome.not_recipient)
    if notice.status in (NoticeStatus.draft, NoticeStatus.scheduled):
        # Not sent to anyone yet: an answer can only come from forged button data.
        return AckResult(AckOutcome.not_recipient)
    view = NoticeView.of(notice)
    if not 0 <= option < view.option_count():
        return AckResult(AckOutcome.not_recipient, view)
    result = await session.execute(
        update(NoticeRecipient)
        .where(
            NoticeRecipient.notice_id == notice_id,
            NoticeRecipient.member_id == member_id,
            NoticeRecipient.acked_at.is_(None),
        )
        .values(ack_option=option, acked_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return AckResult(AckOutcome.recorded, view, option, now)
    earlier = (
        await session.execute(
            select(NoticeRecipient.ack_option, NoticeRecipient.acked_at).where(
                NoticeRecipient.notice_id == notice_id, NoticeRecipient.member_id == member_id
            )
        )
    ).first()
    if earlier is None:
        return AckResult(AckOutcome.not_recipient, view)
    return AckResult(AckOutcome.already, view, earlier[0], earlier[1])


async def answer(session: AsyncSession, notice_id: int, member_id: int) -> AckResult:
    """What a member answered to a notice (outcome `already`), if anything."""
    row = (
        await session.execute(
            select(Notice, NoticeRecipient.ack_option, NoticeRecipient.acked_at)
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .where(Notice.id == notice_id, NoticeRecipient.member_id == member_id)
        )
    ).first()
    if row is None or row[2] is None:
        return AckResult(AckOutcome.not_recipient)
    return AckResult(AckOutcome.already, NoticeView.of(row[0]), row[1], row[2])


# -- reading ------------------------------------------------------------------------------------


async def get(session: AsyncSession, actor: MemberRef, notice_id: int) -> NoticeView | Problem:
    if not _staff(actor):
        return Problem.forbidden
    notice = await _notice(session, notice_id)
    return NoticeView.of(notice) if notice is not None else Problem.not_found


async def recent(session: AsyncSession, actor: MemberRef, *, limit: int = 10) -> list[NoticeView]:
    """The latest notices that were sent or scheduled (staff only; members get [])."""
    if not _staff(actor):
        return []
    rows = await session.scalars(
        select(Notice)
        .where(Notice.status != NoticeStatus.draft)
        .order_by(Notice.id.desc())
        .limit(limit)
    )
    return [NoticeView.of(n) for n in rows]


def _delivery_join() -> Any:
    return OutboxMessage.id == NoticeRecipient.outbox_id


async def stats(session: AsyncSession, notice_id: int) -> Stats:
    rows = await session.execute(
        select(OutboxMessage.status, NoticeRecipient.ack_option, func.count())
        .select_from(NoticeRecipient)
        .outerjoin(OutboxMessage, _delivery_join())
        .where(NoticeRecipient.notice_id == notice_id)
        .group_by(OutboxMessage.status, NoticeRecipient.ack_option)
    )
    delivery: Counter[DeliveryStatus | None] = Counter()
    options: Counter[int] = Counter()
    silent = 0
    total = 0
    for status, option, n in rows:
        total += n
        delivery[status] += n
        if option is not None:
            options[option] += n
        elif status is DeliveryStatus.sent:
            silent += n
    notice = await _notice(session, notice_id)
    width = NoticeView.of(notice).option_count() if notice else 1
    return Stats(
        total=total,
        delivered=delivery[DeliveryStatus.sent],
        waiting=delivery[DeliveryStatus.pending] + delivery[DeliveryStatus.sending],
        failed=delivery[DeliveryStatus.failed],
        unreachable=delivery[DeliveryStatus.unreachable],
        cancelled=delivery[DeliveryStatus.cancelled],
        acknowledged=sum(options.values()),
        silent=silent,
        by_option=tuple(options[i] for i in range(width)),
    )


_CATEGORY_FILTERS: dict[Category, Any] = {
    Category.delivered: OutboxMessage.status == DeliveryStatus.sent,
    Category.acknowledged: NoticeRecipient.acked_at.is_not(None),
    Category.silent: and_(
        OutboxMessage.status == DeliveryStatus.sent, NoticeRecipient.acked_at.is_(None)
    ),
    Category.unreachable: OutboxMessage.status == DeliveryStatus.unreachable,
    Category.failed: OutboxMessage.status == DeliveryStatus.failed,
    Category.waiting: or_(OutboxMessage.status.in_(UNSENT), OutboxMessage.id.is_(None)),
}


async def recipients(
    session: AsyncSession, notice_id: int, category: Category | None = None
) -> list[RecipientLine]:
    """Recipients of a notice with their delivery and answer, ordered by name."""
    stmt = (
        select(
            Member.id,
            Member.name,
            Member.phone,
            Sector.name,
            OutboxMessage.status,
            OutboxMessage.sent_at,
            OutboxMessage.last_error,
            NoticeRecipient.ack_option,
            NoticeRecipient.acked_at,
        )
        .select_from(NoticeRecipient)
        .join(Member, Member.id == NoticeRecipient.member_id)
        .outerjoin(Sector, Sector.id == Member.sector_id)
        .outerjoin(OutboxMessage, _delivery_join())
        .where(NoticeRecipient.notice_id == notice_id)
        .order_by(Member.name, Member.id)
    )
    if category is not None:
        stmt = stmt.where(_CATEGORY_FILTERS[category])
    return [RecipientLine(*row) for row in await session.execute(stmt)]


async def received_by(
    session: AsyncSession, member_id: int, *, limit: int = 10
) -> list[ReceivedNotice]:
    """The notices a member received, newest first (for "my notices")."""
    rows = await session.execute(
        select(Notice, OutboxMessage.sent_at, NoticeRecipient.ack_option, NoticeRecipient.acked_at)
        .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .join(OutboxMessage, _delivery_join())
        .where(
            NoticeRecipient.member_id == member_id,
            OutboxMessage.status == DeliveryStatus.sent,
        )
        .order_by(OutboxMessage.sent_at.desc(), Notice.id.desc())
        .limit(limit)
    )
    return [ReceivedNotice(NoticeView.of(n), at, opt, acked) for n, at, opt, acked in rows]


async def received_one(
    session: AsyncSession, member_id: int, notice_id: int
) -> ReceivedNotice | None:
    """One notice as this member received it; None if it was never delivered to them."""
    for item in await received_by_ids(session, member_id, [notice_id]):
        return item
    return None


async def received_by_ids(
    session: AsyncSession, member_id: int, notice_ids: Collection[int]
) -> list[ReceivedNotice]:
    rows = await session.execute(
        select(Notice, OutboxMessage.sent_at, NoticeRecipient.ack_option, NoticeRecipient.acked_at)
        .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .join(OutboxMessage, _delivery_join())
        .where(
            NoticeRecipient.member_id == member_id,
            Notice.id.in_(list(notice_ids)),
            OutboxMessage.status == DeliveryStatus.sent,
        )
    )
    return [ReceivedNotice(NoticeView.of(n), at, opt, acked) for n, at, opt, acked in rows]


# -- progress (the bot's progress service) ----------------------------------------------------


@dataclass(frozen=True)
class Progress:
    notice: NoticeView
    author_locale: str | None
    author_chat_id: int | None
    counts: dict[DeliveryStatus, int]

    @property
    def done(self) -> int:
        return sum(
            self.counts.get(s, 0)
            for s in (DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.unreachable)
        )

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(s, 0) for s in UNSENT)


async def in_progress(session: AsyncSession, *, now: datetime) -> list[Progress]:
    """Notices being sent (a scheduled one becomes `sending` once its time has come)."""
    await session.execute(
        update(Notice)
        .where(Notice.status == NoticeStatus.scheduled, Notice.scheduled_at <= now)
        .values(status=NoticeStatus.sending)
        .execution_options(synchronize_session=False)
    )
    notices = list(
        await session.scalars(select(Notice).where(Notice.status == NoticeStatus.sending))
    )
    if not notices:
        return []
    ids = [n.id for n in notices]
    rows = await session.execute(
        select(OutboxMessage.source_id, OutboxMessage.status, func.count())
        .where(OutboxMessage.source_type == SOURCE, OutboxMessage.source_id.in_(ids))
        .group_by(OutboxMessage.source_id, OutboxMessage.status)
    )
    counts: dict[int, dict[DeliveryStatus, int]] = {i: {} for i in ids}
    for source_id, status, n in rows:
        counts[int(source_id or 0)][status] = int(n)
    authors = {
        member_id: (locale, chat_id)
        for member_id, locale, chat_id in await session.execute(
            select(Member.id, Member.locale, Member.chat_id).where(
                Member.id.in_([n.author_id for n in notices if n.author_id is not None])
            )
        )
    }
    out = []
    for notice in notices:
        locale, chat_id = authors.get(notice.author_id or 0, (None, None))
        out.append(Progress(NoticeView.of(notice), locale, chat_id, counts[notice.id]))
    return out


async def finish(
    session: AsyncSession,
    notice_id: int,
    *,
    now: datetime,
    summary_buttons: Sequence[Sequence[Button]] = (),
) -> Stats | None:
    """Mark a notice whose rows are all settled as done and queue the summary for its author.

    Guarded on the status, so two bot processes cannot both send the summary.
    """
    result = await session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.status == NoticeStatus.sending)
        .values(status=NoticeStatus.done, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    notice = await _notice(session, notice_id)
    assert notice is not None
    summary = await stats(session, notice_id)
    author = await session.get(Member, notice.author_id) if notice.author_id else None
    if author is not None and author.chat_id is not None:
        await outbox.enqueue(
            session,
            chat_id=author.chat_id,
            member_id=author.id,
            kind=SUMMARY_SOURCE,
            template="notices.summary",
            params={
                "id": notice.id,
                "total": summary.total,
                "delivered": summary.delivered,
                "failed": summary.failed,
                "unreachable": summary.unreachable,
            },
            buttons=summary_buttons,
            priority=Priority.personal,
            source_type=SUMMARY_SOURCE,
            source_id=notice.id,
            dedupe_key=f"notice-summary:{notice.id}",
        )
    return summary
