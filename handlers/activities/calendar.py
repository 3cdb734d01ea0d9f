"""An activity as an iCalendar file, so members can add it to their phone's calendar, and the
card's button that sends it.

Times carry TZID of the configured zone, with its VTIMEZONE included (calendar apps that do not
know the zone still place the event right). The event has the bot's own reminders as alarms
(VALARM): the day before at REMINDER_DAY_BEFORE_AT, local time, when that is earlier than the
second one, and REMINDER_BEFORE_START_MINUTES before the start, the same moments the bot
reminds members who signed up; a member who adds the event hears the phone at those times.
The icalendar package writes the text as RFC 5545 wants it: commas, semicolons, backslashes and
new lines escaped, lines folded at 75 octets without splitting a character.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event

from handlers.activities.card import may_see
from handlers.activities.common import DEEPLINK, activity_id_arg, refuse
from handlers.channel.turn import Turn
from handlers.channel.views import OutFile, Text, View
from storage import activities as acts
from storage.activities import ActivityView
from storage.models import ActivityStatus
from storage.timing import at_local, parse_hhmm

PRODID = "-//CPPCC member bot//activities//ZH"


@dataclass(frozen=True)
class Reminders:
    """When the bot reminds members of an activity (the REMINDER_* settings)."""

    day_before_at: time | None = time(17, 0)
    before_start: timedelta | None = timedelta(hours=2)


def _alarm(trigger: timedelta | datetime, text: str) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")  # DISPLAY needs a DESCRIPTION (RFC 5545 3.6.6)
    alarm.add("description", text)
    # An absolute trigger must say so (RFC 5545 3.8.6.3); icalendar leaves VALUE out.
    absolute = {"VALUE": "DATE-TIME"} if isinstance(trigger, datetime) else {}
    alarm.add("trigger", trigger, parameters=absolute)
    return alarm


def _alarms(activity: ActivityView, zone: ZoneInfo, reminders: Reminders) -> list[Alarm]:
    assert activity.starts_at is not None
    alarms: list[Alarm] = []
    soon = activity.starts_at
    if reminders.before_start is not None:
        soon = activity.starts_at - reminders.before_start
    if reminders.day_before_at is not None:
        day_before = at_local(activity.starts_at - timedelta(days=1), reminders.day_before_at, zone)
        if day_before < soon:  # as the bot's scheduler: only when earlier than the second
            alarms.append(_alarm(day_before, activity.title))  # an absolute UTC trigger
    if reminders.before_start is not None:
        alarms.append(_alarm(-reminders.before_start, activity.title))  # before DTSTART
    return alarms


def activity_ics(
    activity: ActivityView,
    *,
    timezone: str,
    url: str,
    now: datetime,
    description: str = "",
    reminders: Reminders | None = None,
) -> bytes:
    """The .ics bytes of one activity (a single VEVENT with its alarms); the activity must have
    its times."""
    if activity.starts_at is None or activity.ends_at is None:
        raise ValueError("an activity without times has no calendar entry")
    zone = ZoneInfo(timezone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"activity-{activity.id}@cppcc-bot")
    event.add("dtstamp", now)
    event.add("dtstart", activity.starts_at.astimezone(zone))
    event.add("dtend", activity.ends_at.astimezone(zone))
    event.add("summary", activity.title)
    if activity.venue:
        event.add("location", activity.venue)
    if activity.latitude is not None and activity.longitude is not None:
        event.add("geo", (activity.latitude, activity.longitude))
    text = "\n\n".join(part for part in (description or activity.description, url) if part)
    if text:
        event.add("description", text)
    event.add("url", url)
    if activity.status is ActivityStatus.cancelled:
        event.add("status", "CANCELLED")
    else:
        event.add("status", "CONFIRMED")
        for alarm in _alarms(activity, zone, reminders or Reminders()):
            event.add_component(alarm)
    calendar.add_component(event)
    # Only the transitions around the event: a short file, still correct for that period.
    first = activity.starts_at.astimezone(zone).date() - timedelta(days=366)
    last = activity.ends_at.astimezone(zone).date() + timedelta(days=366)
    calendar.add_missing_timezones(first_date=max(first, date(1970, 1, 1)), last_date=last)
    data: bytes = calendar.to_ical()
    return data


async def send_calendar(turn: Turn) -> None:
    """Button: the activity as an .ics file."""
    activity_id = await activity_id_arg(turn)
    if activity_id is None:
        return
    async with turn.db.read() as session:
        card = await acts.card(session, activity_id, turn.member.id)
    if card is None or card.activity.starts_at is None or card.activity.ends_at is None:
        await refuse(turn, "common.stale_button")
        return
    if not may_see(turn, card):
        await refuse(turn, "activities.not_invited")
        return
    a = card.activity
    data = activity_ics(
        a,
        timezone=turn.settings.timezone,
        url=turn.link(f"{DEEPLINK}{a.id}"),
        now=turn.now(),
        reminders=Reminders(
            day_before_at=parse_hhmm(turn.settings.reminder_day_before_at),
            before_start=timedelta(minutes=turn.settings.reminder_before_start_minutes),
        ),
    )
    caption = Text.of("activities.ics_caption", title=a.title)
    await turn.reply(View([caption], file=OutFile(f"activity-{a.id}.ics", data=data)))
