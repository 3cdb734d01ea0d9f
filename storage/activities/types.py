"""The vocabulary of activities: limits, statuses that count, outcomes and problems, the
editable fields, the check-in rules, and the detached snapshots and results every operation
returns. Plain data; nothing here reads the database."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from storage.activities.notices import ActivityNews
from storage.models import (
    ActivityStatus,
    ActivityType,
    SignupStatus,
    TargetKind,
)
from storage.models.activities import CheckinMethod

TITLE_MAX = 100
DESCRIPTION_MAX = 2000
PLACE_MAX = 200
REASON_MAX = 300
CAPACITY_MAX = 100_000
OPEN_STATUSES = (ActivityStatus.published, ActivityStatus.postponed)
HOLDS_PLACE = (SignupStatus.signed_up, SignupStatus.checked_in)
REPLIED = (
    SignupStatus.signed_up,
    SignupStatus.waiting,
    SignupStatus.leave,
    SignupStatus.checked_in,
)


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
    title_no_words = "title_no_words"  # only emoji, punctuation or symbols
    description_too_long = "description_too_long"
    place_too_long = "place_too_long"
    start_in_past = "start_in_past"
    end_before_start = "end_before_start"
    deadline_after_start = "deadline_after_start"
    deadline_in_past = "deadline_in_past"
    postpone_not_later = "postpone_not_later"  # param: the current start, local time
    capacity_invalid = "capacity_invalid"
    capacity_below_signed = "capacity_below_signed"  # param: the number signed up
    incomplete = "incomplete"  # publishing a draft that lacks a field; param: the field
    not_editable = "not_editable"  # cancelled or already over
    not_found = "not_found"
    already_published = "already_published"


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
    news: tuple[ActivityNews, ...] = ()  # who is to be told (the promoted, if reachable)
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
    promoted: tuple[int, ...] = ()
    # Who is to be told about the change; the caller posts the messages in its transaction.
    news: tuple[ActivityNews, ...] = ()

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
