"""A second channel runs a real flow through the seam alone (tests/channel_plain.py: an adapter,
a renderer and a delivery, and no change to storage/ or to the feature's code): a member on it
sends a quick report, adds to it, files a document, hears the office's decision through the
outbox, and each member is written to once, on the channel they joined last."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.channels import telegram_account
from handlers.notices import messages as notice_messages
from handlers.reports.cards import REVIEW_FEATURE
from storage import identities, members, notices, reports
from storage.identities import Account
from storage.models import AudienceKind, OutboxMessage, Role
from tests.channel_plain import PLAIN, PlainChannel
from tests.support import Harness

STAFF = 3101
REPORT = "鼓楼区老旧小区加装电梯进展缓慢\n部分小区居民意见不一，<协调>难度大 & 资金缺口明显"


async def _plain_member(bot: Harness, name: str, phone: str, user: str) -> tuple[int, PlainChannel]:
    member_id = await bot.add_member(name, phone)
    async with bot.db.transaction() as session:
        await identities.attach(session, member_id, Account(PLAIN, user, user))
    assert bot.app is not None
    return member_id, PlainChannel(bot.app.bot_data)


async def test_a_quick_report_runs_end_to_end_on_a_second_channel(bot: Harness) -> None:
    member_id, plain = await _plain_member(bot, "陈静", "+8613900139000", "chen")

    await plain.send("chen", REPORT)
    saved = plain.last("chen")
    # The same texts as on Telegram, as plain text: no tags, a typed "<协调>" kept as typed.
    assert "已把您的消息存为社情民意草稿「鼓楼区老旧小区加装电梯进展缓慢」" in saved.text
    assert "还需补充" in saved.text
    assert "<b>" not in saved.text
    assert saved.labels() == ["✍️ 现在补全", "⏰ 稍后再说", "🗑 放弃草稿"]
    async with bot.db.read() as session:
        draft = await reports.open_draft(session, member_id)
    assert draft is not None and draft.title == "鼓楼区老旧小区加装电梯进展缓慢"
    assert "<协调>难度大 & 资金缺口明显" in (draft.value("situation") or "")

    # More right away is added to the same draft; a file is fetched through the channel.
    await plain.send("chen", "建议由街道牵头召开居民协商会，分楼栋逐户沟通")
    await plain.send_file("chen", "现场照片说明.pdf", b"%PDF-1.4 plain", "application/pdf")
    async with bot.db.read() as session:
        draft = await reports.open_draft(session, member_id)
    assert draft is not None
    assert "居民协商会" in (draft.value("situation") or "") + (draft.value("suggestions") or "")
    assert [a.file_name for a in draft.attachments] == ["现场照片说明.pdf"]
    assert (bot.settings.data_dir / draft.attachments[0].path).read_bytes() == b"%PDF-1.4 plain"

    # A button of the view, pressed on this channel, reaches the same feature code.
    await plain.press("chen", "⏰ 稍后再说")
    assert "草稿已保存" in plain.last("chen").text
    # A free message while a draft is open asks first; "not now" leaves the draft as it was.
    await plain.send("chen", "另外：小区停车位也十分紧张，建议统筹规划")
    assert plain.last("chen").labels() == ["➕ 加入草稿", "✖ 不用了"]
    await plain.press("chen", "✖ 不用了")
    async with bot.db.read() as session:
        unchanged = await reports.open_draft(session, member_id)
    assert unchanged is not None and "停车位" not in str(unchanged)
    assert plain.last("chen").text == "好的，这条消息没有加入草稿。"


async def test_the_office_decision_reaches_the_member_on_their_channel(bot: Harness) -> None:
    member_id, plain = await _plain_member(bot, "陈静", "+8613900139000", "chen")
    await bot.add_member("王秘书", "+8613900139001", role=Role.staff, telegram_user_id=STAFF)
    await plain.send("chen", REPORT)
    async with bot.db.transaction() as session:
        draft = await reports.open_draft(session, member_id)
        assert draft is not None
        await reports.save_category(session, member_id, "民生保障", ["民生保障"])
        for name in ("problem", "suggestions"):
            await reports.save_text(session, member_id, name, "建议分批推进", reports.Limits())
        submitted = await reports.submit(
            session,
            member_id,
            draft.id,
            revision=None,
            now=bot.clock.now,
            tz=bot.settings.tz,
        )
    assert submitted.ok and submitted.report is not None

    # Staff decide on Telegram, as always.
    staff = bot.emu.user(STAFF)
    await staff.send_callback(1, f"{REVIEW_FEATURE}:decide:{draft.id}:adopt")
    await bot.emu.wait_for(STAFF, lambda m: bool(m.buttons()))
    await staff.send_callback(2, f"{REVIEW_FEATURE}:no_note")
    await bot.emu.wait_for(STAFF, "已采用")

    # The status notice was queued for the member's plain address and goes out there only.
    assert await plain.deliver() == 1
    notice = plain.last("chen")
    assert "状态更新为：已采用" in notice.text and "<b>" not in notice.text
    assert notice.buttons and notice.buttons[0][1].startswith("rep:open:")
    assert await plain.deliver() == 0


async def test_a_notice_reaches_each_member_once_on_the_channel_joined_last(
    bot: Harness,
) -> None:
    both = await bot.add_member("陈静", "+8613900139000", telegram_user_id=3201)
    telegram_only = await bot.add_member("林文华", "+8613800138000", telegram_user_id=3202)
    await bot.add_member("王秘书", "+8613900139001", role=Role.staff, telegram_user_id=STAFF)
    assert bot.app is not None
    plain = PlainChannel(bot.app.bot_data)
    async with bot.db.transaction() as session:
        # The member then opens the plain channel too (bound a day later).
        await identities.attach(
            session, both, Account(PLAIN, "chen", "chen"), now=bot.clock.now + timedelta(days=1)
        )
        staff = await members.by_account(session, telegram_account(STAFF))
        assert staff is not None
        draft = await notices.open_draft(session, staff)
        assert not isinstance(draft, notices.Problem)
        await notices.set_body(
            session, staff, draft.id, html="周五 <b>全体会议</b>", visible_length=8
        )
        await notices.set_audience(session, staff, draft.id, AudienceKind.everyone)
        now = bot.clock.now
        queued = await notices.queue(
            session, staff, draft.id, now=now, message=notice_messages.message
        )
    assert not isinstance(queued, notices.Problem)
    async with bot.db.read() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.member_id, OutboxMessage.channel, OutboxMessage.address).where(
                    OutboxMessage.source_type == "notice"
                )
            )
        ).all()
    assert sorted(rows) == sorted(
        [
            (both, PLAIN, "chen"),
            (telegram_only, "telegram", "3202"),
            (staff.id, "telegram", str(STAFF)),
        ]
    )
    # Telegram's delivery leaves the plain row alone; the plain channel sends it, as plain text.
    await bot.emu.wait_for(3202, "全体会议")
    assert await plain.deliver() == 1
    shown = plain.last("chen")
    assert "周五 全体会议" in shown.text and "<b>" not in shown.text
    assert [m for m in bot.emu.messages_to(3201) if "全体会议" in (m.text or "")] == []
