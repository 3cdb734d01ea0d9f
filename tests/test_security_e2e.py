"""Security end to end: every staff action refused to members and strangers, forged buttons that
point at other people's things, and exports that are audited.

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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select, update

from bot.channels import TELEGRAM, telegram_account
from bot.i18n import Texts
from bot.scheduler import SchedulerService
from bot.tryout import SimUser
from handlers.notices import ack_data
from storage import activities as acts
from storage import dialogs, members, notices, reports
from storage.models import (
    AckMode,
    Activity,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    AudienceKind,
    AuditLog,
    Base,
    DeliveryStatus,
    Notice,
    NoticeStatus,
    OutboxMessage,
    Role,
    Sector,
    TargetKind,
)
from storage.reports import Limits
from tests.support import Harness

ROOT = Path(__file__).resolve().parent.parent
TEXTS = Texts("zh-CN")
STAFF, MEMBER, OTHER, STRANGER = 2001, 1001, 1002, 5005
ROLES = {"member": MEMBER, "stranger": STRANGER, "staff": STAFF}
UNBOUND_PHONE = "+8613800138004"
BATCH = "batch-sec-1"
YEAR = 2026
# Things only staff (or their owner) may see; none of them may reach a refused user.
SECRETS = ("黄志强", "赵丽", "河道垃圾清理难", "周五下午开会", "乡村振兴调研", "暗访报告草稿")
# Tables that change on every update whatever it asks for (handled ids, received updates kept
# until handled, the open dialog step, which is checked on its own).
BOOKKEEPING = {"processed_update", "inbox_update", "dialog_state"}


def t(key: str) -> str:
    return TEXTS.get("zh-CN", key)


# -- the world every test starts from --------------------------------------------------------------


@dataclass(frozen=True)
class World:
    staff: int
    member: int
    other: int
    unbound: int
    economy: int  # the member's sector
    farming: int  # the other member's sector
    report: int  # the other member's submitted report
    draft: int  # the other member's open draft
    activity: int  # published; invites the farming sector only; the other member signed up
    draft_activity: int  # a complete staff draft from an import batch
    notice_draft: int  # the staff member's draft, ready to send
    notice_done: int  # sent to the farming sector with a "received" button, not answered yet
    notice_scheduled: int  # to the farming sector, tomorrow


async def build_world(bot: Harness) -> World:
    # The reminders' scheduler would enqueue the staff digest behind the test's back; it has
    # nothing to do with authority, so it stops (after its first scan) before anyone exists.
    assert bot.app is not None
    for service in bot.app.bot_data.services:
        if isinstance(service, SchedulerService):
            await service.stop()
    now = bot.clock.now
    async with bot.db.transaction() as s:
        economy, farming = Sector(name="经济界"), Sector(name="农业界")
        s.add_all([economy, farming])
        await s.flush()
        economy_id, farming_id = economy.id, farming.id
    staff = await bot.add_member(
        "王干部", "+8615000150000", role=Role.staff, telegram_user_id=STAFF
    )
    member = await bot.add_member(
        "林文华", "+8613800138001", telegram_user_id=MEMBER, sector_id=economy_id
    )
    other = await bot.add_member(
        "黄志强", "+8613800138002", telegram_user_id=OTHER, sector_id=farming_id
    )
    unbound = await bot.add_member("赵丽", UNBOUND_PHONE, sector_id=economy_id)
    for user_id in (STAFF, MEMBER, OTHER, STRANGER):
        bot.emu.user(user_id)

    async with bot.db.transaction() as s:
        for name, text in (
            ("title", "河道垃圾清理难"),
            ("situation", "城区内河沿岸垃圾堆积"),
            ("problem", "清理责任不清"),
            ("suggestions", "明确河长责任"),
        ):
            await reports.save_text(s, other, name, text, Limits())
        result = await reports.save_category(s, other, "livelihood", ["livelihood"])
        assert result.report is not None
        report = result.report.id
        submitted = await reports.submit(
            s, other, report, revision=None, now=now, tz=bot.settings.tz
        )
        assert submitted.ok
        saved = await reports.save_text(s, other, "title", "暗访报告草稿", Limits())
        assert saved.report is not None
        draft = saved.report.id

    starts = now + timedelta(days=10)
    async with bot.db.transaction() as s:
        activity = Activity(
            type=ActivityType.inspection,
            status=ActivityStatus.published,
            title="乡村振兴调研",
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
            place="闽侯县",
            capacity=30,
            published_at=now,
        )
        draft_activity = Activity(
            type=ActivityType.visit,
            status=ActivityStatus.draft,
            title="走进政协开放日",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            place="政协大楼",
            capacity=20,
            import_batch=BATCH,
        )
        s.add_all([activity, draft_activity])
        await s.flush()
        s.add(ActivityTarget(activity_id=activity.id, kind=TargetKind.sector, ref_id=farming_id))
        s.add(ActivityTarget(activity_id=draft_activity.id, kind=TargetKind.everyone))
        activity_id, draft_activity_id = activity.id, draft_activity.id
    async with bot.db.transaction() as s:
        signed = await acts.sign_up(s, activity_id, other, now=now)
        assert signed.ok

    async def notice(*, at: datetime | None = None, send: bool = True) -> int:
        async with bot.db.transaction() as s:
            author = await members.by_account(s, telegram_account(STAFF))
            assert author is not None
            view = await notices.open_draft(s, author)
            assert not isinstance(view, notices.Problem)
            body = "周五下午开会"
            await notices.set_body(s, author, view.id, html=body, visible_length=len(body))
            await notices.set_audience(s, author, view.id, AudienceKind.sectors, [farming_id])
            await notices.set_ack(s, author, view.id, AckMode.received)
            if not send:
                return view.id
            queued = await notices.queue(s, author, view.id, now=now, ack_data=ack_data, at=at)
            assert not isinstance(queued, notices.Problem)
            if at is None:
                # Delivered and finished, as the worker would have left it.
                await s.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.source_type == "notice")
                    .where(OutboxMessage.source_id == view.id)
                    .values(status=DeliveryStatus.sent, sent_at=now)
                )
                await s.execute(
                    update(Notice)
                    .where(Notice.id == view.id)
                    .values(status=NoticeStatus.done, finished_at=now)
                )
            return view.id

    notice_done = await notice()
    notice_scheduled = await notice(at=now + timedelta(days=1))
    notice_draft = await notice(send=False)
    return World(
        staff=staff,
        member=member,
        other=other,
        unbound=unbound,
        economy=economy_id,
        farming=farming_id,
        report=report,
        draft=draft,
        activity=activity_id,
        draft_activity=draft_activity_id,
        notice_draft=notice_draft,
        notice_done=notice_done,
        notice_scheduled=notice_scheduled,
    )


# -- what "nothing changed" means ------------------------------------------------------------------


async def snapshot(bot: Harness) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the bookkeeping ones."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with bot.db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in BOOKKEEPING:
                continue
            rows = (await s.execute(select(table))).all()
            out[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return out


def changed_tables(
    before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]
) -> list[str]:
    return [name for name in before if before[name] != after[name]]


async def barrier(bot: Harness, user: SimUser) -> None:
    """The user's updates are handled one by one: once /help is answered, so is all before it."""
    count = len(bot.emu.messages_to(user.user_id))
    await user.send_command("help")
    await bot.emu.wait_for(user.user_id, "OFFICE-PHONE-0591", after=count)


