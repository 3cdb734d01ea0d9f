"""Years in local time (settings.tz): which year a moment falls in, where a year begins
and ends, and a moment as a value in a query."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, literal

from storage.models.base import UTCDateTime


def local_year(moment: datetime, tz: tzinfo) -> int:
    return moment.astimezone(tz).year


def year_bounds(year: int, tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants where the local year begins and the next one begins."""
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


def instant(value: datetime) -> ColumnElement[Any]:
    return literal(value, UTCDateTime())
