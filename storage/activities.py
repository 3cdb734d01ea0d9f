"""Activities: drafts and publishing, who is invited, sign-up with capacity and a waiting list,
leave, check-in, and the messages each change sends.

Every operation runs in the caller's transaction and enforces its own rules; nothing here knows
Telegram or texts (outcomes are enums, messages are outbox rows with locale keys).

Places: every operation that changes who holds a place first locks the activity row
(PostgreSQL: SELECT ... FOR UPDATE; SQLite: the transaction began with BEGIN IMMEDIATE). Counting
the places taken, handing out the next tap-order position and promoting the first waiting
member therefore happen one transaction at a time per activity: a burst of simultaneous taps
cannot overbook, and a freed place is given to exactly one waiting member.
"""

from __future__ import annotations

import enum
import math
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any, Generic, TypeVar

from sqlalchemy import Integer, Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, outbox, reminders
from storage.audit import Actor
from storage.invitations import (
    INVITES,
    Profile,
    invitation_parameters,
    invites,
    member_invited,
    profile_of,
)
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    Committee,
    LiaisonPoint,
    Member,
    Priority,
    Sector,
    SignupStatus,
    TargetKind,
)
from storage.models.activities import CheckinMethod
from storage.outbox import Button
from storage.phones import normalize_phone

TITLE_MAX = 100
DESCRIPTION_MAX = 2000
PLACE_MAX = 200
REASON_MAX = 300
CAPACITY_MAX = 100_000
CODE_DIGITS = 6
OPEN_STATUSES = (ActivityStatus.published, ActivityStatus.postponed)
HOLDS_PLACE = (SignupStatus.signed_up, SignupStatus.checked_in)
REPLIED = (
    SignupStatus.signed_up,
    SignupStatus.waiting,
    SignupStatus.leave,
    SignupStatus.checked_in,
)
NOTICE_KIND = "activity"
SOURCE = "activity"


# --------------------------------------------------------------------------------------------
# Outcomes and snapshots


class Outcome(enum.StrEnum):
    """What a member's action did, or why it did nothing."""

    signed_up = "signed_up"
    waiting = "waiting"
    already_signed_up = "already_signed_up"
    already_waiting = "already_waiting"
    cancelled = "cancelled"
    left = "left"
    checked_in = "checked_in"
    already_checked_in = "already_checked_in"
    not_found = "not_found"  # no such activity, or a draft
    not_invited = "not_invited"
    activity_cancelled = "activity_cancelled"
    deadline_passed = "deadline_passed"
    started = "started"  # too late for this action: the activity has begun
    not_signed_up = "not_signed_up"
    needs_leave = "needs_leave"  # cancelling after the deadline: ask for leave instead
    reason_required = "reason_required"
    reason_too_long = "reason_too_long"
    wrong_code = "wrong_code"
    checkin_not_open = "checkin_not_open"  # before the window
    checkin_closed = "checkin_closed"  # after the window
    too_far = "too_far"
    no_venue_location = "no_venue_location"
    full = "full"  # a check-in without a place while the activity is full
    on_leave = "on_leave"  # already on leave (leave twice)


class Problem(enum.StrEnum):
    """Why staff input or an edit was refused."""

    title_empty = "title_empty"
    title_too_long = "title_too_long"
    description_too_long = "description_too_long"
    place_too_long = "place_too_long"
    start_in_past = "start_in_past"
    end_before_start = "end_before_start"
    deadline_after_start = "deadline_after_start"
    deadline_in_past = "deadline_in_past"
    capacity_invalid = "capacity_invalid"
    capacity_below_signed = "capacity_below_signed"  # param: the number signed up
    incomplete = "incomplete"  # publishing a draft that lacks a field; param: the field
    not_editable = "not_editable"  # cancelled or already over
    not_found = "not_found"
    already_published = "already_published"


class NoticeKind(enum.StrEnum):
    published = "published"
    promoted = "promoted"
    changed = "changed"
    postponed = "postponed"
    cancelled = "cancelled"


class Field(enum.Enum):
    """Editable fields of an activity (also the steps of the guided creation)."""

    title = "title"
    description = "description"
    starts_at = "starts_at"
    ends_at = "ends_at"
    place = "place"
    capacity = "capacity"
    signup_deadline = "signup_deadline"
    reply_required = "reply_required"


ButtonsFor = Callable[[int, NoticeKind], Sequence[Sequence[Button]]]


def _no_buttons(_activity_id: int, _kind: NoticeKind) -> Sequence[Sequence[Button]]:
    return ()


@dataclass(frozen=True)
class Notify:
    """How this channel wants notices about activities: its time zone and its buttons.

    Values go into the outbox as typed; the delivery worker escapes them when it renders the
    message (bot/i18n.py), so storage knows nothing of HTML."""

    tz: tzinfo
    buttons: ButtonsFor = _no_buttons


@dataclass(frozen=True)
class CheckinRules:
    """The check-in window around the start, and how close a shared location must be."""

    before: timedelta = timedelta(minutes=60)
    after: timedelta = timedelta(minutes=120)
    radius_m: float = 500.0

    def window(self, starts_at: datetime) -> tuple[datetime, datetime]:
        return starts_at - self.before, starts_at + self.after


@dataclass(frozen=True)
class ActivityView:
    """A detached snapshot of one activity with its live counts."""

    id: int
    type: ActivityType
    status: ActivityStatus
    title: str
    description: str
    starts_at: datetime | None
    ends_at: datetime | None
    signup_deadline: datetime | None
    place: str
    liaison_point_id: int | None
    liaison_point: str | None
    latitude: float | None
    longitude: float | None
    capacity: int | None
    reply_required: bool
    checkin_code: str | None
    cancel_reason: str | None
    import_batch: str | None
    published_at: datetime | None
    signed_up: int = 0  # places taken (signed up or checked in)
    waiting: int = 0
    leave: int = 0
    checked_in: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def deadline(self) -> datetime | None:
        """When sign-up closes: the deadline, or the start when there is none."""
        return self.signup_deadline or self.starts_at

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.signed_up >= self.capacity

    @property
    def venue(self) -> str:
        return self.place or self.liaison_point or ""

    def signup_open(self, now: datetime) -> bool:
        deadline = self.deadline
        return self.is_open and deadline is not None and now < deadline


@dataclass(frozen=True)
class Standing:
    """Where one member stands for one activity."""

    status: SignupStatus | None = None
    queue_position: int | None = None  # 1-based place on the waiting list
    leave_reason: str | None = None
    checked_in_at: datetime | None = None


