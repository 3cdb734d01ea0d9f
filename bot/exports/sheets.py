"""What every spreadsheet staff download has in common, beyond the cells themselves
(`bot.exports.cells`): times Excel can sort and filter, yes/no words, phone numbers as the
office writes them, and a finished table (widths, a frozen header, an autofilter).

- **Times** are real Excel datetimes with a number format, not text: staff sort and filter
  them and Excel's date filter groups them by day. Excel has no time zones, so a moment is
  written as the office's local wall-clock time (naive), the time the clerk means.
- **Booleans** are 是/否 (Yes/No in English), never a blank: a blank cell reads as "unknown".
- **Phone numbers** are written the way a clerk dials them: a mainland mobile as
  "138 0013 8000", others with their country code ("+852 9123 4567"); whatever the roster
  holds that is not a recognised number stays as stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from openpyxl.utils import get_column_letter

from bot.exports.cells import Sheet, cell
from storage.phones import normalize_phone

# Excel's own built-in format for a date and time, shown the same in Excel and WPS.
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def local_time(moment: datetime | None, tz: tzinfo) -> datetime | None:
    """The moment as the office's wall-clock time without a zone (Excel has none)."""
    if moment is None:
        return None
    return moment.astimezone(tz).replace(tzinfo=None, microsecond=0)


def time_cell(sheet: Sheet, moment: datetime | None, tz: tzinfo) -> Any:
    """A datetime cell in the office's local time with DATETIME_FORMAT; an empty cell for None."""
    local = local_time(moment, tz)
    if local is None:
        return None
    return cell(sheet, local, number_format=DATETIME_FORMAT)


def yes_no(flag: bool, yes: str, no: str) -> str:
    """是 or 否 (the words in the staff member's language)."""
    return yes if flag else no


def display_phone(phone: str | None) -> str:
    """A stored phone number as staff dial it: "138 0013 8000", "+852 9123 4567"."""
    if not phone:
        return ""
    canonical = normalize_phone(phone)
    if canonical is None:
        return phone
    if canonical.startswith("+86"):
        national = canonical[3:]
        return f"{national[:3]} {national[3:7]} {national[7:]}"
    code = next(c for c in ("852", "853", "886") if canonical.startswith("+" + c))
    national = canonical[1 + len(code) :]
    groups = [national[i : i + 4] for i in range(0, len(national), 4)]
    if len(national) == 9:  # Taiwan: 912 345 678
        groups = [national[:3], national[3:6], national[6:]]
    return f"+{code} " + " ".join(groups)


def finish_table(sheet: Sheet, widths: Sequence[float], rows: int) -> None:
    """Column widths, the header row frozen and an autofilter over the header and `rows` rows
    below it. Write-only sheets need their widths before the first row (openpyxl writes them
    first): call `set_widths` there too; setting them again here changes nothing."""
    set_widths(sheet, widths)
    sheet.freeze_panes = "A2"
    last = get_column_letter(max(len(widths), 1))
    table: Any = sheet  # write-only sheets have an autofilter too; the type stubs omit it
    table.auto_filter.ref = f"A1:{last}{rows + 1}"


def set_widths(sheet: Sheet, widths: Sequence[float]) -> None:
    dimensions: Any = sheet  # write-only sheets take widths too; the type stubs omit them
    for index, width in enumerate(widths, start=1):
        dimensions.column_dimensions[get_column_letter(index)].width = width
