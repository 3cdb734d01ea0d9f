"""The roster import: a staff spreadsheet (.xlsx or .csv) in, members upserted by phone.

`parse_roster` reads a file into `RosterRow`s (no database); `import_roster` writes them in the
caller's transaction and returns an `ImportReport`. Nothing here renders text: reason and error
codes are stable keys for the bot's locale files.

Blank cells versus missing columns: an optional field is None on a `RosterRow` when the file has
no such column (the import leaves that field of existing members alone) and "" (or an empty tuple
of committees) when the column is there but the cell is blank (the import clears the field).

The package re-exports that API (`from storage.roster import parse_roster`). Its modules:

- rows: the rows, reasons, report and file error
- parsing: reading a file into rows
- importing: writing rows into the roster
"""

from storage.roster.importing import import_roster
from storage.roster.parsing import parse_roster
from storage.roster.rows import (
    ImportReport,
    RejectedRow,
    RejectReason,
    RosterFileError,
    RosterFileErrorCode,
    RosterRow,
)

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
