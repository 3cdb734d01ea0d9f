"""What the roster import reads and reports: a file's rows, the rows it rejected and why,
the import's counts, and the error for a file that cannot be read at all."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


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
    bad_name = "bad_name"  # only emoji, punctuation or symbols; detail: the raw value
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
