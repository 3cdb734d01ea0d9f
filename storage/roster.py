"""The roster import: a staff spreadsheet (.xlsx or .csv) in, members upserted by phone.

`parse_roster` reads a file into `RosterRow`s (no database); `import_roster` writes them in the
caller's transaction and returns an `ImportReport`. Nothing here renders text: reason and error
codes are stable keys for the bot's locale files.

Blank cells versus missing columns: an optional field is None on a `RosterRow` when the file has
no such column (the import leaves that field of existing members alone) and "" (or an empty tuple
of committees) when the column is there but the cell is blank (the import clears the field).
"""

from __future__ import annotations

import csv
import enum
import io
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import Actor
from storage.control_chars import without_control_chars
from storage.models.base import utcnow
from storage.models.members import (
    AuditLog,
    Committee,
    LiaisonPoint,
    Member,
    Sector,
    member_committee,
)
from storage.phones import normalize_phone

__all__ = [
    "ImportReport",
    "RejectReason",
    "RejectedRow",
    "RosterFileError",
    "RosterFileErrorCode",
    "RosterRow",
    "import_roster",
    "parse_roster",
]

HEADER_SEARCH_ROWS = 5
_MAX_DETAIL = 100  # characters of a bad value kept in a RejectedRow
_IN_CHUNK = 5000  # bind parameters per IN (...) query; SQLite and asyncpg both cap them


# --------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One data row of a roster file; `row` is its 1-based row number in the spreadsheet."""

    row: int
    name: str | None
    phone: str | None  # as written in the file, not normalised
    sector: str | None = None
    committees: tuple[str, ...] | None = None
    liaison_point: str | None = None
    organisation: str | None = None


class RejectReason(enum.StrEnum):
    missing_name = "missing_name"
    missing_phone = "missing_phone"
    bad_phone = "bad_phone"  # detail: the raw value
    duplicate_phone = "duplicate_phone"  # detail: row number of the first occurrence
    too_long = "too_long"  # detail: the field ("name", "sector", "committees", ...)


@dataclass(frozen=True, slots=True)
class RejectedRow:
    row: int
    reason: RejectReason
    detail: str = ""


@dataclass(slots=True)
class ImportReport:
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    # Names the import had to create: worth showing, a typo in the file shows up here.
    new_sectors: list[str] = field(default_factory=list)
    new_committees: list[str] = field(default_factory=list)
    new_liaison_points: list[str] = field(default_factory=list)


class RosterFileErrorCode(enum.StrEnum):
    unreadable = "unreadable"
    no_header = "no_header"
    unsupported_type = "unsupported_type"


class RosterFileError(Exception):
    """The file as a whole cannot be read as a roster."""

    def __init__(self, code: RosterFileErrorCode | str, detail: str = "") -> None:
        self.code = RosterFileErrorCode(code)
        self.detail = detail
        super().__init__(f"{self.code}: {detail}" if detail else str(self.code))


# --------------------------------------------------------------------------------------------
# Headers

_FIELDS = ("name", "phone", "sector", "committees", "liaison_point", "organisation")
_REQUIRED = ("name", "phone")

_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "委员姓名", "name", "fullname"),
    "phone": (
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "联系电话",
        "电话号码",
        "phone",
        "mobile",
        "phonenumber",
        "mobilephone",
        "tel",
    ),
    "sector": ("界别", "所属界别", "sector"),
    "committees": ("专委会", "专门委员会", "所属专委会", "committee", "committees"),
    "liaison_point": ("联系点", "委员联系点", "所属联系点", "liaisonpoint"),
    "organisation": (
        "工作单位",
        "单位职务",
        "工作单位及职务",
        "单位及职务",
        "organisation",
        "organization",
    ),
}
_FIELD_BY_HEADER = {alias: f for f, aliases in _HEADER_ALIASES.items() for alias in aliases}
_HEADER_NOISE = re.compile(r"\(.*?\)|[\s_\-*:：]+")  # "手机号码(必填)*", "Liaison_Point:"


# Column widths of the database, so an over-long cell is a rejected row, not a failed import.
def _length(column: Any) -> int | None:
    return getattr(column.type, "length", None)


_MAX_LENGTH = {
    "name": _length(Member.__table__.c.name),
    "sector": _length(Sector.__table__.c.name),
    "committees": _length(Committee.__table__.c.name),
    "liaison_point": _length(LiaisonPoint.__table__.c.name),
    "organisation": _length(Member.__table__.c.organisation),
}

_COMMITTEE_SEPARATORS = re.compile(r"[、,，;；/／|\r\n]+")
_WHITESPACE = re.compile(r"\s+")
_CJK_ONLY = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")


def _header_field(value: object) -> str | None:
    if value is None:
        return None
    text = _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", str(value)).casefold())
    return _FIELD_BY_HEADER.get(text)


