"""Opinion reports (社情民意信息), both sides: members submit (guided or quick), keep drafts and
follow their reports; staff review, search and export them.

member: the guided dialog; drafts: asking and the preview; preview: the buttons under it;
coauthors; files: attachments; quick: the one-message report; mine: my reports;
cards: the report as shown to both sides; review: the staff queue and decisions;
query and search: staff search; export: xlsx and Word.
"""

from __future__ import annotations

from handlers.reports import coauthors, export, member, mine, preview, quick, review, search
from handlers.reports.cards import FEATURE, REVIEW_FEATURE
from handlers.reports.drafts import FLOW, QUICK_FLOW, cancelled
from handlers.wiring import Access, Wiring

# Old action name -> new, for buttons that outlive a dialog (in chats, in the outbox).
MEMBER_ALIASES = {"op": "open", "ls": "list", "rev": "revise", "cont": "continue", "dc": "discard"}
STAFF_ALIASES = {"op": "open", "nx": "next", "ls": "list"}


def register(wiring: Wiring) -> None:
    # Every flow runs on the channel seam: the same code serves every channel.
    # Members.
    for buttons in (
        member.BUTTONS,
        preview.BUTTONS,
        coauthors.BUTTONS,
        mine.BUTTONS,
        quick.BUTTONS,
    ):
        wiring.add_turn_buttons(FEATURE, buttons, access=Access.member)
    # Buttons from before their renaming, still in members' chats (status notices, saved
    # drafts) and in messages queued to be sent: they keep working.
    member_actions = {**member.BUTTONS, **preview.BUTTONS, **mine.BUTTONS}
    wiring.add_turn_buttons(
        FEATURE,
        {old: member_actions[new] for old, new in MEMBER_ALIASES.items()},
        access=Access.member,
    )
    wiring.add_turn_menu("reports.menu_submit", member.submit_menu, members_only=True, order=10)
    wiring.add_turn_menu("reports.menu_mine", mine.my_reports, members_only=True, order=20)
    wiring.add_turn_flow(FLOW, member.on_input, cancelled=cancelled)
    wiring.add_turn_flow(QUICK_FLOW, quick.on_quick, cancelled=cancelled)
    wiring.add_turn_free_message(quick.quick_message)
    wiring.add_turn_start_hook(member.start_hook)
    # Staff.
    for buttons in (review.BUTTONS, search.BUTTONS, export.BUTTONS):
        wiring.add_turn_buttons(REVIEW_FEATURE, buttons, access=Access.staff)
    staff_actions = {**review.BUTTONS, **search.BUTTONS}
    wiring.add_turn_buttons(
        REVIEW_FEATURE,
        {old: staff_actions[new] for old, new in STAFF_ALIASES.items()},
        access=Access.staff,
    )
    wiring.add_turn_command("reports", search.search_command, access=Access.staff)
    wiring.add_turn_menu(
        "reports.review.menu",
        review.review_home,
        staff=True,
        order=200,
        aliases=("reports.review.menu_before",),
    )
    wiring.add_turn_flow(review.FLOW, review.on_input)
