"""What the member and staff sides of activities share: button prefixes, the check-in rules and
notice buttons from settings, the lines every card shows, a pressed button's arguments,
refusals, and staff problem answers. Written against the channel seam (handlers/channel)."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import Markup, escape
from bot.settings import Settings
from bot.telegram_text import truncate_utf16
from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, Line, Text, View
from storage import activities as acts
from storage.activities import (
    ActivityView,
    CheckinRules,
    EditResult,
    Problem,
    Standing,
)
from storage.models import ActivityStatus, ActivityType, SignupStatus

MEMBER = "act"  # callback prefix of the members' buttons
STAFF = "acs"  # ... and of the staff's
DEEPLINK = "act_"
DESCRIPTION_PREVIEW = 800


def rules(settings: Settings) -> CheckinRules:
    return CheckinRules(
        timedelta(minutes=settings.activity_checkin_before_minutes),
        timedelta(minutes=settings.activity_checkin_after_minutes),
        float(settings.activity_checkin_radius_meters),
    )


def member_button(key: str, action: str, *args: object) -> Button:
    return Button(Text(key), Action.of(MEMBER, action, *args))


def staff_button(label: Text | str, action: str, *args: object) -> Button:
    """A staff button; a str label is shown as it is (a title), a key as its text."""
    return Button(label, Action.of(STAFF, action, *args))


def counted(key: str, n: int, /, **params: object) -> Text:
    """A text about n things: key.one when n is 1, key.other otherwise (as the duty record's
    units). English says "1 member" but "2 members", never "member(s)"; Chinese says both the
    same way."""
    return Text.of(f"{key}.{'one' if n == 1 else 'other'}", **params)


def type_name(kind: ActivityType) -> Text:
    return Text(f"activities.type_{kind.value}")


def when_text(turn: Turn, a: ActivityView) -> str:
    return acts.format_span(a.starts_at, a.ends_at, turn.settings.tz)


def count_text(a: ActivityView) -> Text:
    """The live count: 23/30, 4 waiting (or the number signed up when places are unlimited)."""
    if a.capacity is None:
        return Text.of("activities.count_unlimited", signed=a.signed_up)
    if a.waiting:
        return Text.of(
            "activities.count_waiting", signed=a.signed_up, capacity=a.capacity, waiting=a.waiting
        )
    return Text.of("activities.count", signed=a.signed_up, capacity=a.capacity)


def details_text(turn: Turn, a: ActivityView) -> list[Line]:
    """The lines every card shows, for members and staff alike."""
    tz = turn.settings.tz
    lines: list[Line] = [
        Markup(f"📅 <b>{escape(a.title)}</b>"),
        Text.of("activities.card_type", type=type_name(a.type)),
        Text.of("activities.card_when", when=when_text(turn, a)),
    ]
    if a.venue:
        lines.append(Text.of("activities.card_place", place=a.venue))
    lines.append(Text.of("activities.card_count", count=count_text(a)))
    if a.deadline is not None:
        deadline = acts.format_local(a.deadline, tz)
        lines.append(Text.of("activities.card_deadline", deadline=deadline))
    if a.reply_required:
        lines.append(Text("activities.card_reply_required"))
    if a.status is ActivityStatus.postponed:
        lines.append(Text("activities.card_postponed"))
    if a.status is ActivityStatus.cancelled:
        lines.append(Text.of("activities.card_cancelled", reason=a.cancel_reason or "—"))
    if a.description:
        lines.append("")
        lines.append(truncate_utf16(a.description, DESCRIPTION_PREVIEW))  # escaped when shown
    return lines


def standing_text(me: Standing) -> Text:
    if me.status is SignupStatus.waiting:
        return Text.of("activities.me_waiting", position=me.queue_position or "?")
    if me.status is SignupStatus.leave:
        return Text.of("activities.me_leave", reason=me.leave_reason or "—")
    if me.status is None or me.status is SignupStatus.cancelled:
        return Text("activities.me_none")
    return Text(f"activities.me_{me.status.value}")


def typed(turn: Turn) -> str | None:
    """What the member typed: a message's text (a file's caption is no answer here)."""
    return turn.text if turn.media is None else None


async def refuse(turn: Turn, key: str, **params: object) -> None:
    """A refusal as a pop-up on a button (the channel says it in the chat where the press can
    no longer be answered), or as a message when no button was pressed."""
    if turn.action is not None:
        await turn.notify(key, alert=True, **params)
    else:
        await turn.reply(View.of(key, **params))


async def activity_id_arg(turn: Turn) -> int | None:
    """The activity id a button carries; a missing or malformed one is a stale button."""
    activity_id = turn.int_arg(0)
    if activity_id is None:
        await refuse(turn, "common.stale_button")
    return activity_id


async def staff_activity(turn: Turn) -> ActivityView | None:
    """The activity a staff button is about; an unknown id is a stale button."""
    activity_id = await activity_id_arg(turn)
    if activity_id is None:
        return None
    async with turn.db.transaction() as session:
        a = await acts.view(session, activity_id)
    if a is None:
        await refuse(turn, "common.stale_button")
    return a


def example_date(turn: Turn) -> str:
    """An example date a week ahead, in the format the bot asks for."""
    sample = (turn.now() + timedelta(days=7)).astimezone(turn.settings.tz)
    return sample.replace(hour=14, minute=30).strftime("%Y-%m-%d %H:%M")


async def problem(turn: Turn, result: EditResult) -> None:
    """Why a staff change was refused (checked in storage)."""
    assert result.problem is not None
    params: dict[str, object] = {"detail": result.detail, "example": example_date(turn)}
    key = f"activities.problem_{result.problem.value}"
    if result.problem is Problem.incomplete:
        # turn.t, not a Text: a pop-up takes its parameters as they are.
        params["detail"] = turn.t(f"activities.field_{result.detail}")
    if result.problem is Problem.capacity_below_signed:
        key += ".one" if result.detail == "1" else ".other"
    await refuse(turn, key, **params)
