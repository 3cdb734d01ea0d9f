"""The batch spreadsheet: `parse_sheet` reads an .xlsx into rows; `import_activities` checks
every row and creates the activities as drafts, all or nothing. Errors are stable codes for the
locale files.

The cell parsers it uses (storage.activities.parsing) are re-exported here: the staff dialogs
read typed dates and capacities with the same rules as the sheet.
"""

from __future__ import annotations

import enum
import io
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.activities.audience import resolve_targets
from storage.activities.editing import check_times, find_liaison_point
from storage.activities.parsing import (
    CapacityError,
    cell_when,
    normalise,
    parse_capacity,
    parse_type,
    parse_when,
    parse_yes_no,
)
from storage.activities.types import (
    DESCRIPTION_MAX,
    PLACE_MAX,
    TITLE_MAX,
    Problem,
    TargetSpec,
    TargetsResult,
)
from storage.audit import Actor
from storage.control_chars import has_words
from storage.models import Activity, ActivityStatus, ActivityTarget, ActivityType, TargetKind

__all__ = [
    "COLUMNS",
    "HEADER_SEARCH_ROWS",
    "MAX_ROWS",
    "CapacityError",
    "ImportReport",
    "RowError",
    "RowProblem",
    "SheetError",
    "SheetFileError",
    "SheetRow",
    "cell_when",
    "import_activities",
    "parse_audience",
    "parse_capacity",
    "parse_sheet",
    "parse_type",
    "parse_when",
    "parse_yes_no",
]

MAX_ROWS = 200
HEADER_SEARCH_ROWS = 5

# --------------------------------------------------------------------------------------------
# Audience: "全体" or "界别:经济界,农业界; 专委会:提案委; 联系点:鼓楼; 委员:#12,13800138000"

_KIND_NAMES: dict[str, TargetKind] = {
    "全体": TargetKind.everyone,
    "全体委员": TargetKind.everyone,
    "所有": TargetKind.everyone,
    "所有委员": TargetKind.everyone,
    "everyone": TargetKind.everyone,
    "all": TargetKind.everyone,
    "界别": TargetKind.sector,
    "sector": TargetKind.sector,
    "sectors": TargetKind.sector,
    "专委会": TargetKind.committee,
    "committee": TargetKind.committee,
    "committees": TargetKind.committee,
    "联系点": TargetKind.liaison_point,
    "委员联系点": TargetKind.liaison_point,
    "liaisonpoint": TargetKind.liaison_point,
    "委员": TargetKind.member,
    "指定委员": TargetKind.member,
    "member": TargetKind.member,
    "members": TargetKind.member,
}


async def parse_audience(session: AsyncSession, text: str) -> TargetsResult:
    """The audience column: blank or 全体 is everyone; otherwise kind:names groups."""
    value = normalise(text)
    if not value:
        return TargetsResult([TargetSpec(TargetKind.everyone)], [])
    targets: list[TargetSpec] = []
    unknown: list[str] = []
    for group in re.split(r"[;；\n]+", value):
        group = group.strip()
        if not group:
            continue
        head, sep, names = group.partition(":")
        kind = _KIND_NAMES.get(re.sub(r"\s+", "", head.casefold()))
        if kind is None or (not sep and kind is not TargetKind.everyone):
            unknown.append(group)
            continue
        found = await resolve_targets(session, kind, names)
        targets.extend(t for t in found.targets if t not in targets)
        unknown.extend(found.unknown)
        if kind is not TargetKind.everyone and not found.targets and not found.unknown:
            unknown.append(group)
    return TargetsResult(targets, unknown)


# --------------------------------------------------------------------------------------------
# The spreadsheet


class SheetError(enum.StrEnum):
    unreadable = "unreadable"
    no_header = "no_header"
    empty = "empty"
    too_many_rows = "too_many_rows"


class SheetFileError(Exception):
    def __init__(self, code: SheetError) -> None:
        self.code = code
        super().__init__(code.value)


