"""Local slots and quiet hours in Asia/Shanghai (no DST) and a zone with DST."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from storage.timing import QuietHours, latest_daily_slot, latest_weekly_slot, parse_hhmm

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def test_quiet_hours_across_midnight_hold_until_morning() -> None:
    quiet = QuietHours(time(22, 0), time(7, 30), SHANGHAI)
    evening = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    assert quiet.contains(evening)
    assert quiet.release(evening) == datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # 07:30 next day
    after_midnight = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 02:00 local
    assert quiet.release(after_midnight) == datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    daytime = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 local
    assert not quiet.contains(daytime)
    assert quiet.release(daytime) == daytime


def test_weekly_slot_is_monday_morning_local() -> None:
    wednesday = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    slot = latest_weekly_slot(wednesday, 0, time(8, 0), SHANGHAI)
    assert slot == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Mon 08:00 Shanghai
    just_before = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)  # Mon 07:59 Shanghai
    assert latest_weekly_slot(just_before, 0, time(8, 0), SHANGHAI) == datetime(
        2026, 11, 16, 0, 0, tzinfo=UTC
    )


def test_daily_slot_in_a_zone_with_daylight_saving() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert latest_daily_slot(summer, time(8, 30), BERLIN) == datetime(2026, 7, 1, 6, 30, tzinfo=UTC)
    assert latest_daily_slot(winter, time(8, 30), BERLIN) == datetime(
        2026, 12, 1, 7, 30, tzinfo=UTC
    )


def test_parse_hhmm_rejects_other_shapes() -> None:
    assert parse_hhmm("07:30") == time(7, 30)
    for bad in ("7.30", "seven", "25"):
        try:
            parse_hhmm(bad)
        except ValueError as exc:
            assert "07:30" in str(exc)
        else:
            raise AssertionError(bad)
