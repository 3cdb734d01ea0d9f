"""How staff write a time, as `parse_when` reads it everywhere they type one (the guided
editing, postponing, the spreadsheet): a table of texts and what they mean, relative to the
office's zone and to now, and a table of texts it must refuse (impossible or ambiguous)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.activities import importer
from tests.activities_storage_support import TZ

# Wednesday 25 November 2026, 10:00 in Shanghai (02:00 UTC).
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
# Late on Thursday 31 December 2026 in Shanghai: "明天" is next year.
NEW_YEARS_EVE = datetime(2026, 12, 31, 15, 0, tzinfo=UTC)

READ = [
    # (text, now, the local time it means)
    ("今天 13:30", NOW, "2026-11-25 13:30"),
    ("今天13:30", NOW, "2026-11-25 13:30"),
    ("明天下午3点", NOW, "2026-11-26 15:00"),
    ("明天 下午 3:15", NOW, "2026-11-26 15:15"),
    ("明天下午三点", NOW, "2026-11-26 15:00"),
    ("明天下午两点半", NOW, "2026-11-26 14:30"),
    ("明早8点", NOW, "2026-11-26 08:00"),
    ("今晚8点", NOW, "2026-11-25 20:00"),
    ("后天上午9:30", NOW, "2026-11-27 09:30"),
    ("大后天 9:00", NOW, "2026-11-28 09:00"),
    ("周五上午9点", NOW, "2026-11-27 09:00"),
    ("星期五 9:00", NOW, "2026-11-27 09:00"),
    ("礼拜五 9:00", NOW, "2026-11-27 09:00"),
    ("周日下午3点", NOW, "2026-11-29 15:00"),
    ("星期天 10:00", NOW, "2026-11-29 10:00"),
    # Today's weekday: today while the time is ahead, else a week later.
    ("周三 11:00", NOW, "2026-11-25 11:00"),
    ("周三 9:00", NOW, "2026-12-02 09:00"),
    ("周一 9:00", NOW, "2026-11-30 09:00"),
    ("下周一 10:00", NOW, "2026-11-30 10:00"),
    ("下周三 10:00", NOW, "2026-12-02 10:00"),
    ("12月5日 14:00", NOW, "2026-12-05 14:00"),
    ("12月5日（周六）14:00", NOW, "2026-12-05 14:00"),
    ("12月5日下午2点半", NOW, "2026-12-05 14:30"),
    ("12月5日 14点30分", NOW, "2026-12-05 14:30"),
    ("12-05 14:00", NOW, "2026-12-05 14:00"),
    ("12/5 14:00", NOW, "2026-12-05 14:00"),
    ("2026-12-05 14:00", NOW, "2026-12-05 14:00"),
    ("2026/12/5 14:30", NOW, "2026-12-05 14:30"),
    ("2026.12.5 14:30", NOW, "2026-12-05 14:30"),
    ("2026年12月5日 14:30", NOW, "2026-12-05 14:30"),
    ("２０２６－１２－０５　１４：３０", NOW, "2026-12-05 14:30"),
    ("2026-12-05T14:30", NOW, "2026-12-05 14:30"),
    # A month and day already past this year is next year's; with a year it stays put (and
    # the caller refuses a start in the past).
    ("1月3日 09:00", NOW, "2027-01-03 09:00"),
    ("11-20 09:00", NOW, "2027-11-20 09:00"),
    ("2026-11-20 09:00", NOW, "2026-11-20 09:00"),
    ("11月25日 9:00", NOW, "2026-11-25 09:00"),  # today, already past: not next year
    # Relative days never move to another year's date, they count on.
    ("明天 9:00", NEW_YEARS_EVE, "2027-01-01 09:00"),
    ("周五 9:00", NEW_YEARS_EVE, "2027-01-01 09:00"),
    # A time alone is today.
    ("下午3点半", NOW, "2026-11-25 15:30"),
    ("晚上7点", NOW, "2026-11-25 19:00"),
    ("中午12点", NOW, "2026-11-25 12:00"),
    ("中午1点", NOW, "2026-11-25 13:00"),
    ("下午15点", NOW, "2026-11-25 15:00"),
    ("凌晨5点", NOW, "2026-11-25 05:00"),
    ("9点", NOW, "2026-11-25 09:00"),
    ("14:30", NOW, "2026-11-25 14:30"),
    ("14点一刻", NOW, "2026-11-25 14:15"),
]

REFUSED = [
    "",
    "   ",
    "明天",  # a day without a time
    "2026-12-05",
    "下周五下午",
    "13月5日 10:00",  # no 13th month
    "2026-02-30 10:00",
    "12月32日 10:00",
    "25点",
    "12月5日 25:00",
    "明天 24:00",
    "14:60",
    "上午15点",  # the part of the day and the hour disagree
    "晚上12点",  # midnight or noon?
    "明天3点",  # 03:00 or 15:00?
    "12月5日（周五）14:00",  # 5 December 2026 is a Saturday: which one is meant?
    "周八 10:00",
    "下午",
    "<b>明天</b> 10:00",
    "明天 10:00 🎉",
    "昨天 10:00",
]


@pytest.mark.parametrize(("text", "now", "local"), READ)
def test_a_time_as_staff_write_it(text: str, now: datetime, local: str) -> None:
    moment = importer.parse_when(text, tz=TZ, now=now)
    assert moment is not None, text
    assert moment.tzinfo is not None and moment.utcoffset() == now.utcoffset()
    assert moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M") == local


@pytest.mark.parametrize("text", REFUSED)
def test_an_impossible_or_ambiguous_time_is_refused(text: str) -> None:
    assert importer.parse_when(text, tz=TZ, now=NOW) is None


def test_a_time_alone_takes_the_date_of_base_when_given() -> None:
    start = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai
    end = importer.parse_when("16:30", tz=TZ, now=NOW, base=start)
    assert end == datetime(2026, 12, 5, 8, 30, tzinfo=UTC)
    assert importer.parse_when("下午5点", tz=TZ, now=NOW, base=start) == datetime(
        2026, 12, 5, 9, 0, tzinfo=UTC
    )
    # A day named in the text wins over base.
    assert importer.parse_when("明天 9:00", tz=TZ, now=NOW, base=start) == datetime(
        2026, 11, 26, 1, 0, tzinfo=UTC
    )


def test_the_office_time_zone_decides_what_today_is() -> None:
    # 17:00 UTC on 25 November is already 01:00 on the 26th in Shanghai.
    late = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    assert importer.parse_when("明天 9:00", tz=TZ, now=late) == datetime(
        2026, 11, 27, 1, 0, tzinfo=UTC
    )