def _header_map(cells: Sequence[object]) -> dict[str, int]:
    """Field -> column index for a candidate header row (first column wins on repeats)."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = _header_field(cell)
        if name is not None and name not in columns:
            columns[name] = index
    return columns


# --------------------------------------------------------------------------------------------
# Cells


def _cell_text(value: object) -> str:
    """A cell as text; spreadsheets store phone numbers as numbers, often as floats."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    # A CSV can carry control characters (a NUL fails the write on PostgreSQL): same rule as
    # for what members type.
    return without_control_chars(str(value)).strip()


def _clean(text: str) -> str:
    return _WHITESPACE.sub(" ", text.replace("\u3000", " ")).strip()


def _clean_name(text: str) -> str:
    # Chinese rosters pad two-character names for alignment: "王　芳" is 王芳.
    name = _clean(text)
    squeezed = name.replace(" ", "")
    return squeezed if _CJK_ONLY.fullmatch(squeezed) else name


def _split_committees(text: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for part in _COMMITTEE_SEPARATORS.split(text):
        cleaned = _clean(part)
        if cleaned:
            seen.setdefault(cleaned, None)
    return tuple(seen)


def _rows_from_records(records: Iterable[tuple[int, Sequence[object]]]) -> list[RosterRow]:
    """Find the header among the first rows, then turn each later non-empty row into a RosterRow."""
    iterator = iter(records)
    columns: dict[str, int] | None = None
    best: dict[str, int] = {}
    for number, cells in iterator:
        candidate = _header_map(cells)
        if all(f in candidate for f in _REQUIRED):
            columns = candidate
            break
        if len(candidate) > len(best):
            best = candidate
        if number >= HEADER_SEARCH_ROWS:
            break
    if columns is None:
        missing = [f for f in _REQUIRED if f not in best]
        raise RosterFileError(RosterFileErrorCode.no_header, ",".join(missing))

    rows: list[RosterRow] = []
    for number, cells in iterator:
        values = {f: _cell_text(cells[i]) if i < len(cells) else "" for f, i in columns.items()}
        if not any(values.values()):
            continue  # blank row (or only columns we do not read, such as 序号)
        committees = values.get("committees")
        rows.append(
            RosterRow(
                row=number,
                name=_clean_name(values["name"]) or None,
                phone=values["phone"].strip() or None,
                sector=_clean(values["sector"]) if "sector" in values else None,
                committees=_split_committees(committees) if committees is not None else None,
                liaison_point=(
                    _clean(values["liaison_point"]) if "liaison_point" in values else None
                ),
                organisation=_clean(values["organisation"]) if "organisation" in values else None,
            )
        )
    return rows


# --------------------------------------------------------------------------------------------
# Files

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
_CSV_DELIMITERS = (",", "\t", ";")


def parse_roster(
    source: bytes | str | os.PathLike[str], filename: str | None = None
) -> list[RosterRow]:
    """Read a roster from a path or the file's bytes; `filename` decides the type (.xlsx or .csv).

    Raises RosterFileError(unsupported_type | unreadable | no_header). Blocking: call it from a
    worker thread in async code.
    """
    if isinstance(source, bytes):
        data = source
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise RosterFileError(RosterFileErrorCode.unreadable, type(exc).__name__) from exc
        filename = filename or str(source)
    suffix = Path(filename).suffix.lower() if filename else ""

    if data.startswith(_OLE_MAGIC):
        # An Excel 97-2003 .xls, or an encrypted .xlsx: openpyxl can read neither.
        raise RosterFileError(RosterFileErrorCode.unsupported_type, suffix or "xls")
    if suffix in _XLSX_SUFFIXES or (not suffix and data.startswith(_ZIP_MAGIC)):
        return _parse_xlsx(data)
    if suffix in _CSV_SUFFIXES or (not suffix and not data.startswith(_ZIP_MAGIC)):
        return _parse_csv(data)
    raise RosterFileError(RosterFileErrorCode.unsupported_type, suffix)


def _parse_xlsx(data: bytes) -> list[RosterRow]:
    if not data.startswith(_ZIP_MAGIC):
        raise RosterFileError(RosterFileErrorCode.unreadable, "not an xlsx file")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # BadZipFile, KeyError, XML errors...: openpyxl has no single one
        raise RosterFileError(RosterFileErrorCode.unreadable, type(exc).__name__) from exc
    try:
        if not workbook.worksheets:
            raise RosterFileError(RosterFileErrorCode.no_header, "no sheet")
        sheet: Any = workbook.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # some writers store a wrong sheet size; read what is there
        records = enumerate(sheet.iter_rows(values_only=True), start=1)
        try:
            return _rows_from_records(records)
        except RosterFileError:
            raise
        except Exception as exc:
            raise RosterFileError(RosterFileErrorCode.unreadable, type(exc).__name__) from exc
    finally:
        workbook.close()


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)  # Excel's "Unicode text" export
    else:
        encodings = ("utf-8-sig", "gb18030")  # Chinese Excel saves CSV as GB18030/GBK
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterFileError(RosterFileErrorCode.unreadable, "unknown text encoding")


