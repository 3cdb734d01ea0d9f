"""The duty record keeps no tables of its own (a record is counted when it is read); these are
the indexes it needs on other features' tables, so the year export and the card stay fast.

Report and review-event rows carry long texts, so the counting reads their indexes only.
"""

from __future__ import annotations

from sqlalchemy import Index

from storage.models.activities import ActivitySignup
from storage.models.reports import Report, ReportEvent

DUTY_RECORD_INDEXES = (
    # The year's reports: who wrote them, and whether they are marked excellent.
    Index(
        "ix_duty_report_year", Report.receipt_year, Report.id, Report.member_id, Report.excellent
    ),
    # A report's review decisions (adopted, forwarded, instructed).
    Index("ix_duty_report_event", ReportEvent.report_id, ReportEvent.action),
    # Each activity's sign-ups by status, with who and whether they had signed up.
    Index(
        "ix_duty_signup_activity",
        ActivitySignup.activity_id,
        ActivitySignup.status,
        ActivitySignup.member_id,
        ActivitySignup.signed_up_at,
    ),
)