class RowError(enum.StrEnum):
    bad_type = "bad_type"
    missing_title = "missing_title"
    title_too_long = "title_too_long"
    title_no_words = "title_no_words"
    description_too_long = "description_too_long"
    place_too_long = "place_too_long"
    missing_place = "missing_place"
    bad_start = "bad_start"
    bad_end = "bad_end"
    bad_deadline = "bad_deadline"
    start_in_past = "start_in_past"
    end_before_start = "end_before_start"
    deadline_after_start = "deadline_after_start"
    deadline_in_past = "deadline_in_past"
    bad_capacity = "bad_capacity"
    bad_reply = "bad_reply"
    unknown_liaison_point = "unknown_liaison_point"
    unknown_audience = "unknown_audience"


@dataclass(frozen=True)
class SheetRow:
    row: int
    cells: dict[str, object]

    def text(self, name: str) -> str:
        value = self.cells.get(name)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()


@dataclass(frozen=True)
class RowProblem:
    row: int
    error: RowError
    detail: str = ""


@dataclass
class ImportReport:
    batch: str | None = None
    created: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.created)


# The headers a sheet may use for each column; the first is the one the blank template has.
COLUMNS: dict[str, tuple[str, ...]] = {
    "type": ("类型", "活动类型", "type"),
    "title": ("标题", "活动名称", "名称", "活动标题", "title"),
    "description": ("说明", "内容", "活动内容", "简介", "活动说明", "description"),
    "start": ("开始时间", "开始", "start", "starts"),
    "end": ("结束时间", "结束", "end", "ends"),
    "place": ("地点", "活动地点", "place", "venue"),
    "liaison_point": ("联系点", "委员联系点", "liaisonpoint"),
    "capacity": ("人数", "名额", "人数上限", "限额", "capacity"),
    "deadline": ("报名截止", "报名截止时间", "截止时间", "截止", "deadline"),
    "audience": ("邀请范围", "邀请", "参加对象", "对象", "audience", "invited"),
    "reply": ("需回复", "需要回复", "须回复", "是否需回复", "reply", "replyrequired"),
}
TEMPLATE_HEADERS = tuple(aliases[0] for aliases in COLUMNS.values())
_BY_HEADER = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}
_HEADER_NOISE = re.compile(r"\(.*?\)|（.*?）|[\s_\-*:：]+")


def _header(value: object) -> str | None:
    if value is None:
        return None
    return _BY_HEADER.get(_HEADER_NOISE.sub("", normalise(str(value)).casefold()))