def _csv_records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return enumerate(reader, start=1)


def _parse_csv(data: bytes) -> list[RosterRow]:
    text = _decode(data)
    if "\x00" in text:
        raise RosterFileError(RosterFileErrorCode.unreadable, "binary data")
    # The delimiter is the one under which a header with the most known columns appears.
    chosen: str | None = None
    best: dict[str, int] = {}
    for delimiter in _CSV_DELIMITERS:
        try:
            head = [cells for _, cells in islice(_csv_records(text, delimiter), HEADER_SEARCH_ROWS)]
        except csv.Error:
            continue
        for cells in head:
            columns = _header_map(cells)
            complete = all(f in columns for f in _REQUIRED)
            best_complete = chosen is not None
            if (complete, len(columns)) > (best_complete, len(best)):
                best = columns
                if complete:
                    chosen = delimiter
    if chosen is None:
        missing = [f for f in _REQUIRED if f not in best]
        raise RosterFileError(RosterFileErrorCode.no_header, ",".join(missing))
    try:
        return _rows_from_records(_csv_records(text, chosen))
    except csv.Error as exc:
        raise RosterFileError(RosterFileErrorCode.unreadable, str(exc)) from exc


# --------------------------------------------------------------------------------------------
# Import


@dataclass(slots=True)
class _Valid:
    row: RosterRow
    phone: str


def _validate(rows: Sequence[RosterRow], report: ImportReport) -> list[_Valid]:
    valid: list[_Valid] = []
    first_row_by_phone: dict[str, int] = {}
    for r in rows:
        reason, detail = _check(r, first_row_by_phone)
        if reason is not None:
            report.rejected.append(RejectedRow(r.row, reason, detail))
            continue
        phone = normalize_phone(r.phone or "")
        assert phone is not None
        first_row_by_phone[phone] = r.row
        valid.append(_Valid(r, phone))
    return valid


def _check(r: RosterRow, first_row_by_phone: dict[str, int]) -> tuple[RejectReason | None, str]:
    if not (r.name or "").strip():
        return RejectReason.missing_name, ""
    if not r.phone:
        return RejectReason.missing_phone, ""
    phone = normalize_phone(r.phone)
    if phone is None:
        return RejectReason.bad_phone, r.phone[:_MAX_DETAIL]
    if phone in first_row_by_phone:
        return RejectReason.duplicate_phone, str(first_row_by_phone[phone])
    lengths: dict[str, Sequence[str | None]] = {
        "name": [r.name],
        "sector": [r.sector],
        "committees": list(r.committees or ()),
        "liaison_point": [r.liaison_point],
        "organisation": [r.organisation],
    }
    for name, values in lengths.items():
        limit = _MAX_LENGTH[name]
        if limit is not None and any(v is not None and len(v) > limit for v in values):
            return RejectReason.too_long, name
    return None, ""


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def _ids_by_name(
    session: AsyncSession,
    model: type[Sector] | type[Committee] | type[LiaisonPoint],
    wanted: set[str],
    created: list[str],
) -> dict[str, int]:
    """Ids of the named sectors / committees / liaison points, creating the missing ones."""
    ids: dict[str, int] = {}
    names = sorted(wanted)
    for chunk in _chunks(names):
        found = await session.execute(select(model.name, model.id).where(model.name.in_(chunk)))
        ids.update({name: id_ for name, id_ in found})
    missing = [n for n in names if n not in ids]
    if missing:
        inserted = await session.execute(
            insert(model).returning(model.name, model.id), [{"name": n} for n in missing]
        )
        ids.update({name: id_ for name, id_ in inserted})
        created.extend(missing)
    return ids


