"""Notices: compose, choose recipients, queue (now or at a time), cancel, acknowledge, statistics.

Every operation runs in the caller's transaction and checks who may do it (staff compose and
see statistics; a member acknowledges only a notice that was sent to them). Nothing here knows
Telegram or texts: results are enums and dataclasses, messages are outbox rows with locale keys.
The message members read is composed by the caller (`Compose`); storage fans it out.

The package re-exports its public API, so callers write `notices.queue(...)` or
`from storage.notices import Problem`. Its modules, each one concern:

- views: Problem, NoticeView and the outbox markers shared by the others
- loading: notice rows and the staff check (internal)
- composing: the draft, its text, attachment and receipt options
- phone_lists: reading an uploaded list of phone numbers
- audience: choosing recipients, counting them
- sending: queueing the caller's message into the outbox, one row per recipient
- followups: cancel, remind, resend the failed
- acknowledgements: a member's answer
- reading: staff views, statistics, recipient lists
- received: the notices a member received
- progress: the bot's progress service, finishing a notice
"""

from storage.notices.acknowledgements import AckOutcome, AckResult, acknowledge, answer
from storage.notices.audience import (
    AudienceCount,
    Choice,
    PhoneMatch,
    choices,
    count_audience,
    ids_for_names,
    match_phones,
    set_audience,
    toggle_audience,
)
from storage.notices.composing import (
    MAX_BODY_CHARS,
    MAX_OPTION_CHARS,
    MAX_OPTIONS,
    MIN_OPTIONS,
    discard_draft,
    open_draft,
    set_ack,
    set_body,
    start_over,
)
from storage.notices.followups import cancel, remind, resend_failed
from storage.notices.phone_lists import LIST_SUFFIXES, ListFileError, phone_cells
from storage.notices.progress import (
    Finished,
    NoticeSummary,
    Progress,
    finish,
    in_progress,
    set_progress_message,
)
from storage.notices.reading import (
    Category,
    RecipientLine,
    Stats,
    get,
    not_reached,
    recent,
    recipients,
    stats,
)
from storage.notices.received import ReceivedNotice, received_by, received_by_ids, received_one
from storage.notices.sending import queue
from storage.notices.views import (
    OPEN,
    REMIND_SOURCE,
    SOURCE,
    SUMMARY_SOURCE,
    UNSENT,
    Compose,
    NoticeView,
    Problem,
)

__all__ = [
    "LIST_SUFFIXES",
    "MAX_BODY_CHARS",
    "MAX_OPTIONS",
    "MAX_OPTION_CHARS",
    "MIN_OPTIONS",
    "OPEN",
    "REMIND_SOURCE",
    "SOURCE",
    "SUMMARY_SOURCE",
    "UNSENT",
    "AckOutcome",
    "AckResult",
    "AudienceCount",
    "Category",
    "Choice",
    "Compose",
    "Finished",
    "ListFileError",
    "NoticeSummary",
    "NoticeView",
    "PhoneMatch",
    "Problem",
    "Progress",
    "ReceivedNotice",
    "RecipientLine",
    "Stats",
    "acknowledge",
    "answer",
    "cancel",
    "choices",
    "count_audience",
    "discard_draft",
    "finish",
    "get",
    "ids_for_names",
    "in_progress",
    "match_phones",
    "not_reached",
    "open_draft",
    "phone_cells",
    "queue",
    "received_by",
    "received_by_ids",
    "received_one",
    "recent",
    "recipients",
    "remind",
    "resend_failed",
    "set_ack",
    "set_audience",
    "set_body",
    "set_progress_message",
    "start_over",
    "stats",
    "toggle_audience",
]
