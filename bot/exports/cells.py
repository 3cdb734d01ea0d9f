"""The one way text goes into the files staff download: every xlsx row and every docx run.

Members and staff type names, reasons, titles and sections that end up in spreadsheets. Two
things go wrong when such text is written as it is:

- **Formulas.** openpyxl stores a string starting with "=" as a formula, so a leave reason
  `=HYPERLINK("http://evil.example","病假")` became a live link in the roster export. Here every
  string cell is stored as a string (data type "s", whatever it starts with), so the cell shows
  exactly what was typed and Excel or WPS never evaluates it. A cell starting with a character
  a spreadsheet reads as the start of a formula (= + - @, tab, CR) is also marked
  "quotePrefix": Excel's own flag for "typed as text" (the apostrophe it shows only in the
  formula bar), so a clerk who edits the cell and presses Enter does not turn it into a
  formula either. The visible text gets no extra character.
- **Control characters.** XML forbids most C0 controls; one report with Word's soft line break
  (U+000B) made both report exports fail for everyone. Text is cleaned by
  `storage.control_chars.without_control_chars` (the same rule the report dialog applies on
  input), and a cell that still cannot be written is left empty and logged, so one bad value
  never costs the whole file.

Numbers, booleans, dates and times are written as themselves, so they still sort and sum.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font

from storage.control_chars import without_control_chars

if TYPE_CHECKING:
    # openpyxl exports the write-only sheet's class from a private module only: named for the
    # type checker, never imported at run time.
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
    from openpyxl.worksheet.worksheet import Worksheet

log = logging.getLogger(__name__)

# Excel refuses cells longer than 32,767 characters (UTF-16 code units); stay below.
CELL_LIMIT = 32_000
# What a cut cell ends with, so staff see that the rest is in the bot, not lost.
CUT_MARK = "…"
# First characters that make a spreadsheet read typed text as a formula (or a DDE command).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Sheet: TypeAlias = "Worksheet | WriteOnlyWorksheet"
_AS_IS = (bool, int, float, Decimal, datetime, date, time, timedelta)


def clean(text: str) -> str:
    """Text as it can be stored in an xlsx or docx file (see the module docstring)."""
    return without_control_chars(text)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cap(text: str) -> str:
    """At most CELL_LIMIT UTF-16 units (emoji count twice), never cutting a character."""
    if len(text) * 2 <= CELL_LIMIT or _utf16(text) <= CELL_LIMIT:
        return text
    room = CELL_LIMIT - len(CUT_MARK)
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > room:
            return text[:index] + CUT_MARK
    return text


def cell_text(value: object) -> str:
    """Any value as the text of one cell: cleaned and cut to what Excel accepts."""
    return _cap(clean(value if isinstance(value, str) else str(value)))


def cell(
    sheet: Sheet,
    value: object,
    *,
    font: Font | None = None,
    alignment: Alignment | None = None,
    number_format: str | None = None,
) -> Cell:
    """One cell for `append_row`: text stays text, numbers and dates stay what they are."""
    try:
        result = _cell(sheet, value)
    except Exception:  # openpyxl raises several kinds; one value never costs the whole file
        # The value itself is personal data: the log names only the sheet and the type.
        log.warning(
            "export: a %s value in sheet %r could not be written; its cell is left empty",
            type(value).__name__,
            sheet.title,
        )
        result = WriteOnlyCell(sheet, value=None)
    if font is not None:
        result.font = font
    if alignment is not None:
        result.alignment = alignment
    if number_format is not None:
        result.number_format = number_format
    return result


def _cell(sheet: Sheet, value: object) -> Cell:
    # WriteOnlyCell is a plain Cell without a place yet: Worksheet.append takes it in normal
    # sheets too (openpyxl made append compatible with write-only mode for this).
    if value is None or isinstance(value, _AS_IS):
        plain: Any = value
        return WriteOnlyCell(sheet, value=plain)
    text = cell_text(value)
    result = WriteOnlyCell(sheet, value=text)
    # openpyxl has just made a text starting with "=" a formula; it is what was typed.
    result.data_type = "s"
    if text.startswith(FORMULA_STARTS):
        result.quotePrefix = True
    return result


def append_row(
    sheet: Sheet,
    values: Iterable[object],
    *,
    font: Font | None = None,
    alignment: Alignment | None = None,
) -> None:
    """Append one row; values may be plain (made into cells here) or cells made by `cell`."""
    styled = font is not None or alignment is not None
    row: list[Any] = []
    for value in values:
        plain = value is None or isinstance(value, _AS_IS)
        if isinstance(value, Cell) or (plain and not styled):
            row.append(value)
            continue
        if not styled and isinstance(value, str):
            text = cell_text(value)  # checked once cleaned: "\x00=1" becomes "=1"
            if not text.startswith(FORMULA_STARTS):
                # openpyxl stores such a string as a string by itself; handing it over as a
                # value, not a cell object, keeps the 20,000-row duty export as fast as before.
                row.append(text)
                continue
        row.append(cell(sheet, value, font=font, alignment=alignment))
    sheet.append(row)


def docx_text(value: object) -> str:
    """Text for a Word run or paragraph: cleaned, since python-docx refuses what XML refuses."""
    return clean(value if isinstance(value, str) else str(value))


def add_run(paragraph: Any, value: object) -> Any:
    """paragraph.add_run with the text cleaned; a run that still fails is left empty (and
    logged) so the rest of the document is written."""
    try:
        return paragraph.add_run(docx_text(value))
    except ValueError:
        log.warning("export: a text run could not be written to a Word document; left empty")
        return paragraph.add_run("")
