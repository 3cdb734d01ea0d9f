"""A staff search over reports: typed as key=value words (/reports status=… category=…), or
carried in a button's data as a short code, and turned into the storage filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.i18n import Texts
from bot.settings import Settings
from handlers.channel.turn import Turn
from storage import reports
from storage.models import ReportStatus
from storage.reports import ReportFilter

STATUSES = list(ReportStatus)
# What each key of a typed search is called: the name itself, or its word in any locale
# (reports.review.filter.<name>; several words separated by commas).
FILTER_NAMES = ("status", "category", "from", "to", "member", "sector")


@dataclass(frozen=True)
class Query:
    """A staff search as typed or tapped; fits in callback data (see encode)."""

    status: ReportStatus | None = None
    category: int | None = None  # index into settings.report_categories
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    member_id: int | None = None
    sector_id: int | None = None

    def to_filter(self, settings: Settings) -> ReportFilter:
        tz = settings.tz
        names = settings.report_categories
        start = datetime.combine(self.date_from, time(), tz) if self.date_from else None
        end = (
            datetime.combine(self.date_to + timedelta(days=1), time(), tz) if self.date_to else None
        )
        return ReportFilter(
            status=self.status,
            category=names[self.category]
            if self.category is not None and self.category < len(names)
            else None,
            submitted_from=start,
            submitted_before=end,
            member_id=self.member_id,
            sector_id=self.sector_id,
        )


def encode(query: Query) -> str:
    parts = []
    if query.status is not None:
        parts.append(f"s{STATUSES.index(query.status)}")
    if query.category is not None:
        parts.append(f"c{query.category}")
    if query.date_from is not None:
        parts.append(f"f{query.date_from:%Y%m%d}")
    if query.date_to is not None:
        parts.append(f"t{query.date_to:%Y%m%d}")
    if query.member_id is not None:
        parts.append(f"m{query.member_id}")
    if query.sector_id is not None:
        parts.append(f"x{query.sector_id}")
    return ".".join(parts) or "-"


def decode(code: str | None) -> Query | None:
    if code is None:
        return None
    if code == "-":
        return Query()
    values: dict[str, object] = {}
    try:
        for part in code.split("."):
            kind, value = part[:1], part[1:]
            if kind == "s":
                values["status"] = STATUSES[int(value)]
            elif kind == "c":
                values["category"] = int(value)
            elif kind in "ft" and kind:
                day = datetime.strptime(value, "%Y%m%d").date()
                values["date_from" if kind == "f" else "date_to"] = day
            elif kind == "m":
                values["member_id"] = int(value)
            elif kind == "x":
                values["sector_id"] = int(value)
            else:
                return None
    except (ValueError, IndexError):
        return None
    return Query(**values)  # type: ignore[arg-type]


class QueryError(Exception):
    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def filter_keys(texts: Texts) -> dict[str, str]:
    """Every word a staff member may type for a key (English or Chinese), lowercased -> the
    key's name."""
    keys = {}
    for name in FILTER_NAMES:
        keys[name] = name
        for variant in texts.all_variants(f"reports.review.filter.{name}"):
            for word in variant.split(","):
                if word.strip():
                    keys[word.strip().lower()] = name
    return keys


async def parse_query(turn: Turn, args: list[str]) -> Query:
    """key=value words (English or Chinese keys) into a Query; QueryError says what is wrong."""
    values: dict[str, object] = {}
    keys = filter_keys(turn.texts)
    for word in args:
        key, sep, value = word.replace("＝", "=").partition("=")
        name = keys.get(key.strip().lower())
        value = value.strip()
        if not sep or name is None or not value:
            raise QueryError("reports.review.search_usage")
        if name == "status":
            values["status"] = _status_named(turn.texts, value)
        elif name == "category":
            values["category"] = _category_named(turn, value)
        elif name in ("from", "to"):
            try:
                day = datetime.strptime(value.replace("/", "-"), "%Y-%m-%d").date()
            except ValueError:
                raise QueryError("reports.review.bad_date", value=value) from None
            values["date_from" if name == "from" else "date_to"] = day
        elif name == "member":
            values["member_id"] = await _member_named(turn, value)
        else:
            async with turn.db.transaction() as session:
                sector = await reports.find_sector(session, value)
            if sector is None:
                raise QueryError("reports.review.no_sector", value=value)
            values["sector_id"] = sector.id
    return Query(**values)  # type: ignore[arg-type]


def _status_named(texts: Texts, value: str) -> ReportStatus:
    wanted = value.lower()
    for status in STATUSES:
        names = {
            status.value,
            *(v.lower() for v in texts.all_variants(f"reports.status.{status.value}")),
        }
        if wanted in names and status is not ReportStatus.draft:
            return status
    raise QueryError("reports.review.bad_status", value=value)


def _category_named(turn: Turn, value: str) -> int:
    wanted = value.lower()
    for index, key in enumerate(turn.settings.report_categories):
        names = {key.lower()}
        locale_key = f"reports.category.{key}"
        if turn.texts.has(locale_key):
            names |= {v.lower() for v in turn.texts.all_variants(locale_key)}
        if wanted in names:
            return index
    raise QueryError("reports.review.bad_category", value=value)


async def _member_named(turn: Turn, value: str) -> int:
    async with turn.db.transaction() as session:
        found = await reports.find_members(session, value, limit=6)
    exact = [p for p in found if p.name == value]
    if len(exact) == 1 or len(found) == 1:
        return (exact or found)[0].id
    if not found:
        raise QueryError("reports.review.no_member", value=value)
    names = "、".join(f"{p.name} #{p.id}" for p in found)
    raise QueryError("reports.review.many_members", value=value, names=names)
