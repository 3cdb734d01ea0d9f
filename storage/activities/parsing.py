"""Staff input as people type it: spreadsheet dates, activity types, capacity and yes/no.
Typed dates and times are storage/typed_time.py's `parse_when` (re-exported here)."""

from __future__ import annotations

import enum
import re
from datetime import datetime, tzinfo

from storage.activities.types import CAPACITY_MAX
from storage.models import ActivityType
from storage.typed_time import normalise as normalise
from storage.typed_time import parse_when as parse_when


def cell_when(
    value: object, *, tz: tzinfo, now: datetime, base: datetime | None = None
) -> datetime | None:
    """A spreadsheet cell: a real date-time (local wall clock) or text (a time alone is on
    base's date, as in parse_when)."""
    if isinstance(value, datetime):
        local = value.replace(tzinfo=tz) if value.tzinfo is None else value
        return local.astimezone(now.tzinfo)
    if value is None:
        return None
    return parse_when(str(value), tz=tz, now=now, base=base)


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


# Not "0": zero places is no activity, and reading it as "no limit" would invite everyone.
_UNLIMITED = {"不限", "无限", "无限制", "不限人数", "unlimited", "none", "-", "—"}


class CapacityError(enum.StrEnum):
    invalid = "invalid"
    zero = "zero"


def parse_capacity(text: str) -> int | CapacityError | None:
    """A positive number of places; None for unlimited (不限 / blank); zero is refused."""
    value = normalise(text).casefold().removesuffix("人").removesuffix("名").strip()
    if value in _UNLIMITED or value == "":
        return None
    if value.endswith(".0"):
        value = value[:-2]
    if not value.isdigit():
        return CapacityError.invalid
    number = int(value)
    if number == 0:
        return CapacityError.zero
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
