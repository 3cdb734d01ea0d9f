"""Staff input as people type it: dates and times, activity types, capacity and yes/no.

`parse_when` understands "2026-12-05 14:30", "2026/12/5 14:30", "12月5日 14:30", "12月5日下午2点半"
and a few more. Used by the guided editing in chat and by the spreadsheet import alike.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import date, datetime, time, tzinfo

from storage.activities.types import CAPACITY_MAX
from storage.models import ActivityType

# --------------------------------------------------------------------------------------------
# Dates and times

_DAY_PART = r"(?P<part>上午|早上|中午|下午|晚上)?"
_CLOCK = (
    r"(?P<h>\d{1,2})\s*(?:[:.](?P<m>\d{2})|点\s*(?:(?P<m2>\d{1,2})\s*分?|(?P<half>半))?|时"
    r"\s*(?:(?P<m3>\d{1,2})\s*分)?)"
)
_FULL = re.compile(
    r"^(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"
    r"\s*(?:T|\s)?\s*(?:[(（]?\s*(?:周|星期)[一二三四五六日天]\s*[)）]?)?\s*"
    + _DAY_PART
    + r"\s*"
    + _CLOCK
    + r"$"
)
_TIME_ONLY = re.compile(r"^" + _DAY_PART + r"\s*" + _CLOCK + r"$")


def normalise(text: str) -> str:
    # NFKC turns full-width digits and "：" into ASCII; people paste both.
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip()


def _clock(match: re.Match[str]) -> time | None:
    hour = int(match["h"])
    minute_text = match["m"] or match["m2"] or match["m3"]
    minute = int(minute_text) if minute_text else (30 if match["half"] else 0)
    part = match["part"]
    if part in ("下午", "晚上") and hour < 12:
        hour += 12
    if part == "中午" and hour < 11:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def parse_when(
    text: str, *, tz: tzinfo, now: datetime, base: datetime | None = None
) -> datetime | None:
    """A local date and time typed by staff, as an aware UTC datetime; None when unreadable.

    Without a year, the next such date from today. A time alone ("16:30") needs base: the
    date of base (e.g. the start) is used.
    """
    value = normalise(text)
    if not value:
        return None
    today = now.astimezone(tz).date()
    full = _FULL.match(value)
    if full is not None:
        clock = _clock(full)
        if clock is None:
            return None
        month, day = int(full["mo"]), int(full["d"])
        year = int(full["y"]) if full["y"] else today.year
        try:
            day_date = date(year, month, day)
        except ValueError:
            return None
        if not full["y"] and day_date < today:
            try:
                day_date = date(year + 1, month, day)
            except ValueError:
                return None
        return datetime.combine(day_date, clock, tzinfo=tz).astimezone(now.tzinfo)
    only = _TIME_ONLY.match(value)
    if only is not None and base is not None:
        clock = _clock(only)
        if clock is None:
            return None
        return datetime.combine(base.astimezone(tz).date(), clock, tzinfo=tz).astimezone(now.tzinfo)
    return None


def cell_when(value: object, *, tz: tzinfo, now: datetime) -> datetime | None:
    """A spreadsheet cell: a real date-time (local wall clock) or text."""
    if isinstance(value, datetime):
        local = value.replace(tzinfo=tz) if value.tzinfo is None else value
        return local.astimezone(now.tzinfo)
    if value is None:
        return None
    return parse_when(str(value), tz=tz, now=now)


# --------------------------------------------------------------------------------------------
# Types, capacity, yes/no as typed

TYPE_NAMES: dict[str, ActivityType] = {
    "走进政协": ActivityType.visit,
    "委员在行动": ActivityType.service_day,
    "微协商": ActivityType.micro_consultation,
    "异地学习培训": ActivityType.training,
    "学习培训": ActivityType.training,
    "培训": ActivityType.training,
    "视察调研": ActivityType.inspection,
    "视察": ActivityType.inspection,
    "调研": ActivityType.inspection,
    "专题协商会": ActivityType.meeting,
    "协商会": ActivityType.meeting,
    "会议": ActivityType.meeting,
    **{t.value: t for t in ActivityType},
}


def parse_type(text: str) -> ActivityType | None:
    key = re.sub(r"[\s_\-]+", "", normalise(text).casefold())
    for name, value in TYPE_NAMES.items():
        if re.sub(r"[\s_\-]+", "", name.casefold()) == key:
            return value
    return None


_UNLIMITED = {"不限", "无限", "无限制", "不限人数", "unlimited", "none", "-", "—", "0"}


class CapacityError(enum.StrEnum):
    invalid = "invalid"


def parse_capacity(text: str) -> int | CapacityError | None:
    """A positive number of places; None for unlimited (不限 / blank)."""
    value = normalise(text).casefold().removesuffix("人").removesuffix("名").strip()
    if value in _UNLIMITED or value == "":
        return None
    if value.endswith(".0"):
        value = value[:-2]
    if not value.isdigit():
        return CapacityError.invalid
    number = int(value)
    if not 1 <= number <= CAPACITY_MAX:
        return CapacityError.invalid
    return number


_YES = {"是", "需要", "要", "必须", "yes", "y", "true", "1", "✓", "√"}
_NO = {"否", "不需要", "不", "no", "n", "false", "0", ""}


def parse_yes_no(text: str) -> bool | None:
    value = normalise(text).casefold()
    if value in _YES:
        return True
    if value in _NO:
        return False
    return None
