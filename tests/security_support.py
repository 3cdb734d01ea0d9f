"""Shared by the security end-to-end tests (test_security_*_e2e.py): the world every test
starts from (staff, two members of different sectors, one not bound, a stranger; the other
member's report and draft, a published and a draft activity, a sent, a scheduled and a draft
notice), and what "nothing changed" means for the person refused (Watch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.channels import telegram_account
from bot.i18n import Texts
from bot.scheduler import SchedulerService
from bot.tryout import SimUser
from handlers.notices import messages as notice_messages
from storage import activities as acts
from storage import dialogs, members, notices, reports
from storage.models import (
    AckMode,
    Activity,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    AudienceKind,
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

TEXTS = Texts("zh-CN")
STAFF, MEMBER, OTHER, STRANGER = 2001, 1001, 1002, 5005
ROLES = {"member": MEMBER, "stranger": STRANGER, "staff": STAFF}
UNBOUND_PHONE = "+8613800138004"
BATCH = "batch-sec-1"
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
            queued = await notices.queue(
                s, author, view.id, now=now, message=notice_messages.message, at=at
            )
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
