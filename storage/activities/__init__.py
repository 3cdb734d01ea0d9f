"""Activities: drafts and publishing, who is invited, sign-up with capacity and a waiting list,
leave, check-in, and the messages each change sends.

Every operation runs in the caller's transaction and enforces its own rules; nothing here knows
Telegram or texts (outcomes are enums; a change returns `ActivityNews` events saying who is to be
told what, and the caller posts the messages in its transaction). How places
stay exact under simultaneous taps is told in `shared`.

Modules, each importing only those above it:
- `notices`: the news a change causes (`ActivityNews`), local time text;
- `types`: limits, outcomes, problems, fields, check-in rules, snapshots and results;
- `shared`: the activity row lock, snapshots with live counts, may this member act;
- `listing`: what members and staff read (browse, card, My activities, staff list, roster);
- `signup`: sign up, cancel, leave, and moving waiting members up;
- `checkin`: check-in by code or location, and the check-in code;
- `editing`: drafts, field rules and edits, what a draft still lacks;
- `audience`: who is invited;
- `publishing`: publish, postpone, call off;
- `parsing` and `importer`: staff input as typed, and the batch spreadsheet (imported on their
  own: `from storage.activities import importer`).

This package re-exports the public API of all but the last two, so callers use
`from storage import activities` and `activities.sign_up(...)`.
"""

from storage.activities.audience import (
    PICKABLE,
    invited_count,
    resolve_targets,
    set_targets,
    target_choices,
    targets,
    toggle_target,
)
from storage.activities.checkin import (
    CODE_DIGITS,
    check_in_by_code,
    check_in_by_location,
    checkin_code,
    distance_m,
)
from storage.activities.editing import (
    NOTIFY_FIELDS,
    Change,
    check_times,
    check_title,
    create_draft,
    field_text,
    find_liaison_point,
    get,
    missing_field,
    update_field,
)
from storage.activities.listing import (
    NOBODY,
    batch_ids,
    browse,
    card,
    my_activities,
    roster,
    staff_list,
    view,
)
from storage.activities.notices import (
    NOTICE_KIND,
    SOURCE,
    ActivityNews,
    FieldChange,
    NoticeKind,
    format_local,
    format_span,
)
from storage.activities.publishing import cancel_activity, postpone, publish
from storage.activities.signup import cancel, leave, sign_up
from storage.activities.types import (
    CAPACITY_MAX,
    DESCRIPTION_MAX,
    HOLDS_PLACE,
    OPEN_STATUSES,
    PLACE_MAX,
    REASON_MAX,
    REPLIED,
    TITLE_MAX,
    ActivityView,
    Card,
    CheckinRules,
    EditResult,
    Field,
    Outcome,
    Page,
    Problem,
    Result,
    Roster,
    RosterEntry,
    Standing,
    TargetSpec,
    TargetsResult,
)

__all__ = [
    "CAPACITY_MAX",
    "CODE_DIGITS",
    "DESCRIPTION_MAX",
    "HOLDS_PLACE",
    "NOBODY",
    "NOTICE_KIND",
    "NOTIFY_FIELDS",
    "OPEN_STATUSES",
    "PICKABLE",
    "PLACE_MAX",
    "REASON_MAX",
    "REPLIED",
    "SOURCE",
    "TITLE_MAX",
    "ActivityNews",
    "ActivityView",
    "Card",
    "Change",
    "CheckinRules",
    "EditResult",
    "Field",
    "FieldChange",
    "NoticeKind",
    "Outcome",
    "Page",
    "Problem",
    "Result",
    "Roster",
    "RosterEntry",
    "Standing",
    "TargetSpec",
    "TargetsResult",
    "batch_ids",
    "browse",
    "cancel",
    "cancel_activity",
    "card",
    "check_in_by_code",
    "check_in_by_location",
    "check_times",
    "check_title",
    "checkin_code",
    "create_draft",
    "distance_m",
    "field_text",
    "find_liaison_point",
    "format_local",
    "format_span",
    "get",
    "invited_count",
    "leave",
    "missing_field",
    "my_activities",
    "postpone",
    "publish",
    "resolve_targets",
    "roster",
    "set_targets",
    "sign_up",
    "staff_list",
    "target_choices",
    "targets",
    "toggle_target",
    "update_field",
    "view",
]
