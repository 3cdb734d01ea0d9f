"""Operations on opinion reports: drafts, submission with receipt numbers, review, search.

Every rule lives here, inside the caller's transaction: one open draft per member, length and
attachment limits, who may see or change a report, which review step may follow which, and
gap-free receipt numbers per year. Nothing here knows Telegram or texts; results are enums and
frozen snapshots that stay valid after the session closes.

The package re-exports its public API, so callers write `reports.submit(...)` or
`from storage.reports import Limits`. Its modules, each one concern:

- views: the fields, limits, outcomes and snapshots (ReportView, Result, Person...)
- loading: report rows to snapshots (internal)
- texts: checking an answer, reading a free message into fields
- drafts: the member's open draft and its answers; discard; revise a returned report
- attachments: files on a draft
- coauthors: co-authors on a draft
- submission: submitting with a receipt number
- reviewing: the review queue and staff decisions
- queries: a member's own reports, staff lookup, search, export
"""

from storage.reports.attachments import (
    ATTACHMENT_KINDS,
    add_attachment,
    attachment_path,
    clear_attachments,
    remove_files,
    write_file,
)
from storage.reports.coauthors import MAX_COAUTHORS, add_coauthor, find_members, remove_coauthor
from storage.reports.drafts import (
    discard,
    editable_draft,
    ensure_draft,
    merge_quick,
    open_draft,
    revise,
    save_category,
    save_text,
)
from storage.reports.queries import (
    Page,
    ReportFilter,
    Summary,
    by_receipt,
    export,
    find_sector,
    get,
    get_visible,
    list_mine,
    person,
    search,
    sector,
)
from storage.reports.quick_text import parse_quick_text
from storage.reports.reviewing import (
    ALLOWED,
    MAX_INSTRUCTED_BY_CHARS,
    MAX_NOTE_CHARS,
    NEW_STATUS,
    ReviewAction,
    next_in_queue,
    queue_count,
    review,
)
from storage.reports.submission import RECEIPT_PREFIX, receipt_number, submit
from storage.reports.texts import clean_text
from storage.reports.views import (
    FIELDS,
    SECTIONS,
    TEXT_FIELDS,
    AttachmentView,
    EventView,
    Limits,
    Outcome,
    Person,
    ReportView,
    Result,
)

__all__ = [
    "ALLOWED",
    "ATTACHMENT_KINDS",
    "FIELDS",
    "MAX_COAUTHORS",
    "MAX_INSTRUCTED_BY_CHARS",
    "MAX_NOTE_CHARS",
    "NEW_STATUS",
    "RECEIPT_PREFIX",
    "SECTIONS",
    "TEXT_FIELDS",
    "AttachmentView",
    "EventView",
    "Limits",
    "Outcome",
    "Page",
    "Person",
    "ReportFilter",
    "ReportView",
    "Result",
    "ReviewAction",
    "Summary",
    "add_attachment",
    "add_coauthor",
    "attachment_path",
    "by_receipt",
    "clean_text",
    "clear_attachments",
    "discard",
    "editable_draft",
    "ensure_draft",
    "export",
    "find_members",
    "find_sector",
    "get",
    "get_visible",
    "list_mine",
    "merge_quick",
    "next_in_queue",
    "open_draft",
    "parse_quick_text",
    "person",
    "queue_count",
    "receipt_number",
    "remove_coauthor",
    "remove_files",
    "review",
    "revise",
    "save_category",
    "save_text",
    "search",
    "sector",
    "submit",
    "write_file",
]
