"""An activity as an iCalendar file, so members can add it to their phone's calendar, and the
card's button that sends it.

Times carry TZID of the configured zone, with its VTIMEZONE included (calendar apps that do not
know the zone still place the event right).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from handlers.activities.card import may_see
from handlers.activities.common import DEEPLINK, activity_id_arg, refuse
from handlers.channel.turn import Turn
from handlers.channel.views import OutFile, Text, View
from storage import activities as acts
from storage.activities import ActivityView
from storage.models import ActivityStatus

PRODID = "-//CPPCC member bot//activities//ZH"


def activity_ics(
    activity: ActivityView, *, timezone: str, url: str, now: datetime, description: str = ""
) -> bytes:
    """The .ics bytes of one activity (a single VEVENT); the activity must have its times."""
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
    )
    caption = Text.of("activities.ics_caption", title=a.title)
    await turn.reply(View([caption], file=OutFile(f"activity-{a.id}.ics", data=data)))
