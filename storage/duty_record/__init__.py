"""The duty record (履职档案): each member's year, counted from the events, weighed by the rules.

Nothing here is stored: a record is counted when it is read, from the reports (author and
co-authors, with their review history), the activity sign-ups and the notice
acknowledgements. Points are the counts weighed by the scoring rules in force, so a changed
rule changes every record and no history is rewritten.

What counts, and in which year (local time, settings.tz):
- a report counts in the year of its receipt number (its first submission), once, however
  often it was returned and resubmitted; it counts as adopted / forwarded / instructed when
  its history holds that decision (a returned-then-adopted report is adopted), as excellent
  while it is marked so. Co-authors get the report on their record too.
- an activity counts in the year it starts; cancelled (and draft) activities do not count.
  Checked in = attended; leave = on leave; still "signed up" once the activity is over =
  absent without leave; waiting-list and cancelled sign-ups count for nothing.
- a notice that asked for an acknowledgement counts in the year it was sent, for members it
  reached (or who answered it): on time within on_time_hours of delivery, late after that,
  missed when that time passed without an answer.

One query serves both the card (one member) and the export (every member, streamed from a
server-side cursor, in sector and name order), so the two can never disagree.

The package re-exports its public API, so callers write `duty_record.record(...)` or
`from storage.duty_record import MemberYear`. Its modules, each one concern:

- facts: the counts of a member's year, weighed into a score
- years: local years and their bounds
- counting: the counting query (internal)
- access: who may see what; the audit of exports
- card: one member's record for a year
- groups: every member's year streamed, and the totals by sector and committee
- awards: the annual award candidates
"""

from storage.duty_record.access import Access, NotStaff, is_staff, record_export
from storage.duty_record.awards import (
    Awards,
    ExcellentReport,
    PointCandidate,
    award_candidates,
    top_with_ties,
)
from storage.duty_record.card import MAX_EARLIER_YEARS, RecordResult, record
from storage.duty_record.counting import (
    COMMITTEE_SEPARATOR,
    COUNTED_ACTIVITY,
    END,
    MEMBER,
    NOW,
    START,
    USED_ACTIONS,
    YEAR,
)
from storage.duty_record.facts import FACT_NAMES, Facts, Line, MemberYear, Score, score
from storage.duty_record.groups import GroupBy, GroupStats, Totals, statistics, stream_year
from storage.duty_record.years import local_year, year_bounds

__all__ = [
    "COMMITTEE_SEPARATOR",
    "COUNTED_ACTIVITY",
    "END",
    "FACT_NAMES",
    "MAX_EARLIER_YEARS",
    "MEMBER",
    "NOW",
    "START",
    "USED_ACTIONS",
    "YEAR",
    "Access",
    "Awards",
    "ExcellentReport",
    "Facts",
    "GroupBy",
    "GroupStats",
    "Line",
    "MemberYear",
    "NotStaff",
    "PointCandidate",
    "RecordResult",
    "Score",
    "Totals",
    "award_candidates",
    "is_staff",
    "local_year",
    "record",
    "record_export",
    "score",
    "statistics",
    "stream_year",
    "top_with_ties",
    "year_bounds",
]
