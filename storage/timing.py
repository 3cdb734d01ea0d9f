"""Wall-clock rules for scheduled messages: local slots and quiet hours, in one time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_hhmm(text: str) -> time:
    """'07:30' → time(7, 30); ValueError with the expected format otherwise."""
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit():
        raise ValueError(f"{text!r} is not a time like 07:30")
    return time(int(hours), int(minutes))


def at_local(day: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The UTC moment of `at` o'clock, local time, on the local calendar day of `day`."""
    local_day = day.astimezone(tz).date()
    return datetime.combine(local_day, at, tzinfo=tz).astimezone(UTC)


def latest_weekly_slot(now: datetime, weekday: int, at: time, tz: ZoneInfo) -> datetime:
    """The most recent weekday (0 = Monday) at `at` local time that is not after now."""
    local = now.astimezone(tz)
    days_back = (local.weekday() - weekday) % 7
    slot = at_local(local - timedelta(days=days_back), at, tz)
    if slot > now:
        slot = at_local(local - timedelta(days=days_back + 7), at, tz)
    return slot


def latest_daily_slot(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """Today's `at` local time if it has passed, else yesterday's."""
    slot = at_local(now, at, tz)
    return slot if slot <= now else at_local(now - timedelta(days=1), at, tz)


@dataclass(frozen=True)
class QuietHours:
    """Local hours in which nothing non-urgent is sent (may span midnight, e.g. 22:00–07:30)."""

    start: time
    end: time
    tz: ZoneInfo

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def release(self, moment: datetime) -> datetime:
        """moment itself outside quiet hours, else the moment the quiet period ends."""
        if not self.contains(moment):
            return moment
        end_today = at_local(moment, self.end, self.tz)
        return (
            end_today
            if end_today > moment
            else at_local(moment + timedelta(days=1), self.end, self.tz)
        )
