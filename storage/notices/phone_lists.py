"""Reading an uploaded list (xlsx, csv, txt) for the cells that might hold a phone
number; the numbers are matched to the roster by audience.match_phones."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from storage.phones import normalize_phone

_PHONE_IN_TEXT = re.compile(r"\+?\d[\d\s\-()]{5,}\d")
LIST_SUFFIXES = (".xlsx", ".csv", ".txt")


class ListFileError(Exception):
    """The uploaded list could not be read at all."""


def phone_cells(data: bytes, filename: str) -> list[str]:
    """Every cell (xlsx) or line (csv, txt) of an uploaded list that might hold a phone number."""
    name = filename.lower()
    cells: list[str] = []
    if name.endswith(".xlsx"):
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise ListFileError(type(exc).__name__) from exc
        try:
            for sheet in workbook.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    cells.extend(_cell(value) for value in row if value is not None)
        finally:
            workbook.close()
    else:
        text = _decode(data)
        for line in text.splitlines():
            cells.extend(part for part in re.split(r"[,;\t]", line))
    out: list[str] = []
    for cell in (c.strip() for c in cells):
        if not cell:
            continue
        if normalize_phone(cell) is not None:
            out.append(cell)
            continue
        found = _PHONE_IN_TEXT.findall(cell)
        # A name or a header is not an error; only digit runs that fail to parse are.
        out.extend(found if found else ([cell] if any(ch.isdigit() for ch in cell) else []))
    return out


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16", "gb18030"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ListFileError("unknown text encoding")