async def import_roster(
    session: AsyncSession,
    rows: Sequence[RosterRow],
    *,
    actor: Actor | None = None,
    source: str,
) -> ImportReport:
    """Upsert members by normalised phone in the caller's transaction; idempotent.

    New phones become new members; for known phones the name, sector, committees, liaison point
    and organisation are brought in line with the file (fields whose column the file lacks are
    left alone), and members whose data already match are not written at all. Bindings,
    roles, active flags and members absent from the file are never touched. One AuditLog row
    records the import. Writes go through bulk statements, so Member objects already loaded in
    `session` are not refreshed.
    """
    report = ImportReport(total_rows=len(rows))
    valid = _validate(rows, report)

    sector_ids = await _ids_by_name(
        session, Sector, {v.row.sector for v in valid if v.row.sector}, report.new_sectors
    )
    committee_ids = await _ids_by_name(
        session,
        Committee,
        {c for v in valid for c in v.row.committees or ()},
        report.new_committees,
    )
    point_ids = await _ids_by_name(
        session,
        LiaisonPoint,
        {v.row.liaison_point for v in valid if v.row.liaison_point},
        report.new_liaison_points,
    )

    # Existing members with these phones, and their committees: a few queries, not one per row.
    existing: dict[str, dict[str, Any]] = {}
    for chunk in _chunks([v.phone for v in valid]):
        result = await session.execute(
            select(
                Member.id,
                Member.phone,
                Member.name,
                Member.sector_id,
                Member.liaison_point_id,
                Member.organisation,
            ).where(Member.phone.in_(chunk))
        )
        for m in result.mappings():
            existing[m["phone"]] = dict(m)
    committees_of: dict[int, set[int]] = {m["id"]: set() for m in existing.values()}
    for chunk in _chunks(list(committees_of)):
        result = await session.execute(
            select(member_committee.c.member_id, member_committee.c.committee_id).where(
                member_committee.c.member_id.in_(chunk)
            )
        )
        for member_id, committee_id in result:
            committees_of[member_id].add(committee_id)

    now = utcnow()
    to_create: list[dict[str, Any]] = []
    committees_of_new: dict[str, set[int]] = {}
    to_update: list[dict[str, Any]] = []
    links_add: list[dict[str, int]] = []
    links_remove: list[dict[str, int]] = []

    for v in valid:
        r = v.row
        wanted: dict[str, Any] = {"name": (r.name or "").strip()}
        if r.sector is not None:
            wanted["sector_id"] = sector_ids[r.sector] if r.sector else None
        if r.liaison_point is not None:
            wanted["liaison_point_id"] = point_ids[r.liaison_point] if r.liaison_point else None
        if r.organisation is not None:
            wanted["organisation"] = r.organisation or None
        wanted_committees = (
            {committee_ids[c] for c in r.committees} if r.committees is not None else None
        )

        current = existing.get(v.phone)
        if current is None:
            to_create.append({**wanted, "phone": v.phone, "created_at": now, "updated_at": now})
            committees_of_new[v.phone] = wanted_committees or set()
            continue

        member_id = current["id"]
        changed = any(current[k] != value for k, value in wanted.items())
        if wanted_committees is not None:
            have = committees_of[member_id]
            if have != wanted_committees:
                changed = True
                links_add += [{"m": member_id, "c": c} for c in sorted(wanted_committees - have)]
                links_remove += [{"m": member_id, "c": c} for c in sorted(have - wanted_committees)]
        if changed:
            # Every update carries the same keys so they go out as one executemany.
            to_update.append(
                {
                    "id": member_id,
                    "name": wanted["name"],
                    "sector_id": wanted.get("sector_id", current["sector_id"]),
                    "liaison_point_id": wanted.get("liaison_point_id", current["liaison_point_id"]),
                    "organisation": wanted.get("organisation", current["organisation"]),
                    "updated_at": now,
                }
            )
            report.updated += 1
        else:
            report.unchanged += 1

    if to_create:
        # The same keys on every row (a file may lack the sector column, say) so they batch.
        for values in to_create:
            values.setdefault("sector_id", None)
            values.setdefault("liaison_point_id", None)
            values.setdefault("organisation", None)
        inserted = await session.execute(
            insert(Member).returning(Member.phone, Member.id), to_create
        )
        for phone, member_id in inserted:
            assert phone is not None
            links_add += [{"m": member_id, "c": c} for c in sorted(committees_of_new[phone])]
        report.created = len(to_create)
    if to_update:
        await session.execute(update(Member), to_update)  # ORM bulk UPDATE by primary key
    if links_remove:
        await session.execute(
            delete(member_committee).where(
                and_(
                    member_committee.c.member_id == bindparam("m"),
                    member_committee.c.committee_id == bindparam("c"),
                )
            ),
            links_remove,
        )
    if links_add:
        await session.execute(
            insert(member_committee).values(member_id=bindparam("m"), committee_id=bindparam("c")),
            links_add,
        )

    session.add(
        AuditLog(
            actor_member_id=actor.member_id if actor else None,
            actor_channel=actor.channel if actor else None,
            actor_external_id=actor.external_id if actor else None,
            action="roster.import",
            object_type="roster",
            details={
                "source": source,
                "total_rows": report.total_rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": len(report.rejected),
                "new_sectors": len(report.new_sectors),
                "new_committees": len(report.new_committees),
                "new_liaison_points": len(report.new_liaison_points),
            },
        )
    )
    await session.flush()
    return report
