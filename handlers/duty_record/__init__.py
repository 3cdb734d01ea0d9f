"""The duty record (履职档案): a member's own card, staff statistics, exports, award candidates.
On the channel seam: every channel shows the same card, statistics and files.

member: the card (/record, the menu button, its year buttons); staff: statistics, the year's
xlsx and the award candidates; export: the spreadsheets; chart: the statistics chart;
common: what they share.
"""

from __future__ import annotations

from handlers.duty_record import member, staff
from handlers.duty_record.common import FEATURE
from handlers.wiring import Access, Wiring


def register(wiring: Wiring) -> None:
    wiring.add_turn_command("record", member.record_command, access=Access.member)
    wiring.add_turn_command("stats", staff.statistics, access=Access.staff)
    wiring.add_turn_buttons(FEATURE, member.MEMBER_BUTTONS, access=Access.member)
    # Everything else is staff work; the storage operations check again.
    wiring.add_turn_buttons(FEATURE, member.STAFF_BUTTONS, access=Access.staff)
    wiring.add_turn_buttons(FEATURE, staff.BUTTONS, access=Access.staff)
    wiring.add_turn_menu(
        "duty.menu_button",
        member.my_record,
        members_only=True,
        order=400,
        aliases=("duty.menu_button_before",),
    )
    wiring.add_turn_menu("duty.staff_menu_button", staff.statistics, staff=True, order=240)
