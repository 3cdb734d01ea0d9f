"""Notices (通知): staff compose and send, members acknowledge and look back.

Staff: 📢 compose (text with formatting, optional photo or file; compose.py) → recipients
(audience.py) → acknowledgement → preview with the recipient count → send now or at a set
time (sending.py); a progress message with a cancel button follows the delivery (progress.py,
a service bot/app.py starts); 📋 lists recent notices with their statistics (recent.py), lists
(acks.py), xlsx export (export.py) and a reminder to the silent ones.
Members: the acknowledgement buttons on a notice; 📬 lists the notices they received (acks.py).

Every handler is written against the channel seam (handlers/channel), so the same flows run on
every channel; only the progress service edits a Telegram message on its own.
"""

from __future__ import annotations

from handlers.notices import acks, audience, compose, export, recent, sending
from handlers.notices.common import FLOW
from handlers.notices.messages import FEATURE, ack_data
from handlers.wiring import Access, TurnButtonHandler, Wiring

__all__ = ["FEATURE", "ack_data", "register"]

# Buttons from before their actions had readable names (ntc:ack:<id>:<option> and so on) are
# still in members' chats, in staff's statistics cards and summaries, and in outbox rows not
# sent yet: the old names stay accepted. Compose-dialog buttons (draft, recipients, preview)
# live minutes and have no aliases; an old one gets "no longer valid" and the draft waits.
MEMBER_ALIASES = {"ack": "acknowledge", "acked": "acknowledged", "my": "mine"}
STAFF_ALIASES = {
    "st": "stats",
    "sr": "refresh_stats",
    "ls": "list",
    "xl": "export",
    "rm": "remind",
    "rf": "resend_failed",
}


def register(wiring: Wiring) -> None:
    wiring.add_turn_command("notice", compose.compose, access=Access.staff)
    wiring.add_turn_command("notices", recent.recent, access=Access.staff)
    staff: dict[str, TurnButtonHandler] = {
        # composing
        "start_over": compose.start_over,
        "resume": compose.resume,
        "audience": audience.choose_audience,
        "toggle": audience.toggle,
        "audience_done": audience.audience_done,
        "activity": audience.pick_activity,
        "ack_mode": sending.choose_ack,
        "change_audience": audience.change_audience,
        "discard": sending.discard,
        # sending and cancelling
        "send_now": sending.send_now,
        "schedule": sending.ask_time,
        "cancel": sending.cancel,
        # statistics, lists, export, reminder
        "stats": recent.open_stats,
        "refresh_stats": recent.refresh_stats,
        "list": acks.recipients,
        "export": export.export,
        "remind": recent.remind,
        "resend_failed": sending.resend_failed,
    }
    member: dict[str, TurnButtonHandler] = {
        "acknowledge": acks.acknowledge,
        "acknowledged": acks.acknowledged,
        "mine": acks.show_mine,
    }
    wiring.add_turn_buttons(FEATURE, staff, access=Access.staff)
    wiring.add_turn_buttons(FEATURE, member, access=Access.member)
    wiring.add_turn_buttons(
        FEATURE, {old: staff[new] for old, new in STAFF_ALIASES.items()}, access=Access.staff
    )
    wiring.add_turn_buttons(
        FEATURE, {old: member[new] for old, new in MEMBER_ALIASES.items()}, access=Access.member
    )
    # The acknowledgement buttons on the preview: they only say they are a preview.
    wiring.add_turn_buttons(FEATURE, {"preview": sending.preview_only}, access=Access.anyone)
    wiring.add_turn_flow(FLOW, compose.flow)
    wiring.add_turn_menu("notices.menu_button", compose.compose, staff=True, order=220)
    wiring.add_turn_menu(
        "notices.staff_menu_button",
        recent.recent,
        staff=True,
        order=230,
        aliases=("notices.staff_menu_button_before",),
    )
    wiring.add_turn_menu("notices.my_button", acks.my_notices, order=300)