async def alert_text(bot: Harness, update_id: int) -> str:
    """The text of the popup that answered this button press (it must be an alert)."""
    await bot.emu.wait_for_call(
        "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == str(update_id)
    )
    answer = bot.emu.callback_answers[str(update_id)]
    assert answer.get("show_alert") is True, answer
    return str(answer.get("text") or "")


@dataclass
class Watch:
    """What the person refused and everyone else have received since it started."""

    bot: Harness
    user_id: int
    before: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)

    async def start(self) -> Watch:
        self.before = await snapshot(self.bot)
        self.counts = {chat: len(self.bot.emu.messages_to(chat)) for chat in ROLES.values()}
        self.counts[OTHER] = len(self.bot.emu.messages_to(OTHER))
        return self

    async def assert_nothing_changed(self) -> None:
        user = self.bot.emu.user(self.user_id)
        await barrier(self.bot, user)
        after = await snapshot(self.bot)
        assert not changed_tables(self.before, after), changed_tables(self.before, after)
        async with self.bot.db.transaction() as s:
            assert await dialogs.get(s, telegram_account(self.user_id).key) is None, (
                "a dialog was left open"
            )
        for chat, count in self.counts.items():
            if chat != self.user_id:
                assert len(self.bot.emu.messages_to(chat)) == count, f"chat {chat} was told"
        received = self.bot.emu.messages_to(self.user_id)[self.counts[self.user_id] :]
        assert all(m.kind == "text" for m in received), [m.kind for m in received]
        for message in received:
            shown = f"{message.text} {message.buttons()}"
            assert not any(secret in shown for secret in SECRETS), shown


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
MEMBER_FLOWS = {"report", "report_quick", "act_leave", "act_checkin"}


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
    commands: set[str] = set()

    class Recorder:
        def add_handler(self, handler: Any, group: int = 0) -> None:
            for name in getattr(handler, "commands", ()):
                commands.add(name)

        def add_error_handler(self, handler: Any) -> None:
            return None

    for feature in handlers.FEATURES:
        feature.register(Recorder(), wiring)
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


# -- forged buttons pointing at other people's things ----------------------------------------------


async def test_buttons_cannot_touch_another_members_draft(bot: Harness) -> None:
    """Every draft button, forged with the other member's draft id: refused, nothing changed.
    (Their submitted report: test_reports_e2e::
    test_member_cannot_open_another_members_report_by_forged_callback.)"""
    world = await build_world(bot)
    watch = await Watch(bot, MEMBER).start()
    user = bot.emu.user(MEMBER)
    d = world.draft
    forged = [
        f"rep:continue:{d}",
        f"rep:discard:{d}",
        f"rep:discard_yes:{d}",
        f"rep:discard_no:{d}",
        f"rep:edit:{d}",
        f"rep:edit_section:{d}:title",
        f"rep:preview:{d}",
        f"rep:coauthors:{d}",
        f"rep:add_coauthor:{d}:{world.member}",
        f"rep:remove_coauthor:{d}:{world.other}",
        f"rep:confirm:{d}:1",
        f"rep:open:{d}",
        f"rep:revise:{d}",
    ]
    for data in forged:
        update_id = await user.send_callback(1, data)
        assert t("common.stale_button") in await alert_text(bot, update_id), data
    await watch.assert_nothing_changed()


