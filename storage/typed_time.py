"""Dates and times as people type them: "2026-12-05 14:30", "12月5日 14:30", "明天下午3点",
"周五上午9点", "下午3点半" and more (`parse_when`'s docstring; the table in
tests/test_activities_when.py). Shared by everything staff schedule: activities (in chat, when
postponing, in the spreadsheet import) and notices sent at a set time.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta, tzinfo

# --------------------------------------------------------------------------------------------
# Dates and times
#
# One grammar: an optional day (a date, 今天/明天/后天, or a weekday), an optional part of the
# day (上午, 下午, 晚上...), then a clock time, which is required: a day alone is no time.

_DATE = (
    r"(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"
    r"\s*(?:T|\s)?\s*(?:[(（]?\s*(?:周|星期|礼拜)(?P<noted>[一二三四五六日天])\s*[)）]?)?"
)
_RELATIVE = r"(?P<rel>大后天|后天|明天|明日|今天|今日)"
_WEEKDAY = r"(?P<week>下下|下|本|这)?\s*(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])"
_DAY_PART = r"(?P<part>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里)?"
_CLOCK = (
    r"(?P<h>\d{1,2})\s*(?:[:.](?P<m>\d{2})|(?P<dian>点钟?|时)\s*(?:(?P<m2>\d{1,2})\s*分?"
    r"|(?P<half>半)|(?P<quarter>一刻)|整)?)"
)
_WHEN = re.compile(
    r"^(?:"
    + _DATE
    + r"|"
    + _RELATIVE
    + r"|"
    + _WEEKDAY
    + r")?\s*[,，]?\s*"
    + _DAY_PART
    + r"\s*"
    + _CLOCK
    + r"$"
)
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_DAYS_AHEAD = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
_WEEKS_AHEAD = {"下": 1, "下下": 2, "本": 0, "这": 0}
# 今晚 is 今天晚上, and so on: rewritten before the grammar reads them.
_SHORT_DAY_PARTS = {"今晚": "今天晚上", "明晚": "明天晚上", "今早": "今天早上", "明早": "明天早上"}
# Hours written in Chinese numerals before 点 or 时 ("下午三点").
_HOUR_NUMERALS = {
    **{name: n for n, name in enumerate("零一二三四五六七八九十")},
    "两": 2,
    "十一": 11,
    "十二": 12,
    **{f"二十{name}": 20 + n for n, name in enumerate("一二三", start=1)},
    "二十": 20,
}
_HOUR_WORD = re.compile(r"(二十[一二三]?|十[一二]?|[零一二两三四五六七八九])(?=\s*(?:点|时))")


def normalise(text: str) -> str:
    # NFKC turns full-width digits and "：" into ASCII; people paste both.
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip()


def _hour(hour: int, part: str | None, by_dian: bool) -> int | None:
    """The 24-hour hour of a clock time with its part of the day; None when the two disagree
    (上午15点) or the hour could be either (晚上12点, or 3点 with no part of the day: 03:00
    nobody means, 15:00 is a guess). "15:00" and "9:30" are read as a 24-hour clock."""
    if part is None:
        if by_dian and 1 <= hour <= 6:
            return None
        return hour
    if part == "凌晨":
        return hour if hour <= 6 else None
    if part in ("早上", "早晨", "上午"):
        return hour if hour <= 11 else None
    if part == "中午":
        return hour if hour in (11, 12) else hour + 12 if 1 <= hour <= 3 else None
    # 下午, 傍晚, 晚上, 夜里
    if 1 <= hour <= 11:
        return hour + 12
    return hour if 13 <= hour <= 23 else None


def _clock(match: re.Match[str]) -> time | None:
    hour = _hour(int(match["h"]), match["part"], match["dian"] is not None)
    minute_text = match["m"] or match["m2"]
    if minute_text:
        minute = int(minute_text)
    else:
        minute = 30 if match["half"] else 15 if match["quarter"] else 0
    if hour is None or not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def _day(match: re.Match[str], today: date, base: date | None) -> date | None:
    """The day the text names, or None for an impossible date (13月, 2月30日)."""
    if match["mo"] is not None:
        year = int(match["y"]) if match["y"] else today.year
        try:
            day = date(year, int(match["mo"]), int(match["d"]))
            if not match["y"] and day < today:
                # A month and day already past this year: next year's.
                day = date(year + 1, day.month, day.day)
        except ValueError:
            return None
        noted = match["noted"]
        if noted is not None and _WEEKDAYS[noted] != day.weekday():
            return None  # "12月5日（周五）" when 5 December is a Saturday: which one is meant?
        return day
    if match["rel"] is not None:
        return today + timedelta(days=_DAYS_AHEAD[match["rel"]])
    if match["wd"] is not None:
        weekday = _WEEKDAYS[match["wd"]]
        if match["week"] is not None:
            monday = today - timedelta(days=today.weekday())
            return monday + timedelta(weeks=_WEEKS_AHEAD[match["week"]], days=weekday)
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    return base if base is not None else today


def parse_when(
    text: str, *, tz: tzinfo, now: datetime, base: datetime | None = None
) -> datetime | None:
    """A local date and time typed by staff, as an aware datetime (in now's zone); None when
    unreadable, impossible or ambiguous.

    Read in the office's zone (tz) relative to now: "2026-12-05 14:30", "12月5日 14:30",
    "12-05 14:30", "今天 13:30", "明天下午3点", "后天上午9:30", "周五上午9点", "星期五 9:00",
    "下周一 10:00", "下午3点半", "晚上7点". A month and day without a year already past this
    year is next year's; a weekday alone is the next one whose time is still ahead (today's
    when it is that day and the time has not passed). A time alone is on base's date (e.g.
    the start, for an end) or, without base, today.
    """
    value = normalise(text)
    for short, long in _SHORT_DAY_PARTS.items():
        value = value.replace(short, long)
    value = _HOUR_WORD.sub(lambda m: str(_HOUR_NUMERALS[m[1]]), value)
    match = _WHEN.match(value)
    if match is None:
        return None
    clock = _clock(match)
    if clock is None:
        return None
    local_now = now.astimezone(tz)
    base_day = base.astimezone(tz).date() if base is not None else None
    day = _day(match, local_now.date(), base_day)
    if day is None:
        return None
    moment = datetime.combine(day, clock, tzinfo=tz)
    if match["wd"] is not None and match["week"] is None and moment <= local_now:
        moment = datetime.combine(day + timedelta(days=7), clock, tzinfo=tz)
    return moment.astimezone(now.tzinfo)
