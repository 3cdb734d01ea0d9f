"""Activities: members browse, sign up, cancel, leave, check in (code, deep link or location),
get a calendar file and see "My activities"; staff create (guided, or a batch spreadsheet),
edit, postpone, cancel, publish with invitations, see the roster and its export, and show the
check-in code. register() wires both sides, on the channel seam (handlers/channel): every
flow of the feature runs on any channel."""

from __future__ import annotations

from handlers.activities import (
    browse,
    calendar,
    card,
    checkin,
    editing,
    export,
    importing,
    publishing,
    roster,
    signup,
    staff_list,
)
from handlers.activities.common import DEEPLINK, MEMBER, STAFF
from handlers.wiring import Access, Wiring


def register(wiring: Wiring) -> None:
    wiring.add_turn_buttons(
        MEMBER,
        {
            "open": card.open_card,
            "list": browse.list_page,
            "mine": browse.mine,
            "signup": signup.sign_up,
            "cancel": signup.cancel,
            "cancel_yes": signup.confirm_cancel,
            "leave": signup.leave,
            "leave_no_reason": signup.leave_without_reason,
            "checkin": checkin.ask_checkin,
            "calendar": calendar.send_calendar,
            # The names these buttons had before: invitations, reminders and other messages
            # already in members' chats (or queued in the outbox) still carry them.
            "v": card.open_card,
            "j": signup.sign_up,
            "l": signup.leave,
        },
        access=Access.member,
    )
    wiring.add_turn_buttons(
        STAFF,
        {
            "home": staff_list.home_page,
            "card": staff_list.open_card,
            "new": editing.choose_type,
            "new_type": editing.create,
            "continue": editing.resume,
            "edit": editing.edit_menu,
            "edit_field": editing.edit_field,
            "skip": editing.skip,
            "audience": editing.audience,
            "pick": editing.pick,
            "pick_done": editing.pick_done,
            "reply_required": editing.reply_required,
            "publish": publishing.publish,
            "postpone": publishing.postpone,
            "cancel": publishing.cancel,
            "roster": roster.show_roster,
            "export": export.send_roster,
            "checkin_code": roster.checkin_code,
            "import": importing.ask_import,
            "publish_batch": importing.publish_batch,
        },
        access=Access.staff,
    )
    wiring.add_turn_command("activities", staff_list.home, access=Access.staff)
    wiring.add_turn_menu("activities.menu_browse", browse.browse, members_only=True, order=30)
    wiring.add_turn_menu("activities.menu_mine", browse.my_activities, members_only=True, order=31)
    wiring.add_turn_menu("activities.menu_staff", staff_list.home, staff=True, order=210)
    wiring.add_turn_flow(signup.LEAVE_FLOW, signup.leave_reason)
    wiring.add_turn_flow(checkin.CHECKIN_FLOW, checkin.checkin_input)
    wiring.add_turn_flow(editing.EDIT_FLOW, editing.edit_input)
    wiring.add_turn_flow(publishing.POSTPONE_FLOW, publishing.postpone_input)
    wiring.add_turn_flow(publishing.CANCEL_FLOW, publishing.cancel_input)
    wiring.add_turn_flow(importing.IMPORT_FLOW, importing.import_file)
    wiring.add_turn_deeplink(DEEPLINK, browse.deep_link)
    wiring.add_turn_free_message(checkin.free_message)