@dataclass(frozen=True)
class Card:
    activity: ActivityView
    me: Standing
    invited: bool


@dataclass(frozen=True)
class Result:
    """A member action's outcome, with what the member needs to see about it."""

    outcome: Outcome
    activity_id: int | None = None
    queue_position: int | None = None
    promoted: tuple[int, ...] = ()  # member ids moved up from the waiting list
    distance_m: float | None = None
    opens_at: datetime | None = None
    card: Card | None = None  # the member's card after a sign-up or cancel, to redraw it

    @property
    def ok(self) -> bool:
        return self.outcome in (
            Outcome.signed_up,
            Outcome.waiting,
            Outcome.cancelled,
            Outcome.left,
            Outcome.checked_in,
        )


@dataclass(frozen=True)
class EditResult:
    """A staff change's outcome; problem is None when it was applied."""

    problem: Problem | None = None
    detail: str = ""
    notified: int = 0
    promoted: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class RosterEntry:
    member_id: int
    name: str
    phone: str | None
    sector: str | None
    status: SignupStatus | None  # None: invited, not replied
    position: int | None = None
    queue_position: int | None = None
    signed_up_at: datetime | None = None
    leave_reason: str | None = None
    leave_at: datetime | None = None
    checked_in_at: datetime | None = None
    checkin_method: CheckinMethod | None = None


@dataclass(frozen=True)
class Roster:
    activity: ActivityView
    signed_up: list[RosterEntry] = field(default_factory=list)  # includes checked in
    waiting: list[RosterEntry] = field(default_factory=list)
    leave: list[RosterEntry] = field(default_factory=list)
    checked_in: list[RosterEntry] = field(default_factory=list)
    cancelled: list[RosterEntry] = field(default_factory=list)
    not_replied: list[RosterEntry] = field(default_factory=list)


@dataclass(frozen=True)
class TargetSpec:
    kind: TargetKind
    ref_id: int | None = None
    name: str = ""


@dataclass(frozen=True)
class TargetsResult:
    targets: list[TargetSpec]
    unknown: list[str]


# --------------------------------------------------------------------------------------------
# Small helpers


