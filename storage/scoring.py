"""The duty record's scoring rules: points per counted fact, read from a TOML file.

The defaults ship beside this module (scoring_default.toml); SCORING_RULES_FILE may name a file
that overrides any of them. Rules only weigh facts when a record is read, so a changed rule
changes every record (past years too) and nothing stored is rewritten.
"""

from __future__ import annotations

import enum
import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT_RULES_FILE = Path(__file__).with_name("scoring_default.toml")


class Metric(enum.StrEnum):
    """A counted fact that earns (or costs) points; the value is "<section>.<key>" in the file."""

    report_submitted = "reports.submitted"
    report_adopted = "reports.adopted"
    report_forwarded = "reports.forwarded"
    report_instructed = "reports.instructed"
    report_excellent = "reports.excellent"
    activity_attended = "activities.attended"
    activity_leave = "activities.leave"
    activity_absent = "activities.absent"
    notice_on_time = "notices.on_time"
    notice_late = "notices.late"
    notice_missed = "notices.missed"

    @property
    def section(self) -> str:
        return self.value.split(".")[0]

    @property
    def key(self) -> str:
        return self.value.split(".")[1]


REPORT_METRICS = tuple(m for m in Metric if m.section == "reports")
# Settings that are not points: (section, key) -> (smallest, largest, whole number?).
OPTIONS: dict[tuple[str, str], tuple[float, float, bool]] = {
    ("reports", "coauthor_factor"): (0, 1, False),
    ("notices", "on_time_hours"): (1, 24 * 366, True),
    ("awards", "members"): (1, 10_000, True),
    ("awards", "reports"): (1, 10_000, True),
    ("awards", "liaison_points"): (1, 1_000, True),
}
POINTS_LIMIT = 1000


class ScoringRulesError(Exception):
    """The rules file cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class ScoringRules:
    points: dict[Metric, float]
    coauthor_factor: float
    on_time_hours: int
    award_members: int
    award_reports: int
    award_liaison_points: int
    source: str  # the file the rules came from (defaults and override)

    def each(self, metric: Metric) -> float:
        return self.points[metric]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScoringRulesError(f"scoring rules file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScoringRulesError(f"scoring rules file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScoringRulesError(f"scoring rules file {path} is not valid TOML: {exc}") from None


def _merge(values: dict[tuple[str, str], float], data: dict[str, Any], path: Path) -> None:
    """Check every key of one file and lay its numbers over values."""
    known = {(m.section, m.key) for m in Metric} | set(OPTIONS)
    sections = sorted({section for section, _ in known})
    for section, table in data.items():
        if section not in sections:
            raise ScoringRulesError(
                f"scoring rules file {path}: unknown section [{section}] "
                f"(known: {', '.join(sections)})"
            )
        if not isinstance(table, dict):
            raise ScoringRulesError(f"scoring rules file {path}: [{section}] must be a table")
        for key, raw in table.items():
            if (section, key) not in known:
                names = sorted(k for s, k in known if s == section)
                raise ScoringRulesError(
                    f"scoring rules file {path}: [{section}] {key} is not a known rule "
                    f"(known: {', '.join(names)})"
                )
            number = _number(raw)
            low, high, whole = OPTIONS.get((section, key), (-POINTS_LIMIT, POINTS_LIMIT, False))
            if number is None or not low <= number <= high or (whole and number != int(number)):
                kind = "a whole number" if whole else "a number"
                raise ScoringRulesError(
                    f"scoring rules file {path}: [{section}] {key} = {raw!r} must be {kind} "
                    f"from {low:g} to {high:g}"
                )
            values[(section, key)] = number


def load_rules(path: Path | None = None) -> ScoringRules:
    """The shipped defaults, overridden by the file at path when given."""
    values: dict[tuple[str, str], float] = {}
    _merge(values, _read(DEFAULT_RULES_FILE), DEFAULT_RULES_FILE)
    source = str(DEFAULT_RULES_FILE)
    if path is not None:
        _merge(values, _read(path), path)
        source = str(path)
    return ScoringRules(
        points={m: values[(m.section, m.key)] for m in Metric},
        coauthor_factor=values[("reports", "coauthor_factor")],
        on_time_hours=int(values[("notices", "on_time_hours")]),
        award_members=int(values[("awards", "members")]),
        award_reports=int(values[("awards", "reports")]),
        award_liaison_points=int(values[("awards", "liaison_points")]),
        source=source,
    )


@lru_cache(maxsize=8)
def rules_for(path: Path | None) -> ScoringRules:
    """The rules of one file, read once per process (checked at start-up by the settings)."""
    return load_rules(path)