def parse_sheet(data: bytes) -> list[SheetRow]:
    """The rows of the first worksheet under a header row naming at least type and title."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken or foreign file
        raise SheetFileError(SheetError.unreadable) from exc
    try:
        sheet = workbook.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    header_row: int | None = None
    columns: dict[str, int] = {}
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = {}
        for col, cell in enumerate(cells):
            name = _header(cell)
            if name is not None and name not in columns:
                columns[name] = col
        if {"type", "title", "start"} <= columns.keys():
            header_row = index
            break
    if header_row is None:
        raise SheetFileError(SheetError.no_header)
    out = []
    for number, cells in enumerate(rows[header_row + 1 :], start=header_row + 2):
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        values: dict[str, object] = {
            name: cells[col] if col < len(cells) else None for name, col in columns.items()
        }
        out.append(SheetRow(number, values))
    if not out:
        raise SheetFileError(SheetError.empty)
    if len(out) > MAX_ROWS:
        raise SheetFileError(SheetError.too_many_rows)
    return out


_PROBLEM_TO_ROW = {
    Problem.start_in_past: RowError.start_in_past,
    Problem.end_before_start: RowError.end_before_start,
    Problem.deadline_after_start: RowError.deadline_after_start,
    Problem.deadline_in_past: RowError.deadline_in_past,
}


@dataclass
class _Draft:
    row: int
    type: ActivityType
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    deadline: datetime | None
    place: str
    point_id: int | None
    latitude: float | None
    longitude: float | None
    capacity: int | None
    reply: bool
    targets: list[TargetSpec]


async def _check_row(
    session: AsyncSession, row: SheetRow, *, tz: tzinfo, now: datetime
) -> _Draft | list[RowProblem]:
    problems: list[RowProblem] = []

    def bad(error: RowError, detail: str = "") -> None:
        problems.append(RowProblem(row.row, error, detail[:100]))

    kind = parse_type(row.text("type"))
    if kind is None:
        bad(RowError.bad_type, row.text("type"))
    title = row.text("title")
    if not title:
        bad(RowError.missing_title)
    elif len(title) > TITLE_MAX:
        bad(RowError.title_too_long)
    elif not has_words(title):
        bad(RowError.title_no_words, title)
    description = row.text("description")
    if len(description) > DESCRIPTION_MAX:
        bad(RowError.description_too_long)
    starts = cell_when(row.cells.get("start"), tz=tz, now=now)
    if starts is None:
        bad(RowError.bad_start, row.text("start"))
    # An end on the same day may be a time alone ("16:30"): on the start's date.
    ends = cell_when(row.cells.get("end"), tz=tz, now=now, base=starts)
    if ends is None:
        bad(RowError.bad_end, row.text("end"))
    deadline = None
    if row.text("deadline"):
        deadline = cell_when(row.cells.get("deadline"), tz=tz, now=now)
        if deadline is None:
            bad(RowError.bad_deadline, row.text("deadline"))
    if starts is not None and ends is not None:
        problem = check_times(
            starts, ends, deadline, now=now, start_changed=True, deadline_changed=True
        )
        if problem is not None:
            bad(_PROBLEM_TO_ROW[problem])
    place = row.text("place")
    if len(place) > PLACE_MAX:
        bad(RowError.place_too_long)
    point = None
    if row.text("liaison_point"):
        point = await find_liaison_point(session, row.text("liaison_point"))
        if point is None:
            bad(RowError.unknown_liaison_point, row.text("liaison_point"))
    if not place and point is None and not row.text("liaison_point"):
        bad(RowError.missing_place)
    capacity = parse_capacity(row.text("capacity"))
    if isinstance(capacity, CapacityError):
        bad(RowError.bad_capacity, row.text("capacity"))
    reply = parse_yes_no(row.text("reply"))
    if reply is None:
        bad(RowError.bad_reply, row.text("reply"))
    audience = await parse_audience(session, row.text("audience"))
    if audience.unknown:
        bad(RowError.unknown_audience, "、".join(audience.unknown))
    if problems:
        return problems
    assert kind is not None and starts is not None and ends is not None
    assert not isinstance(capacity, CapacityError) and reply is not None
    return _Draft(
        row=row.row,
        type=kind,
        title=title,
        description=description,
        starts_at=starts,
        ends_at=ends,
        deadline=deadline,
        place=place or (point.name if point else ""),
        point_id=point.id if point else None,
        latitude=point.latitude if point else None,
        longitude=point.longitude if point else None,
        capacity=capacity,
        reply=reply,
        targets=audience.targets,
    )


async def import_activities(
    session: AsyncSession, rows: Sequence[SheetRow], *, actor: Actor, tz: tzinfo, now: datetime
) -> ImportReport:
    """Check every row; when all are good create them as drafts of one batch, else nothing."""
    report = ImportReport()
    drafts: list[_Draft] = []
    for row in rows:
        checked = await _check_row(session, row, tz=tz, now=now)
        if isinstance(checked, list):
            report.problems.extend(checked)
        else:
            drafts.append(checked)
    if report.problems:
        return report
    batch = secrets.token_hex(6)
    for draft in drafts:
        activity = Activity(
            type=draft.type,
            status=ActivityStatus.draft,
            title=draft.title,
            description=draft.description,
            starts_at=draft.starts_at,
            ends_at=draft.ends_at,
            signup_deadline=draft.deadline,
            place=draft.place,
            liaison_point_id=draft.point_id,
            latitude=draft.latitude,
            longitude=draft.longitude,
            capacity=draft.capacity,
            reply_required=draft.reply,
            import_batch=batch,
            created_by=actor.member_id,
        )
        session.add(activity)
        await session.flush()
        for target in draft.targets:
            session.add(
                ActivityTarget(activity_id=activity.id, kind=target.kind, ref_id=target.ref_id)
            )
        report.created.append(activity.id)
    await audit.record(
        session,
        actor,
        "activity.import",
        object_type="activity_batch",
        object_id=batch,
        created=len(drafts),
    )
    report.batch = batch
    return report