def format_local(moment: datetime | None, tz: tzinfo) -> str:
    """A moment as local wall-clock text, the same in every language: 2026-12-05 14:30."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def format_span(start: datetime | None, end: datetime | None, tz: tzinfo) -> str:
    """2026-12-05 14:30–16:30, or both full moments when the end is on another day."""
    if start is None:
        return ""
    if end is None:
        return format_local(start, tz)
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if local_start.date() == local_end.date():
        return f"{format_local(start, tz)}–{local_end.strftime('%H:%M')}"
    return f"{format_local(start, tz)} – {format_local(end, tz)}"


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    radius = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


async def _lock(session: AsyncSession, activity_id: int) -> Activity | None:
    """The activity row, locked until the transaction ends (see the module docstring)."""
    return await session.scalar(
        select(Activity)
        .where(Activity.id == activity_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


# Statements built once, for the reads behind every card and list (building one costs about as
# much as running it).
NOBODY = Profile(0, None, None, (), None)  # parameters for a member without a profile
_COUNTS = (
    select(ActivitySignup.activity_id, ActivitySignup.status, func.count())
    .where(ActivitySignup.activity_id.in_(bindparam("activity_ids", expanding=True)))
    .group_by(ActivitySignup.activity_id, ActivitySignup.status)
)
_SIGNUP = (
    select(ActivitySignup)
    .where(
        ActivitySignup.activity_id == bindparam("activity_id"),
        ActivitySignup.member_id == bindparam("member_id"),
    )
    .execution_options(populate_existing=True)
)
_CARD = (
    select(Activity, ActivitySignup, INVITES)
    .outerjoin(
        ActivitySignup,
        and_(
            ActivitySignup.activity_id == Activity.id,
            ActivitySignup.member_id == bindparam("member_id"),
        ),
    )
    .where(Activity.id == bindparam("activity_id"))
    .execution_options(populate_existing=True)
)
_INVITED = select(INVITES).where(Activity.id == bindparam("activity_id"))


async def _counts(session: AsyncSession, activity_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    if not activity_ids:
        return {}
    rows = await session.execute(_COUNTS, {"activity_ids": list(activity_ids)})
    out: dict[int, dict[str, int]] = {aid: {} for aid in activity_ids}
    for aid, status, n in rows:
        out[aid][SignupStatus(status).value] = int(n)
    return out


async def _views(session: AsyncSession, activities: Sequence[Activity]) -> list[ActivityView]:
    ids = [a.id for a in activities]
    counts = await _counts(session, ids)
    point_ids = {a.liaison_point_id for a in activities if a.liaison_point_id is not None}
    points: dict[int, str] = {}
    if point_ids:
        rows = await session.execute(
            select(LiaisonPoint.id, LiaisonPoint.name).where(LiaisonPoint.id.in_(point_ids))
        )
        points = {pid: name for pid, name in rows}
    views = []
    for a in activities:
        c = counts.get(a.id, {})
        checked = c.get(SignupStatus.checked_in, 0)
        views.append(
            ActivityView(
                id=a.id,
                type=a.type,
                status=a.status,
                title=a.title,
                description=a.description,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
                signup_deadline=a.signup_deadline,
                place=a.place,
                liaison_point_id=a.liaison_point_id,
                liaison_point=points.get(a.liaison_point_id) if a.liaison_point_id else None,
                latitude=a.latitude,
                longitude=a.longitude,
                capacity=a.capacity,
                reply_required=a.reply_required,
                checkin_code=a.checkin_code,
                cancel_reason=a.cancel_reason,
                import_batch=a.import_batch,
                published_at=a.published_at,
                signed_up=c.get(SignupStatus.signed_up, 0) + checked,
                waiting=c.get(SignupStatus.waiting, 0),
                leave=c.get(SignupStatus.leave, 0),
                checked_in=checked,
            )
        )
    return views


async def view(session: AsyncSession, activity_id: int) -> ActivityView | None:
    activity = await session.get(Activity, activity_id, populate_existing=True)
    if activity is None:
        return None
    return (await _views(session, [activity]))[0]


async def _queue_position(session: AsyncSession, signup: ActivitySignup) -> int | None:
    if signup.status is not SignupStatus.waiting or signup.position is None:
        return None
    ahead = await session.scalar(
        select(func.count())
        .select_from(ActivitySignup)
        .where(
            ActivitySignup.activity_id == signup.activity_id,
            ActivitySignup.status == SignupStatus.waiting,
            ActivitySignup.position <= signup.position,
        )
    )
    return int(ahead or 0)


async def _taken(session: AsyncSession, activity_id: int) -> int:
    n = await session.scalar(
        select(func.count())
        .select_from(ActivitySignup)
        .where(ActivitySignup.activity_id == activity_id, ActivitySignup.status.in_(HOLDS_PLACE))
    )
    return int(n or 0)


async def _signup(session: AsyncSession, activity_id: int, member_id: int) -> ActivitySignup | None:
    signup: ActivitySignup | None = await session.scalar(
        _SIGNUP, {"activity_id": activity_id, "member_id": member_id}
    )
    return signup


def _paged(total: int, page: int, size: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / size))
    page = min(max(page, 1), pages)
    return page, pages


# --------------------------------------------------------------------------------------------
# Member side: reading


def _browse_statements(*, of_type: bool) -> tuple[Select[Any], Select[Any]]:
    """The count and the page of browse(), built once per shape (see _COUNTS)."""
    where = [Activity.status.in_(OPEN_STATUSES), Activity.ends_at > bindparam("now"), INVITES]
    if of_type:
        where.append(Activity.type == bindparam("type"))
    count = select(func.count()).select_from(Activity).where(*where)
    page = (
        select(Activity)
        .where(*where)
        .order_by(Activity.published_at.desc(), Activity.id.desc())
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )
    return count, page


_BROWSE = {of_type: _browse_statements(of_type=of_type) for of_type in (False, True)}


async def browse(
    session: AsyncSession,
    member_id: int,
    *,
    now: datetime,
    type: ActivityType | None = None,
    page: int = 1,
    size: int = 5,
) -> Page[ActivityView]:
    """Published activities this member is invited to that have not ended, newest first."""
    profile = await profile_of(session, member_id)
    if profile is None:
        return Page([], 1, 1, 0)
    count, listing = _BROWSE[type is not None]
    parameters: dict[str, Any] = {"now": now, "type": type} | invitation_parameters(profile)
    total = int(await session.scalar(count, parameters) or 0)
    page, pages = _paged(total, page, size)
    parameters |= {"offset": (page - 1) * size, "limit": size}
    rows = await session.scalars(listing, parameters)
    return Page(await _views(session, list(rows)), page, pages, total)


async def card(session: AsyncSession, activity_id: int, member_id: int) -> Card | None:
    """The activity as this member sees it; None for an unknown id or a draft.

    The activity, the member's reply and whether they are invited come in one query: a card
    is drawn on most taps."""
    profile = await profile_of(session, member_id)
    parameters = {"activity_id": activity_id, "member_id": member_id}
    parameters |= invitation_parameters(profile or NOBODY)
    row = (await session.execute(_CARD, parameters)).first()
    if row is None or row[0].status is ActivityStatus.draft:
        return None
    activity, signup, invited = row
    return await _card_of(session, activity, signup, profile is not None and bool(invited))


async def _card_of(
    session: AsyncSession, activity: Activity, signup: ActivitySignup | None, invited: bool
) -> Card:
    """The card from rows already at hand: only the counts (and a queue place) are read."""
    standing = Standing()
    if signup is not None:
        standing = Standing(
            signup.status,
            await _queue_position(session, signup),
            signup.leave_reason,
            signup.checked_in_at,
        )
    return Card((await _views(session, [activity]))[0], standing, invited)


async def my_activities(
    session: AsyncSession, member_id: int, *, now: datetime, limit: int = 10
) -> tuple[list[Card], list[Card]]:
    """The member's activities (any reply but a plain cancel): upcoming soonest first, past
    most recent first."""
    base = (
        select(Activity, ActivitySignup)
        .join(ActivitySignup, ActivitySignup.activity_id == Activity.id)
        .where(
            ActivitySignup.member_id == member_id,
            ActivitySignup.status != SignupStatus.cancelled,
            Activity.status != ActivityStatus.draft,
        )
    )
    upcoming_rows = (
        await session.execute(
            base.where(Activity.ends_at > now).order_by(Activity.starts_at).limit(limit)
        )
    ).all()
    past_rows = (
        await session.execute(
            base.where(Activity.ends_at <= now).order_by(Activity.starts_at.desc()).limit(limit)
        )
    ).all()

    async def cards(rows: Sequence[Any]) -> list[Card]:
        views = await _views(session, [a for a, _ in rows])
        out = []
        for v, (_, s) in zip(views, rows, strict=True):
            standing = Standing(
                s.status, await _queue_position(session, s), s.leave_reason, s.checked_in_at
            )
            out.append(Card(v, standing, True))
        return out

    return await cards(upcoming_rows), await cards(past_rows)


# --------------------------------------------------------------------------------------------
# Member side: acting


async def _notice(
    session: AsyncSession,
    activity: Activity,
    member_id: int,
    chat_id: int | None,
    kind: NoticeKind,
    notify: Notify,
    *,
    priority: int = Priority.personal,
    dedupe_key: str | None = None,
    **extra: Any,
) -> bool:
    """Put one message about the activity in the outbox for one member; False if unreachable."""
    if chat_id is None:
        return False
    params: dict[str, Any] = {
        "title": activity.title,
        "when": format_span(activity.starts_at, activity.ends_at, notify.tz),
        "place": activity.place or "—",
        "type": {"key": f"activities.type_{activity.type.value}"},
    }
    params.update(extra)
    message = await outbox.enqueue(
        session,
        chat_id=chat_id,
        kind=NOTICE_KIND,
        member_id=member_id,
        template=f"activities.notice_{kind.value}",
        params=params,
        buttons=notify.buttons(activity.id, kind) or None,
        priority=priority,
        source_type=SOURCE,
        source_id=activity.id,
        dedupe_key=dedupe_key,
    )
    return message is not None


async def _fill_places(
    session: AsyncSession, activity: Activity, *, now: datetime, notify: Notify
) -> tuple[int, ...]:
    """Move the first waiting members up while there are free places; each is told once.

    Called with the activity row locked, so two transactions never promote the same member.
    """
    if activity.status not in OPEN_STATUSES or activity.starts_at is None:
        return ()
    if now >= activity.starts_at:
        return ()  # the activity has begun: a place freed now helps nobody
    free: int | None = None
    if activity.capacity is not None:
        free = activity.capacity - await _taken(session, activity.id)
        if free <= 0:
            return ()
    query = (
        select(ActivitySignup, Member.chat_id)
        .join(Member, Member.id == ActivitySignup.member_id)
        .where(
            ActivitySignup.activity_id == activity.id,
            ActivitySignup.status == SignupStatus.waiting,
        )
        .order_by(ActivitySignup.position)
        .execution_options(populate_existing=True)
    )
    if free is not None:
        query = query.limit(free)
    promoted = []
    for signup, chat_id in (await session.execute(query)).all():
        signup.status = SignupStatus.signed_up
        signup.promoted_at = now
        signup.signed_up_at = now
        promoted.append(signup.member_id)
        await _notice(
            session,
            activity,
            signup.member_id,
            chat_id,
            NoticeKind.promoted,
            notify,
            dedupe_key=f"act:{activity.id}:promoted:{signup.member_id}:{signup.position}",
        )
    await session.flush()
    return tuple(promoted)


async def _actable(
    session: AsyncSession, activity_id: int, member_id: int
) -> tuple[Activity | None, Outcome | None]:
    """Lock the activity and check it is open and the member invited.

    The invitation is read before the lock: every sign-up for the activity queues on that
    lock, so it is held for as few statements as possible."""
    invited = await _invited(session, member_id, activity_id)
    activity = await _lock(session, activity_id)
    if activity is None or activity.status is ActivityStatus.draft:
        return None, Outcome.not_found
    if activity.status is ActivityStatus.cancelled:
        return activity, Outcome.activity_cancelled
    if not invited:
        return activity, Outcome.not_invited
    return activity, None


async def _invited(session: AsyncSession, member_id: int, activity_id: int) -> bool:
    profile = await profile_of(session, member_id)
    if profile is None:
        return False
    parameters = {"activity_id": activity_id} | invitation_parameters(profile)
    return bool(await session.scalar(_INVITED, parameters))


async def sign_up(
    session: AsyncSession, activity_id: int, member_id: int, *, now: datetime
) -> Result:
    """Take a place, or join the waiting list when the activity is full."""
    activity, refusal = await _actable(session, activity_id, member_id)
    if refusal is not None or activity is None:
        return Result(refusal or Outcome.not_found, activity_id)
    signup = await _signup(session, activity_id, member_id)
    if signup is not None:
        # The card is drawn here, from the rows at hand, while the activity is locked anyway.
        if signup.status in HOLDS_PLACE:
            card = await _card_of(session, activity, signup, True)
            return Result(Outcome.already_signed_up, activity_id, card=card)
        if signup.status is SignupStatus.waiting:
            card = await _card_of(session, activity, signup, True)
            return Result(Outcome.already_waiting, activity_id, card.me.queue_position, card=card)
    assert activity.starts_at is not None
    deadline = activity.signup_deadline or activity.starts_at
    if now >= deadline:
        return Result(Outcome.deadline_passed, activity_id)
    has_place = activity.capacity is None or await _taken(session, activity_id) < activity.capacity
    activity.last_position += 1
    if signup is None:
        signup = ActivitySignup(activity_id=activity_id, member_id=member_id)
        session.add(signup)
    signup.position = activity.last_position
    signup.leave_reason = None
    signup.leave_at = None
    signup.cancelled_at = None
    signup.promoted_at = None
    if has_place:
        signup.status = SignupStatus.signed_up
        signup.signed_up_at = now
        signup.waiting_since = None
    else:
        signup.status = SignupStatus.waiting
        signup.waiting_since = now
        signup.signed_up_at = None
    await session.flush()
    card = await _card_of(session, activity, signup, True)
    if has_place:
        return Result(Outcome.signed_up, activity_id, card=card)
    return Result(Outcome.waiting, activity_id, card.me.queue_position, card=card)


async def cancel(
    session: AsyncSession, activity_id: int, member_id: int, *, now: datetime, notify: Notify
) -> Result:
    """Give up a place (the first waiting member moves up) or leave the waiting list.

    After the sign-up deadline a place can no longer simply be given back: the answer is
    needs_leave, and the member asks for leave with a reason instead.
    """
    activity = await _lock(session, activity_id)
    if activity is None or activity.status is ActivityStatus.draft:
        return Result(Outcome.not_found, activity_id)
    signup = await _signup(session, activity_id, member_id)
    if signup is None or signup.status not in (SignupStatus.signed_up, SignupStatus.waiting):
        if signup is not None and signup.status is SignupStatus.checked_in:
            return Result(Outcome.already_checked_in, activity_id)
        return Result(Outcome.not_signed_up, activity_id)
    if activity.status is ActivityStatus.cancelled:
        return Result(Outcome.activity_cancelled, activity_id)
    assert activity.starts_at is not None
    if now >= activity.starts_at:
        return Result(Outcome.started, activity_id)
    deadline = activity.signup_deadline or activity.starts_at
    if signup.status is SignupStatus.signed_up and now >= deadline:
        return Result(Outcome.needs_leave, activity_id)
    held_place = signup.status is SignupStatus.signed_up
    signup.status = SignupStatus.cancelled
    signup.cancelled_at = now
    await session.flush()
    await reminders.cancel_stale(session, activity_id)
    promoted = await _fill_places(session, activity, now=now, notify=notify) if held_place else ()
    invited = await _invited(session, member_id, activity_id)
    card = await _card_of(session, activity, signup, invited)
    return Result(Outcome.cancelled, activity_id, promoted=promoted, card=card)


async def leave(
    session: AsyncSession,
    activity_id: int,
    member_id: int,
    *,
    reason: str,
    now: datetime,
    notify: Notify,
) -> Result:
    """Ask for leave; a reason is required when the activity asks invited members to reply."""
    activity, refusal = await _actable(session, activity_id, member_id)
    signup = await _signup(session, activity_id, member_id)
    if refusal is Outcome.not_invited and signup is not None and signup.status in REPLIED:
        refusal = None  # invited once and replied: the audience changed since; leave still works
    if refusal is not None or activity is None:
        return Result(refusal or Outcome.not_found, activity_id)
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        return Result(Outcome.reason_too_long, activity_id)
    if activity.reply_required and not reason:
        return Result(Outcome.reason_required, activity_id)
    assert activity.starts_at is not None
    if now >= activity.starts_at:
        return Result(Outcome.started, activity_id)
    if signup is not None:
        if signup.status is SignupStatus.checked_in:
            return Result(Outcome.already_checked_in, activity_id)
        if signup.status is SignupStatus.leave:
            return Result(Outcome.on_leave, activity_id)
    held_place = signup is not None and signup.status is SignupStatus.signed_up
    if signup is None:
        signup = ActivitySignup(activity_id=activity_id, member_id=member_id)
        session.add(signup)
    signup.status = SignupStatus.leave
    signup.leave_at = now
    signup.leave_reason = reason or None
    await session.flush()
    await reminders.cancel_stale(session, activity_id)
    promoted = await _fill_places(session, activity, now=now, notify=notify) if held_place else ()
    return Result(Outcome.left, activity_id, promoted=promoted)


async def _check_in(
    session: AsyncSession,
    activity: Activity,
    member_id: int,
    *,
    now: datetime,
    rules: CheckinRules,
    method: CheckinMethod,
) -> Result:
    """Check in once the code or the location has been verified (activity row locked)."""
    assert activity.starts_at is not None
    opens, closes = rules.window(activity.starts_at)
    if now < opens:
        return Result(Outcome.checkin_not_open, activity.id, opens_at=opens)
    if now > closes:
        return Result(Outcome.checkin_closed, activity.id)
    signup = await _signup(session, activity.id, member_id)
    if signup is not None and signup.status is SignupStatus.checked_in:
        return Result(Outcome.already_checked_in, activity.id)
    if signup is None or signup.status is not SignupStatus.signed_up:
        # Not holding a place: a walk-in may take a free one, never someone else's.
        has_place = (
            activity.capacity is None or await _taken(session, activity.id) < activity.capacity
        )
        if not has_place:
            return Result(Outcome.full, activity.id)
        if signup is None:
            signup = ActivitySignup(activity_id=activity.id, member_id=member_id)
            session.add(signup)
        activity.last_position += 1
        signup.position = activity.last_position
        signup.signed_up_at = now
    signup.status = SignupStatus.checked_in
    signup.checked_in_at = now
    signup.checkin_method = method
    await session.flush()
    return Result(Outcome.checked_in, activity.id)


async def check_in_by_code(
    session: AsyncSession,
    member_id: int,
    code: str,
    *,
    now: datetime,
    rules: CheckinRules,
    activity_id: int | None = None,
) -> Result:
    """Check in with the code staff show at the venue.

    With activity_id (a card's button or a deep link) the code must be that activity's; without
    it (the member just typed the digits) the code picks the activity among those open for
    check-in right now.
    """
    code = code.strip()
    if activity_id is None:
        profile = await profile_of(session, member_id)
        if profile is None:
            return Result(Outcome.not_invited)
        candidates = await _checkin_candidates(session, profile, now=now, rules=rules)
        matching = [a for a in candidates if a.checkin_code and a.checkin_code == code]
        if not matching:
            return Result(Outcome.wrong_code)
        activity_id = matching[0].id
    activity, refusal = await _actable(session, activity_id, member_id)
    if refusal is Outcome.not_invited:
        signup = await _signup(session, activity_id, member_id)
        if signup is not None and signup.status in HOLDS_PLACE:
            refusal = None
    if refusal is not None or activity is None:
        return Result(refusal or Outcome.not_found, activity_id)
    if not activity.checkin_code or not secrets.compare_digest(activity.checkin_code, code):
        return Result(Outcome.wrong_code, activity_id)
    return await _check_in(
        session, activity, member_id, now=now, rules=rules, method=CheckinMethod.code
    )


async def _checkin_candidates(
    session: AsyncSession, profile: Profile, *, now: datetime, rules: CheckinRules
) -> list[Activity]:
    """Open activities whose check-in window contains now and that this member may attend."""
    held = exists().where(
        ActivitySignup.activity_id == Activity.id,
        ActivitySignup.member_id == profile.member_id,
        ActivitySignup.status.in_(HOLDS_PLACE),
    )
    rows = await session.scalars(
        select(Activity)
        .where(
            Activity.status.in_(OPEN_STATUSES),
            Activity.starts_at <= now + rules.before,
            Activity.starts_at >= now - rules.after,
            or_(held, invites(profile)),
        )
        .order_by(Activity.starts_at)
    )
    return list(rows)


async def check_in_by_location(
    session: AsyncSession,
    member_id: int,
    latitude: float,
    longitude: float,
    *,
    now: datetime,
    rules: CheckinRules,
    activity_id: int | None = None,
) -> Result | None:
    """Check in by a shared location within rules.radius_m of the venue.

    Without activity_id: the nearest venue among the member's activities open for check-in now;
    None when there is no such activity at all (the location was meant for something else).
    """
    if activity_id is None:
        profile = await profile_of(session, member_id)
        if profile is None:
            return None
        candidates = await _checkin_candidates(session, profile, now=now, rules=rules)
        mine = []
        for candidate in candidates:
            signup = await _signup(session, candidate.id, member_id)
            if signup is not None and signup.status in (*HOLDS_PLACE, SignupStatus.leave):
                mine.append(candidate)
        if not mine:
            return None
        located = [a for a in mine if a.latitude is not None and a.longitude is not None]
        if not located:
            return Result(Outcome.no_venue_location, mine[0].id)
        activity_id = min(
            located,
            key=lambda a: distance_m(latitude, longitude, a.latitude or 0.0, a.longitude or 0.0),
        ).id
    activity, refusal = await _actable(session, activity_id, member_id)
    if refusal is Outcome.not_invited:
        signup = await _signup(session, activity_id, member_id)
        if signup is not None and signup.status in HOLDS_PLACE:
            refusal = None
    if refusal is not None or activity is None:
        return Result(refusal or Outcome.not_found, activity_id)
    if activity.latitude is None or activity.longitude is None:
        return Result(Outcome.no_venue_location, activity_id)
    distance = distance_m(latitude, longitude, activity.latitude, activity.longitude)
    if distance > rules.radius_m:
        assert activity.starts_at is not None
        opens, closes = rules.window(activity.starts_at)
        if opens <= now <= closes:
            return Result(Outcome.too_far, activity_id, distance_m=distance)
    result = await _check_in(
        session, activity, member_id, now=now, rules=rules, method=CheckinMethod.location
    )
    return replace(result, distance_m=distance)


# --------------------------------------------------------------------------------------------
# Staff side: drafts, fields, audience


async def create_draft(session: AsyncSession, type: ActivityType, actor: Actor) -> int:
    activity = Activity(type=type, status=ActivityStatus.draft, created_by=actor.member_id)
    session.add(activity)
    await session.flush()
    await audit.record(
        session, actor, "activity.draft", object_type="activity", object_id=activity.id
    )
    return activity.id


async def get(session: AsyncSession, activity_id: int) -> Activity | None:
    return await session.get(Activity, activity_id, populate_existing=True)


def check_title(text: str) -> Problem | None:
    text = text.strip()
    if not text:
        return Problem.title_empty
    if len(text) > TITLE_MAX:
        return Problem.title_too_long
    return None


def check_times(
    starts_at: datetime | None,
    ends_at: datetime | None,
    deadline: datetime | None,
    *,
    now: datetime,
    start_changed: bool = False,
    deadline_changed: bool = False,
) -> Problem | None:
    """The rules between start, end and deadline (a new start or deadline must be ahead)."""
    if starts_at is not None and start_changed and starts_at <= now:
        return Problem.start_in_past
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        return Problem.end_before_start
    if deadline is not None and deadline_changed and deadline <= now:
        return Problem.deadline_in_past
    if deadline is not None and starts_at is not None and deadline > starts_at:
        return Problem.deadline_after_start
    return None


async def find_liaison_point(session: AsyncSession, text: str) -> LiaisonPoint | None:
    """A liaison point by exact name, or the only one whose name contains the text."""
    text = text.strip()
    if not text:
        return None
    exact = await session.scalar(select(LiaisonPoint).where(LiaisonPoint.name == text))
    if exact is not None:
        return exact
    like = list(
        await session.scalars(
            select(LiaisonPoint).where(LiaisonPoint.name.contains(text, autoescape=True)).limit(2)
        )
    )
    return like[0] if len(like) == 1 else None


@dataclass(frozen=True)
class Change:
    """One field's new value; place carries the liaison point when one matched."""

    field: Field
    value: Any
    liaison_point: LiaisonPoint | None = None


async def update_field(
    session: AsyncSession,
    activity_id: int,
    change: Change,
    *,
    actor: Actor,
    now: datetime,
    notify: Notify,
) -> EditResult:
    """Set one field after checking every rule; people signed up are told what changed."""
    activity = await _lock(session, activity_id)
    if activity is None:
        return EditResult(Problem.not_found)
    if activity.status is ActivityStatus.cancelled or (
        activity.status is not ActivityStatus.draft
        and activity.ends_at is not None
        and activity.ends_at <= now
    ):
        return EditResult(Problem.not_editable)
    old_text = field_text(activity, change.field, notify.tz)
    problem, detail = await _apply(session, activity, change, now=now)
    if problem is not None:
        return EditResult(problem, detail)
    await audit.record(
        session,
        actor,
        "activity.edit",
        object_type="activity",
        object_id=activity.id,
        field=change.field.value,
        old=old_text,
        new=field_text(activity, change.field, notify.tz),
    )
    if change.field is Field.starts_at:
        await reminders.cancel_stale(session, activity.id)  # reminders name the old time
    notified = 0
    promoted: tuple[int, ...] = ()
    if activity.status in OPEN_STATUSES:
        if change.field is Field.capacity:
            promoted = await _fill_places(session, activity, now=now, notify=notify)
        if change.field in NOTIFY_FIELDS:
            notified = await _tell_signed_up(
                session,
                activity,
                NoticeKind.changed,
                notify,
                change={
                    "key": f"activities.change_{change.field.value}",
                    "params": {
                        "old": old_text or "—",
                        "new": field_text(activity, change.field, notify.tz) or "—",
                    },
                },
            )
    return EditResult(None, notified=notified, promoted=promoted)


NOTIFY_FIELDS = (
    Field.title,
    Field.starts_at,
    Field.ends_at,
    Field.place,
    Field.signup_deadline,
)


def field_text(activity: Activity, which: Field, tz: tzinfo) -> str:
    if which is Field.title:
        return activity.title
    if which is Field.description:
        return activity.description
    if which is Field.starts_at:
        return format_local(activity.starts_at, tz)
    if which is Field.ends_at:
        return format_local(activity.ends_at, tz)
    if which is Field.place:
        return activity.place
    if which is Field.capacity:
        return "" if activity.capacity is None else str(activity.capacity)
    if which is Field.signup_deadline:
        return format_local(activity.signup_deadline, tz)
    return "1" if activity.reply_required else "0"


async def _apply(
    session: AsyncSession, activity: Activity, change: Change, *, now: datetime
) -> tuple[Problem | None, str]:
    value = change.value
    which = change.field
    if which is Field.title:
        text = str(value).strip()
        problem = check_title(text)
        if problem:
            return problem, ""
        activity.title = text
    elif which is Field.description:
        text = str(value).strip()
        if len(text) > DESCRIPTION_MAX:
            return Problem.description_too_long, str(DESCRIPTION_MAX)
        activity.description = text
    elif which is Field.place:
        text = str(value).strip()
        point = change.liaison_point
        if point is not None:
            text = point.name  # the typed text named this point (exactly or by a unique part)
        if len(text) > PLACE_MAX:
            return Problem.place_too_long, str(PLACE_MAX)
        activity.place = text
        activity.liaison_point_id = point.id if point is not None else None
        activity.latitude = point.latitude if point is not None else None
        activity.longitude = point.longitude if point is not None else None
    elif which is Field.capacity:
        if value is not None and (not isinstance(value, int) or not 1 <= value <= CAPACITY_MAX):
            return Problem.capacity_invalid, ""
        if value is not None:
            taken = await _taken(session, activity.id)
            if value < taken:
                return Problem.capacity_below_signed, str(taken)
        activity.capacity = value
    elif which in (Field.starts_at, Field.ends_at, Field.signup_deadline):
        starts = value if which is Field.starts_at else activity.starts_at
        ends = value if which is Field.ends_at else activity.ends_at
        deadline = value if which is Field.signup_deadline else activity.signup_deadline
        problem = check_times(
            starts,
            ends,
            deadline,
            now=now,
            start_changed=which is Field.starts_at,
            deadline_changed=which is Field.signup_deadline,
        )
        if problem:
            return problem, ""
        setattr(activity, which.value, value)
    elif which is Field.reply_required:
        activity.reply_required = bool(value)
    activity.updated_at = now
    await session.flush()
    return None, ""


async def _tell_signed_up(
    session: AsyncSession, activity: Activity, kind: NoticeKind, notify: Notify, **extra: Any
) -> int:
    """A notice to everyone signed up, waiting or checked in; returns how many were queued."""
    rows = await session.execute(
        select(Member.id, Member.chat_id)
        .join(ActivitySignup, ActivitySignup.member_id == Member.id)
        .where(
            ActivitySignup.activity_id == activity.id,
            ActivitySignup.status.in_(
                (SignupStatus.signed_up, SignupStatus.waiting, SignupStatus.checked_in)
            ),
            Member.active,
        )
        .order_by(ActivitySignup.position)
    )
    sent = 0
    for member_id, chat_id in rows:
        if await _notice(session, activity, member_id, chat_id, kind, notify, **extra):
            sent += 1
    return sent


async def resolve_targets(session: AsyncSession, kind: TargetKind, text: str) -> TargetsResult:
    """Names (or, for members, #ids / phones / names) typed by staff, turned into target rules."""
    if kind is TargetKind.everyone:
        return TargetsResult([TargetSpec(TargetKind.everyone)], [])
    names = [n.strip() for n in _SEPARATORS.split(text or "") if n.strip()]
    targets: list[TargetSpec] = []
    unknown: list[str] = []
    for name in dict.fromkeys(names):
        found = await _target(session, kind, name)
        if found is None:
            unknown.append(name)
        elif found not in targets:
            targets.append(found)
    return TargetsResult(targets, unknown)


_SEPARATORS = re.compile(r"[,，、;；\n]+")


async def _target(session: AsyncSession, kind: TargetKind, name: str) -> TargetSpec | None:
    row: Any
    if kind is TargetKind.sector:
        row = (
            await session.execute(select(Sector.id, Sector.name).where(Sector.name == name))
        ).first()
    elif kind is TargetKind.committee:
        row = (
            await session.execute(
                select(Committee.id, Committee.name).where(Committee.name == name)
            )
        ).first()
    elif kind is TargetKind.liaison_point:
        point = await find_liaison_point(session, name)
        row = (point.id, point.name) if point is not None else None
    else:
        row = await _member_target(session, name)
    return TargetSpec(kind, int(row[0]), str(row[1])) if row is not None else None


async def _member_target(session: AsyncSession, text: str) -> tuple[int, str] | None:
    """A named member by #id, phone, or a name that only one active member has."""
    bare = text.lstrip("#")
    if text.startswith("#") and bare.isdigit():
        member = await session.get(Member, int(bare))
        return (member.id, member.name) if member is not None and member.active else None
    phone = normalize_phone(text)
    if phone is not None:
        row = (
            await session.execute(
                select(Member.id, Member.name).where(Member.phone == phone, Member.active)
            )
        ).first()
        if row is not None:
            return int(row[0]), str(row[1])
    rows = (
        await session.execute(
            select(Member.id, Member.name).where(Member.name == text, Member.active).limit(2)
        )
    ).all()
    return (int(rows[0][0]), str(rows[0][1])) if len(rows) == 1 else None


async def set_targets(
    session: AsyncSession, activity_id: int, targets: Iterable[TargetSpec], *, actor: Actor
) -> None:
    """Replace who is invited."""
    existing = await session.scalars(
        select(ActivityTarget).where(ActivityTarget.activity_id == activity_id)
    )
    for row in existing:
        await session.delete(row)
    specs = list(targets)
    for spec in specs:
        session.add(ActivityTarget(activity_id=activity_id, kind=spec.kind, ref_id=spec.ref_id))
    await session.flush()
    await audit.record(
        session,
        actor,
        "activity.audience",
        object_type="activity",
        object_id=activity_id,
        targets=[f"{s.kind.value}:{s.ref_id or ''}" for s in specs],
    )


async def targets(session: AsyncSession, activity_id: int) -> list[TargetSpec]:
    """Who is invited, with names, for showing staff and members."""
    rows = list(
        await session.scalars(
            select(ActivityTarget)
            .where(ActivityTarget.activity_id == activity_id)
            .order_by(ActivityTarget.id)
        )
    )
    out = []
    for row in rows:
        name = ""
        if row.ref_id is not None:
            model: Any = {
                TargetKind.sector: Sector,
                TargetKind.committee: Committee,
                TargetKind.liaison_point: LiaisonPoint,
                TargetKind.member: Member,
            }[row.kind]
            found = await session.get(model, row.ref_id)
            name = found.name if found is not None else f"#{row.ref_id}"
        out.append(TargetSpec(row.kind, row.ref_id, name))
    return out


def missing_field(activity: Activity | ActivityView, has_targets: bool) -> str | None:
    """The first thing a draft still needs before it can be published."""
    if not activity.title:
        return "title"
    if activity.starts_at is None:
        return "starts_at"
    if activity.ends_at is None:
        return "ends_at"
    if not (activity.place or activity.liaison_point_id):
        return "place"
    if not has_targets:
        return "audience"
    return None


# --------------------------------------------------------------------------------------------
# Staff side: publish, postpone, cancel


async def invited_count(session: AsyncSession, activity_id: int) -> int:
    n = await session.scalar(
        select(func.count()).select_from(Member).where(Member.active, member_invited(activity_id))
    )
    return int(n or 0)


async def publish(
    session: AsyncSession,
    activity_id: int,
    *,
    actor: Actor,
    now: datetime,
    notify_members: bool,
    notify: Notify,
) -> EditResult:
    """Make a complete draft visible; optionally tell every invited member, with buttons."""
    activity = await _lock(session, activity_id)
    if activity is None:
        return EditResult(Problem.not_found)
    if activity.status is not ActivityStatus.draft:
        return EditResult(Problem.already_published)
    has_targets = bool(
        await session.scalar(select(exists().where(ActivityTarget.activity_id == activity_id)))
    )
    missing = missing_field(activity, has_targets)
    if missing is not None:
        return EditResult(Problem.incomplete, missing)
    problem = check_times(
        activity.starts_at,
        activity.ends_at,
        activity.signup_deadline,
        now=now,
        start_changed=True,
        deadline_changed=True,
    )
    if problem is not None:
        return EditResult(problem)
    activity.status = ActivityStatus.published
    activity.published_at = now
    await audit.record(
        session,
        actor,
        "activity.publish",
        object_type="activity",
        object_id=activity_id,
        notify=notify_members,
    )
    notified = 0
    if notify_members:
        rows = await session.execute(
            select(Member.id, Member.chat_id)
            .where(Member.active, Member.chat_id.is_not(None), member_invited(activity_id))
            .order_by(Member.id)
        )
        deadline = format_local(activity.signup_deadline or activity.starts_at, notify.tz)
        for member_id, chat_id in rows:
            if await _notice(
                session,
                activity,
                member_id,
                chat_id,
                NoticeKind.published,
                notify,
                priority=Priority.normal,
                dedupe_key=f"act:{activity_id}:published:{member_id}",
                deadline=deadline,
            ):
                notified += 1
    return EditResult(None, notified=notified)


async def postpone(
    session: AsyncSession,
    activity_id: int,
    new_start: datetime,
    *,
    actor: Actor,
    now: datetime,
    notify: Notify,
) -> EditResult:
    """Move the activity to a new start; end and deadline move by the same amount."""
    activity = await _lock(session, activity_id)
    if activity is None:
        return EditResult(Problem.not_found)
    if activity.status not in OPEN_STATUSES or activity.starts_at is None:
        return EditResult(Problem.not_editable)
    if activity.ends_at is not None and activity.ends_at <= now:
        return EditResult(Problem.not_editable)
    shift = new_start - activity.starts_at
    new_end = activity.ends_at + shift if activity.ends_at else None
    new_deadline = activity.signup_deadline + shift if activity.signup_deadline else None
    if new_deadline is not None and new_deadline <= now:
        new_deadline = None  # the old deadline moved into the past: open until the new start
    problem = check_times(new_start, new_end, new_deadline, now=now, start_changed=True)
    if problem is not None:
        return EditResult(problem)
    old = format_span(activity.starts_at, activity.ends_at, notify.tz)
    activity.starts_at, activity.ends_at = new_start, new_end
    activity.signup_deadline = new_deadline
    activity.status = ActivityStatus.postponed
    activity.postponed_at = now
    await session.flush()
    await reminders.cancel_stale(session, activity_id)
    await audit.record(
        session,
        actor,
        "activity.postpone",
        object_type="activity",
        object_id=activity_id,
        old=old,
        new=format_span(new_start, new_end, notify.tz),
    )
    notified = await _tell_signed_up(session, activity, NoticeKind.postponed, notify, old=old)
    return EditResult(None, notified=notified)


async def cancel_activity(
    session: AsyncSession,
    activity_id: int,
    *,
    reason: str,
    actor: Actor,
    now: datetime,
    notify: Notify,
) -> EditResult:
    """Call the activity off; everyone signed up or waiting is told, with the reason."""
    activity = await _lock(session, activity_id)
    if activity is None:
        return EditResult(Problem.not_found)
    if activity.status is ActivityStatus.cancelled:
        return EditResult(Problem.not_editable)
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        return EditResult(Problem.description_too_long, str(REASON_MAX))
    was_draft = activity.status is ActivityStatus.draft
    activity.status = ActivityStatus.cancelled
    activity.cancelled_at = now
    activity.cancel_reason = reason or None
    await session.flush()
    await reminders.cancel_stale(session, activity_id)
    await audit.record(
        session,
        actor,
        "activity.cancel",
        object_type="activity",
        object_id=activity_id,
        reason=reason or None,
    )
    if was_draft:
        return EditResult(None)
    notified = await _tell_signed_up(
        session, activity, NoticeKind.cancelled, notify, reason=reason or "—"
    )
    return EditResult(None, notified=notified)


async def checkin_code(
    session: AsyncSession, activity_id: int, *, actor: Actor, renew: bool = False
) -> str | None:
    """The activity's check-in code, made on first use; renew makes the old one stop working."""
    activity = await _lock(session, activity_id)
    if activity is None or activity.status not in OPEN_STATUSES:
        return None
    if activity.checkin_code is None or renew:
        activity.checkin_code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        await audit.record(
            session, actor, "activity.checkin_code", object_type="activity", object_id=activity_id
        )
        await session.flush()
    return activity.checkin_code


# --------------------------------------------------------------------------------------------
# Staff side: lists and roster


async def staff_list(session: AsyncSession, *, page: int = 1, size: int = 8) -> Page[ActivityView]:
    """Every activity, newest created first (drafts included)."""
    total = int(await session.scalar(select(func.count()).select_from(Activity)) or 0)
    page, pages = _paged(total, page, size)
    rows = await session.scalars(
        select(Activity).order_by(Activity.id.desc()).offset((page - 1) * size).limit(size)
    )
    return Page(await _views(session, list(rows)), page, pages, total)


async def batch_ids(session: AsyncSession, batch: str) -> list[int]:
    rows = await session.scalars(
        select(Activity.id)
        .where(Activity.import_batch == batch, Activity.status == ActivityStatus.draft)
        .order_by(Activity.id)
    )
    return list(rows)


async def roster(session: AsyncSession, activity_id: int) -> Roster | None:
    """Everyone's standing: signed up, waiting (in order), leave with reasons, checked in,
    and invited members who have not replied."""
    activity = await session.get(Activity, activity_id, populate_existing=True)
    if activity is None:
        return None
    activity_view = (await _views(session, [activity]))[0]
    rows = await session.execute(
        select(ActivitySignup, Member.name, Member.phone, Sector.name)
        .join(Member, Member.id == ActivitySignup.member_id)
        .outerjoin(Sector, Sector.id == Member.sector_id)
        .where(ActivitySignup.activity_id == activity_id)
        .order_by(ActivitySignup.position, ActivitySignup.id)
    )
    result = Roster(activity_view)
    queue = 0
    replied: set[int] = set()
    for signup, name, phone, sector in rows:
        queue_position = None
        if signup.status is SignupStatus.waiting:
            queue += 1
            queue_position = queue
        entry = RosterEntry(
            member_id=signup.member_id,
            name=name,
            phone=phone,
            sector=sector,
            status=signup.status,
            position=signup.position,
            queue_position=queue_position,
            signed_up_at=signup.signed_up_at,
            leave_reason=signup.leave_reason,
            leave_at=signup.leave_at,
            checked_in_at=signup.checked_in_at,
            checkin_method=signup.checkin_method,
        )
        if signup.status in REPLIED:
            replied.add(signup.member_id)
        {
            SignupStatus.signed_up: result.signed_up,
            SignupStatus.checked_in: result.signed_up,
            SignupStatus.waiting: result.waiting,
            SignupStatus.leave: result.leave,
            SignupStatus.cancelled: result.cancelled,
        }[signup.status].append(entry)
        if signup.status is SignupStatus.checked_in:
            result.checked_in.append(entry)
    invited = await session.execute(
        select(Member.id, Member.name, Member.phone, Sector.name)
        .outerjoin(Sector, Sector.id == Member.sector_id)
        .where(Member.active, member_invited(activity_id))
        .order_by(Member.name, Member.id)
    )
    for member_id, name, phone, sector in invited:
        if member_id not in replied:
            result.not_replied.append(RosterEntry(member_id, name, phone, sector, None))
    return result