async def test_notice_buttons_of_a_notice_never_received(bot: Harness) -> None:
    """A member who was not a recipient, and a stranger, cannot open, answer or read the answer
    of a notice. (A non-recipient pressing "received": test_notices_e2e::
    test_bad_input_is_refused_and_nothing_is_recorded.)"""
    world = await build_world(bot)
    n = world.notice_done
    # Each under its name and its old one (ntc:my, ntc:acked, ntc:ack): buttons already in chats.
    opened = [f"ntc:mine:{n}", f"ntc:acknowledged:{n}", f"ntc:my:{n}", f"ntc:acked:{n}"]
    answered = [f"ntc:acknowledge:{n}:0", f"ntc:ack:{n}:0"]
    for user_id, forged, refusal in (
        (MEMBER, opened, "common.stale_button"),
        (STRANGER, answered + opened, "common.not_bound"),
    ):
        watch = await Watch(bot, user_id).start()
        user = bot.emu.user(user_id)
        for data in forged:
            update_id = await user.send_callback(1, data)
            assert t(refusal) in await alert_text(bot, update_id), data
        await watch.assert_nothing_changed()


async def test_activity_buttons_for_an_activity_not_invited_to(bot: Harness) -> None:
    """The member is not invited (another sector): the card, leave, check-in, calendar file and
    cancel are refused; a draft activity does not exist for members. (Signing up: test_activities
    _e2e::test_deep_link_opens_the_card_and_refuses_the_uninvited_and_forged.)"""
    world = await build_world(bot)
    watch = await Watch(bot, MEMBER).start()
    user = bot.emu.user(MEMBER)
    a, draft = world.activity, world.draft_activity
    expected = {
        f"act:open:{a}": "activities.not_invited",
        f"act:v:{a}": "activities.not_invited",  # v, l, j: names on messages sent before
        f"act:l:{a}": "activities.outcome_not_invited",
        f"act:leave:{a}": "activities.outcome_not_invited",
        f"act:leave_no_reason:{a}": "common.stale_button",
        f"act:checkin:{a}": "activities.not_invited",
        f"act:calendar:{a}": "activities.not_invited",
        f"act:cancel:{a}": "activities.outcome_not_signed_up",
        f"act:open:{draft}": "common.stale_button",
        f"act:signup:{draft}": "common.stale_button",
        f"act:j:{draft}": "common.stale_button",
        f"act:checkin:{draft}": "common.stale_button",
        f"act:calendar:{draft}": "common.stale_button",
    }
    for data, key in expected.items():
        update_id = await user.send_callback(1, data)
        assert t(key) in await alert_text(bot, update_id), data
    await watch.assert_nothing_changed()


# -- exports: staff only, and on record ------------------------------------------------------------


async def test_every_export_is_audited(bot: Harness) -> None:
    """Reports (xlsx, compilation, one report), an activity roster and notice statistics: each
    file comes with an audit row naming the staff member. (Members are refused every one of them:
    the rows "rrv search and exports", "acs roster, export, check-in code" and "ntc statistics"
    above; the duty record exports: test_duty_record_e2e.)"""
    world = await build_world(bot)
    staff = bot.emu.user(STAFF)
    exports = {
        "rrv:xlsx:-": ("report.export", ".xlsx"),
        "rrv:compilation:-": ("report.export", ".docx"),
        f"rrv:docx:{world.report}": ("report.export", ".docx"),
        f"acs:export:{world.activity}": ("activity.export", ".xlsx"),
        f"ntc:export:{world.notice_done}": ("notice.export", ".xlsx"),
    }
    for data, (action, suffix) in exports.items():
        count = len(bot.emu.messages_to(STAFF))
        await staff.send_callback(1, data)
        sent = await bot.emu.wait_for(STAFF, lambda m: m.kind == "document", after=count)
        assert (sent.file_name or "").endswith(suffix), data
        async with bot.db.transaction() as s:
            row = await s.scalar(select(AuditLog).order_by(AuditLog.id.desc()).limit(1))
        assert row is not None and row.action == action, data
        assert row.actor_member_id == world.staff
        assert (row.actor_channel, row.actor_external_id) == (TELEGRAM, str(STAFF))
    async with bot.db.transaction() as s:
        rows = list(await s.scalars(select(AuditLog).where(AuditLog.action == "report.export")))
    assert [r.details.get("format") for r in rows] == ["xlsx", "docx", "docx"]
    assert [r.details.get("count") for r in rows] == [1, 1, 1]
    assert rows[2].object_id == str(world.report)
