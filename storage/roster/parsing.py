"""Reading a roster file (.xlsx or .csv, no database): finding the header row among the
first rows by its known column names, and cleaning each cell (names padded for alignment,
committees in one cell, phone numbers stored as numbers)."""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from storage.control_chars import without_control_chars
from storage.roster.rows import RosterFileError, RosterFileErrorCode, RosterRow

HEADER_SEARCH_ROWS = 5


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
