"""Security end to end, the authority table: every staff action refused to members and
strangers (the world and Watch: tests/security_support.py).

STAFF_ACTIONS below is the authority table of docs/security.md, row for row: each row
is one staff command, menu button, family of staff buttons, or staff dialog step, with the refusal
a bound member and a stranger get. Every row is driven through the real bot and must change
nothing: every table (but the processed-update ids) is compared before and after, nobody else
hears anything, and no file, name or text of the world reaches the person refused.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from bot.channels import telegram_account
from bot.tryout import SimUser
from storage import dialogs
from tests.security_support import (
    BATCH,
    ROLES,
    UNBOUND_PHONE,
    Watch,
    World,
    alert_text,
    build_world,
    t,
)
from tests.support import Harness

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2026


# -- the authority table ---------------------------------------------------------------------------

Sender = Callable[[SimUser, World], Awaitable[list[int]]]


@dataclass(frozen=True)
class StaffAction:
    """One row of the authority table (docs/security.md)."""

    name: str
    send: Sender  # returns the update ids of button presses (empty for messages)
    member: str  # locale key of what a bound member is told
    stranger: str  # ... and someone not on the roster
    roles: tuple[str, ...] = ("member", "stranger")
    dialog: tuple[str, str, Callable[[World], dict[str, Any]]] | None = None
    extra: dict[str, str] = field(default_factory=dict)  # more roles: role -> locale key

    def refusal(self, role: str) -> str:
        return {"member": self.member, "stranger": self.stranger, **self.extra}[role]


def command(
    name: str,
    text: Callable[[World], str],
    *,
    member: str = "common.staff_only",
    stranger: str = "common.not_bound",
    extra: dict[str, str] | None = None,
) -> StaffAction:
    async def send(user: SimUser, world: World) -> list[int]:
        await user.send_text(text(world))
        return []

    roles = ("member", "stranger", *(extra or {}))
    return StaffAction(name, send, member, stranger, roles, extra=extra or {})


def menu(key: str) -> StaffAction:
    async def send(user: SimUser, world: World) -> list[int]:
        await user.send_text(t(key))
        return []

    return StaffAction(f"menu {key}", send, "common.staff_only", "common.not_bound")


def buttons(
    name: str,
    data: Callable[[World], list[str]],
    *,
    member: str = "common.staff_only",
    stranger: str = "common.not_bound",
) -> StaffAction:
    async def send(user: SimUser, world: World) -> list[int]:
        return [await user.send_callback(1, item) for item in data(world)]

    return StaffAction(name, send, member, stranger)


def dialog_step(
    name: str,
    flow: str,
    step: str,
    data: Callable[[World], dict[str, Any]],
    *,
    text: str | None = None,
    document: tuple[bytes, str, str] | None = None,
) -> StaffAction:
    """A staff dialog left open (the user was demoted or removed since): the next message."""

    async def send(user: SimUser, world: World) -> list[int]:
        if document is not None:
            await user.send_document(*document)
        else:
            await user.send_text(text or "")
        return []

    return StaffAction(
        name,
        send,
        "common.staff_only",
        "common.staff_only",
        dialog=(flow, step, data),
    )


def _activities_sheet() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["类型", "标题", "开始时间", "结束时间", "地点", "人数", "邀请范围"])
    sheet.append(["视察调研", "河道治理视察", "2026-12-10 09:00", "12:00", "闽江", 20, "全体"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ROSTER_CSV = (ROOT / "samples" / "roster-bad-rows.csv").read_bytes()
DECISIONS = ("adopt", "forward", "instruct", "return", "excellent")

STAFF_ACTIONS: list[StaffAction] = [
    # Commands.
    command("/invite", lambda w: f"/invite {UNBOUND_PHONE}"),
    command(
        "/setrole",
        lambda w: f"/setrole #{w.unbound} admin",
        member="common.admin_only",
        extra={"staff": "common.admin_only"},
    ),
    command(
        "/unbind",
        lambda w: f"/unbind #{w.member}",
        member="common.admin_only",
        extra={"staff": "common.admin_only"},
    ),
    command("/roster", lambda w: "/roster"),
    command("/reports", lambda w: f"/reports SQ-{YEAR}-000001"),
    command("/notice", lambda w: "/notice"),
    command("/notices", lambda w: "/notices"),
    command("/activities", lambda w: "/activities"),
    command("/stats", lambda w: "/stats"),
    command("/record of another member", lambda w: f"/record #{w.other}", member="duty.only_own"),
    # Staff menu buttons (members do not have them, but anyone can type the label).
    menu("staff.menu_button"),
    menu("reports.review.menu"),
    menu("notices.menu_button"),
    menu("notices.staff_menu_button"),
    menu("activities.menu_staff"),
    menu("duty.staff_menu_button"),
    # Staff buttons, by family, with real ids from the world.
    buttons(
        "rrv review queue and card",
        lambda w: ["rrv:next", f"rrv:next:{w.report}", f"rrv:open:{w.report}"],
    ),
    buttons(
        "rrv review decisions",
        lambda w: [f"rrv:decide:{w.report}:{d}" for d in DECISIONS] + ["rrv:no_note"],
    ),
    buttons(
        "rrv search and exports",
        lambda w: ["rrv:list:0:-", "rrv:xlsx:-", "rrv:compilation:-", f"rrv:docx:{w.report}"],
    ),
    buttons(
        "ntc composing",
        lambda w: [
            "ntc:start_over",
            f"ntc:resume:{w.notice_draft}",
            f"ntc:audience:{w.notice_draft}:everyone",
            f"ntc:toggle:{w.notice_draft}:sectors:{w.economy}",
            f"ntc:audience_done:{w.notice_draft}",
            f"ntc:activity:{w.notice_draft}:{w.activity}",
            f"ntc:ack_mode:{w.notice_draft}:none",
            f"ntc:change_audience:{w.notice_draft}",
            f"ntc:discard:{w.notice_draft}",
        ],
    ),
    buttons(
        "ntc sending and cancelling",
        lambda w: [
            f"ntc:send_now:{w.notice_draft}",
            f"ntc:schedule:{w.notice_draft}",
            f"ntc:cancel:{w.notice_scheduled}",
        ],
    ),
    buttons(
        "ntc statistics, lists, export, reminder",
        lambda w: [
            f"ntc:stats:{w.notice_done}",
            f"ntc:refresh_stats:{w.notice_done}",
            f"ntc:list:{w.notice_done}:silent",
            f"ntc:export:{w.notice_done}",
            f"ntc:remind:{w.notice_done}",
            f"ntc:resend_failed:{w.notice_done}",
            # the same under their old names, still accepted from cards already in chats
            f"ntc:st:{w.notice_done}",
            f"ntc:sr:{w.notice_done}",
            f"ntc:ls:{w.notice_done}:silent",
            f"ntc:xl:{w.notice_done}",
            f"ntc:rm:{w.notice_done}",
            f"ntc:rf:{w.notice_done}",
        ],
    ),
    buttons("bnd binding move decisions", lambda w: ["bnd:ok:1", "bnd:no:1"]),
    buttons("acs list and card", lambda w: ["acs:home:1", f"acs:card:{w.activity}"]),
    buttons(
        "acs create and edit",
        lambda w: [
            "acs:new",
            "acs:new_type:visit",
            f"acs:continue:{w.draft_activity}",
            f"acs:edit:{w.activity}",
            f"acs:edit_field:{w.activity}:title",
            f"acs:skip:{w.draft_activity}:description",
            f"acs:audience:{w.draft_activity}:everyone",
            f"acs:pick:{w.draft_activity}:liaison_point:1",
            f"acs:pick_done:{w.draft_activity}",
            f"acs:reply_required:{w.draft_activity}:1",
        ],
    ),
    buttons(
        "acs publish, postpone, cancel",
        lambda w: [
            f"acs:publish:{w.draft_activity}:1",
            f"acs:publish_batch:{BATCH}:1",
            f"acs:postpone:{w.activity}",
            f"acs:cancel:{w.activity}",
            f"acs:cancel:{w.draft_activity}",
        ],
    ),
    buttons(
        "acs roster, export, check-in code",
        lambda w: [
            f"acs:roster:{w.activity}",
            f"acs:export:{w.activity}",
            f"acs:checkin_code:{w.activity}",
            f"acs:checkin_code:{w.activity}:new",
        ],
    ),
    buttons("acs batch import", lambda w: ["acs:import"]),
    buttons(
        "duty statistics, exports, others' records",
        lambda w: [
            f"duty:member:{w.other}:{YEAR}",
            f"duty:stats:{YEAR}:sector",
            f"duty:export:{YEAR}",
            f"duty:awards:{YEAR}",
        ],
    ),
    # Staff dialog steps: a dialog opened while the user was staff, answered after demotion.
    dialog_step(
        "dialog roster upload",
        "roster",
        "file",
        lambda w: {},
        document=(ROSTER_CSV, "roster.csv", "text/csv"),
    ),
    dialog_step(
        "dialog review decision text",
        "report_review",
        "reason",
        lambda w: {"report_id": w.report, "action": "return"},
        text="请补充数据后再报",
    ),
    dialog_step(
        "dialog notice composing",
        "notice",
        "text",
        lambda w: {"id": w.notice_draft},
        text="明天上午开会",
    ),
    dialog_step(
        "dialog activity edit",
        "acs_edit",
        "title",
        lambda w: {"id": w.activity, "mode": "edit"},
        text="改过的标题",
    ),
    dialog_step(
        "dialog activity postpone",
        "acs_postpone",
        "start",
        lambda w: {"id": w.activity},
        text="2026-12-20 09:00",
    ),
    dialog_step(
        "dialog activity cancel",
        "acs_cancel",
        "reason",
        lambda w: {"id": w.activity},
        text="天气原因",
    ),
    dialog_step(
        "dialog activity import",
        "acs_import",
        "file",
        lambda w: {},
        document=(_activities_sheet(), "plan.xlsx", "application/vnd.ms-excel"),
    ),
]


# Commands and dialog flows open to members (/record shows others' records to staff only: a row).
MEMBER_COMMANDS = {"start", "menu", "cancel", "help", "language", "record"}
# "binding": an account not bound yet, waiting to share its contact (anyone may be in it).
MEMBER_FLOWS = {"report", "report_quick", "act_leave", "act_checkin", "binding"}


@pytest.mark.parametrize("action", STAFF_ACTIONS, ids=lambda a: a.name)
async def test_staff_action_is_refused_and_changes_nothing(
    bot: Harness, action: StaffAction
) -> None:
    world = await build_world(bot)
    for role in action.roles:
        user_id = ROLES[role]
        user = bot.emu.user(user_id)
        if action.dialog is not None:
            flow, step, data = action.dialog
            async with bot.db.transaction() as s:
                await dialogs.set(
                    s, telegram_account(user_id).key, flow, step, data(world), now=bot.clock.now
                )
        watch = await Watch(bot, user_id).start()
        refusal = t(action.refusal(role))
        pressed = await action.send(user, world)
        if pressed:
            for update_id in pressed:
                assert refusal in await alert_text(bot, update_id), (role, update_id)
        else:
            await bot.emu.wait_for(user_id, refusal)
        await watch.assert_nothing_changed()


def test_the_table_names_every_staff_command_and_menu_button() -> None:
    """A new staff command or staff menu button needs its row (and so its test) here."""
    import handlers
    from handlers.wiring import Wiring

    wiring = Wiring()
    for feature in handlers.FEATURES:
        feature.register(wiring)
    commands = set(wiring.turn_commands)
    staff_commands = {f"/{c}" for c in commands - MEMBER_COMMANDS}
    named = {a.name.split()[0] for a in STAFF_ACTIONS if a.name.startswith("/")}
    assert staff_commands <= named, (
        f"commands without a row (or add to MEMBER_COMMANDS): {staff_commands - named}"
    )
    staff_menu = {f"menu {e.key}" for e in wiring.menu if e.staff_only}
    assert staff_menu == {a.name for a in STAFF_ACTIONS if a.name.startswith("menu ")}
    flows = set(wiring.flows) - MEMBER_FLOWS
    rows = {a.dialog[0] for a in STAFF_ACTIONS if a.dialog is not None}
    assert flows == rows, f"dialog flows without a row (or add to MEMBER_FLOWS): {flows - rows}"


def test_the_security_doc_table_has_exactly_these_rows() -> None:
    """The authority table in docs/security.md and STAFF_ACTIONS, row for row."""
    document = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    table = document.split("| row (test id) |", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|")[1].strip().strip("`") for line in table.splitlines()[2:]]
    assert rows == [a.name for a in STAFF_ACTIONS]
