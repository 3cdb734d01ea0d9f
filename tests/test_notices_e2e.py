"""Notices end to end through the emulator: compose, send, acknowledge, statistics, remind."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.channels import TELEGRAM
from bot.tryout import SentMessage
from handlers.notices import ack_data
from storage import identities
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityType,
    AuditLog,
    DeliveryStatus,
    Member,
    Notice,
    NoticeRecipient,
    NoticeStatus,
    OutboxMessage,
    Role,
    Sector,
    SignupStatus,
)
from tests.support import Harness, bind_telegram
from tests.test_delivery_e2e import eventually

STAFF = 2001


async def add_sector(bot: Harness, name: str) -> int:
    async with bot.db.transaction() as session:
        sector = Sector(name=name)
        session.add(sector)
        await session.flush()
        return sector.id


async def setup_roster(bot: Harness) -> dict[str, int]:
    """A staff member, two economy members, one farmer, one economy member without Telegram."""
    economy = await add_sector(bot, "经济界")
    farming = await add_sector(bot, "农业界")
    await bot.add_member("王干部", "+8615000150000", role=Role.staff, telegram_user_id=STAFF)
    ids = {
        "lin": await bot.add_member(
            "林文华", "+8613800138001", telegram_user_id=1001, sector_id=economy
        ),
        "chen": await bot.add_member(
            "陈静", "+8613800138002", telegram_user_id=1002, sector_id=economy
        ),
        "huang": await bot.add_member(
            "黄志强", "+8613800138003", telegram_user_id=1003, sector_id=farming
        ),
        "zhao": await bot.add_member("赵丽", "+8613800138004", sector_id=economy),
    }
    for user_id in (1001, 1002, 1003):
        bot.emu.user(user_id)
    return ids


async def compose(bot: Harness, text: str) -> SentMessage:
    """Staff opens the composer and sends the text; returns the recipients question."""
    staff = bot.emu.user(STAFF)
    await staff.send_text("📢 发通知")
    await bot.emu.wait_for(STAFF, "请发送通知内容")
    await staff.send_text(text)
    return await bot.emu.wait_for(STAFF, "请选择接收对象")


async def to_economy_with_ack(bot: Harness, text: str) -> SentMessage:
    """Compose to the economy sector with a "received" button; returns the preview summary."""
    staff = bot.emu.user(STAFF)
    ask = await compose(bot, text)
    await staff.tap(ask, "按界别")
    sectors = await bot.emu.wait_for(STAFF, "请点选界别")
    await staff.tap(sectors, "经济界")
    picked = await changed(bot, sectors, lambda m: "✅ 经济界" in m.buttons())
    # Only what is chosen carries the mark: the button that ends the choice does not look chosen.
    assert [label for label in picked.buttons() if label.startswith("✅")] == ["✅ 经济界"]
    await staff.tap(sectors, "➡️ 选好了，下一步")
    ack = await bot.emu.wait_for(STAFF, "是否需要委员回执")
    await staff.tap(ack, "需要“收到”回执")
    return await bot.emu.wait_for(STAFF, "接收人数")


async def changed(
    bot: Harness, message: SentMessage, check: Callable[[SentMessage], bool]
) -> SentMessage:
    """The same bot message once an edit made check true."""
    return await bot.emu.wait_for(
        message.chat_id, lambda m: m.message_id == message.message_id and check(m), after=0
    )


def shows_ack(message: SentMessage) -> bool:
    return any("已回执" in b for b in message.buttons())


async def notice_id(bot: Harness) -> int:
    async with bot.db.transaction() as session:
        value = await session.scalar(select(func.max(Notice.id)))
    assert value is not None
    return int(value)


async def answer_of(bot: Harness, update_id: int) -> dict[str, Any]:
    await bot.emu.wait_for_call(
        "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == str(update_id)
    )
    return bot.emu.callback_answers[str(update_id)]


async def test_notice_with_acknowledgement_to_a_sector(bot: Harness) -> None:
    ids = await setup_roster(bot)
    staff = bot.emu.user(STAFF)
    summary = await to_economy_with_ack(bot, "明天上午九点在三楼会议室开会，请准时参加。")
    # The preview shows the count, and the one economy member without Telegram separately.
    assert "接收人数：2" in (summary.text or "") and "另有 1 人" in (summary.text or "")
    preview = await bot.emu.wait_for(STAFF, "三楼会议室")
    assert preview.buttons() == ["✅ 收到"]
    await staff.tap(summary, "🚀 立即发送")

    lin_copy = await bot.emu.wait_for(1001, "三楼会议室")
    chen_copy = await bot.emu.wait_for(1002, "三楼会议室")
    assert "通知" in (lin_copy.text or "") and lin_copy.buttons() == ["✅ 收到"]
    assert not bot.emu.messages_to(1003)  # another sector

    # The press is recorded once and the button shows it.
    lin = bot.emu.user(1001)
    first = await lin.tap(lin_copy, "✅ 收到")
    assert "已记录" in (await answer_of(bot, first))["text"]
    acked = await changed(bot, lin_copy, shows_ack)
    second = await lin.tap(acked, acked.buttons()[0])
    assert "已经回执过了" in (await answer_of(bot, second))["text"]
    nid = await notice_id(bot)
    again = await lin.send_callback(lin_copy.message_id, ack_data(nid, 0))
    assert "已经回执过了" in (await answer_of(bot, again))["text"]
    async with bot.db.transaction() as session:
        rows = (
            await session.execute(select(NoticeRecipient.member_id, NoticeRecipient.acked_at))
        ).all()
    acked_members = {m for m, at in rows if at is not None}
    assert acked_members == {ids["lin"]}

    # Progress for the sender ends in "done", then the summary arrives.
    await bot.emu.wait_for(STAFF, "发送完成", timeout=15)
    done = await bot.emu.wait_for(STAFF, "已全部处理完毕", timeout=15)
    assert "送达 2" in (done.text or "")

    # Statistics, then a reminder that reaches only the silent one.
    await staff.tap(done, "📊 查看统计")
    card = await bot.emu.wait_for(STAFF, "已回执 1 · 未回执 1")
    await staff.tap(card, "未回执")
    silent_list = await bot.emu.wait_for(STAFF, "未回执（1 人）")
    silent = silent_list.text or ""
    assert "陈静" in silent and "林文华" not in silent
    await staff.tap(card, "🔔 提醒未回执的人")
    await bot.emu.wait_for(STAFF, "1 位未回执的委员")
    reminder = await bot.emu.wait_for(1002, "提醒")
    assert reminder.buttons() == ["✅ 收到"]
    assert not any("提醒" in (m.text or "") for m in bot.emu.messages_to(1001))
    # Acknowledging from the reminder counts too.
    await bot.emu.user(1002).tap(reminder, "✅ 收到")
    await changed(bot, reminder, shows_ack)
    assert chen_copy.message_id != reminder.message_id


async def test_buttons_from_before_the_rename_still_work(bot: Harness) -> None:
    """Buttons sent before the actions had readable names (ntc:ack, ntc:acked, ntc:my, ntc:st)
    are still in members' chats and in outbox rows not sent yet: pressed, they do what they did."""
    await setup_roster(bot)
    summary = await to_economy_with_ack(bot, "周一上午九点开会。")
    staff = bot.emu.user(STAFF)
    await staff.tap(summary, "🚀 立即发送")
    lin_copy = await bot.emu.wait_for(1001, "周一上午九点")
    nid = await notice_id(bot)
    lin = bot.emu.user(1001)
    first = await lin.send_callback(lin_copy.message_id, f"ntc:ack:{nid}:0")
    assert "已记录" in (await answer_of(bot, first))["text"]
    await changed(bot, lin_copy, shows_ack)
    label = await lin.send_callback(lin_copy.message_id, f"ntc:acked:{nid}")
    assert "已经回执过了" in (await answer_of(bot, label))["text"]

    async def recorded() -> bool:  # 📬 lists what the worker has recorded as sent
        async with bot.db.transaction() as session:
            sent = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.channel == TELEGRAM,
                    OutboxMessage.address == "1001",
                    OutboxMessage.status == DeliveryStatus.sent,
                )
            )
        return bool(sent)

    await eventually(recorded)
    count = len(bot.emu.messages_to(1001))
    await lin.send_callback(lin_copy.message_id, f"ntc:my:{nid}")
    await bot.emu.wait_for(1001, "周一上午九点", after=count)
    count = len(bot.emu.messages_to(STAFF))
    await staff.send_callback(summary.message_id, f"ntc:st:{nid}")
    card = await bot.emu.wait_for(STAFF, f"📊 通知 #{nid} ·", after=count)  # the card
    assert "🔄 刷新" in card.buttons()
    async with bot.db.transaction() as session:
        acked = await session.scalar(
            select(func.count())
            .select_from(NoticeRecipient)
            .where(NoticeRecipient.acked_at.is_not(None))
        )
    assert acked == 1


async def test_scheduled_notice_fires_at_its_time(bot: Harness) -> None:
    await setup_roster(bot)
    staff = bot.emu.user(STAFF)
    ask = await compose(bot, "下周一例会改到周二。")
    await staff.tap(ask, "全体委员")
    ack = await bot.emu.wait_for(STAFF, "是否需要委员回执")
    await staff.tap(ack, "不需要回执")
    summary = await bot.emu.wait_for(STAFF, "接收人数")
    assert "接收人数：4" in (summary.text or "")  # three members and the staff member
    await staff.tap(summary, "🕘 定时发送")
    await bot.emu.wait_for(STAFF, "请输入发送时间")
    await staff.send_text("明天")
    await bot.emu.wait_for(STAFF, "看不懂这个时间")
    await staff.send_text("2026-11-25 08:00")  # clock: 10:00 Shanghai time
    await bot.emu.wait_for(STAFF, "已经过去了")
    await staff.send_text("今天下午6点")  # as people type times, as for activities
    await bot.emu.wait_for(STAFF, "将于 2026-11-25 18:00 发送给 4 人")

    await bot.emu.wait_for_call("getUpdates")  # the worker had its chances meanwhile
    assert not bot.emu.messages_to(1001)
    bot.clock.advance(hours=8)
    await bot.emu.wait_for(1001, "例会改到周二")
    await bot.emu.wait_for(1003, "例会改到周二")


async def test_cancel_mid_send_stops_what_is_not_sent(bot: Harness) -> None:
    await bot.add_member("王干部", "+8615000150000", role=Role.staff, telegram_user_id=STAFF)
    async with bot.db.transaction() as session:
        for i in range(150):
            member = Member(name=f"委员{i}", phone=f"+86139{i:08d}")
            session.add(member)
            await session.flush()
            await bind_telegram(session, member.id, 5000 + i)
    staff = bot.emu.user(STAFF)
    ask = await compose(bot, "大量通知")
    await staff.tap(ask, "全体委员")
    await staff.tap(await bot.emu.wait_for(STAFF, "是否需要委员回执"), "不需要回执")
    await staff.tap(await bot.emu.wait_for(STAFF, "接收人数"), "🚀 立即发送")
    progress = await bot.emu.wait_for(STAFF, "发送中")
    await bot.emu.wait_for(5000, "大量通知")
    await staff.tap(progress, "⛔ 取消发送")
    cancelled = await bot.emu.wait_for(STAFF, "不再发送")
    assert "已取消" in (cancelled.text or "")

    nid = await notice_id(bot)

    async def settled() -> dict[DeliveryStatus, int] | None:
        async with bot.db.transaction() as session:
            rows = await session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.source_id == nid, OutboxMessage.source_type == "notice")
                .group_by(OutboxMessage.status)
            )
            counts = {s: n for s, n in rows}
        busy = counts.get(DeliveryStatus.sending) or counts.get(DeliveryStatus.pending)
        return None if busy else counts

    counts = await eventually(settled)
    assert counts.get(DeliveryStatus.cancelled, 0) > 0

    async def consistent() -> bool:
        # Every member who got the message has a row marked sent (a send already on the wire
        # when the cancel came is recorded as sent); nobody else got it.
        async with bot.db.transaction() as session:
            sent_to = set(
                await session.scalars(
                    select(OutboxMessage.address).where(
                        OutboxMessage.source_id == nid,
                        OutboxMessage.source_type == "notice",
                        OutboxMessage.status == DeliveryStatus.sent,
                        OutboxMessage.channel == TELEGRAM,
                        OutboxMessage.address != str(STAFF),
                    )
                )
            )
        received = {str(c) for c in range(5000, 5150) if bot.emu.messages_to(c)}
        return received == sent_to and len(received) < 150

    await eventually(consistent)
    async with bot.db.transaction() as session:
        status = await session.scalar(select(Notice.status).where(Notice.id == nid))
    assert status is NoticeStatus.cancelled


async def test_blocked_member_shows_as_unreachable_in_statistics(bot: Harness) -> None:
    await setup_roster(bot)
    bot.emu.block(1002)
    staff = bot.emu.user(STAFF)
    summary = await to_economy_with_ack(bot, "请查收材料。")
    await staff.tap(summary, "🚀 立即发送")
    await bot.emu.wait_for(1001, "请查收材料")
    done = await bot.emu.wait_for(STAFF, "已全部处理完毕", timeout=15)
    assert "无法送达 1" in (done.text or "")
    async with bot.db.transaction() as session:
        chen = await identities.member_of(session, TELEGRAM, "1002")
        assert chen is not None and chen.reachable is False
    await staff.tap(done, "📊 查看统计")
    card = await bot.emu.wait_for(STAFF, "接收 2 人")
    assert "无法送达 1" in (card.text or "")
    await staff.tap(card, "无法送达")
    listing = await bot.emu.wait_for(STAFF, "无法送达（1 人）")
    assert "陈静" in (listing.text or "") and "blocked" in (listing.text or "")

    await staff.tap(card, "📥 导出 Excel")
    export = await bot.emu.wait_for(STAFF, lambda m: m.kind == "document")
    assert export.file_name == f"notice-{await notice_id(bot)}.xlsx" and export.data
    sheet = load_workbook(io.BytesIO(export.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("姓名", "手机号", "界别", "使用本助手", "送达情况")
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["陈静"][4] == "无法送达" and by_name["林文华"][4] == "已送达"


async def test_members_list_the_notices_they_received(bot: Harness) -> None:
    await setup_roster(bot)
    staff = bot.emu.user(STAFF)
    await staff.tap(await to_economy_with_ack(bot, "年度履职报告请于月底前提交。"), "🚀 立即发送")
    await bot.emu.wait_for(1001, "年度履职报告")
    lin = bot.emu.user(1001)

    async def recorded() -> bool:
        async with bot.db.transaction() as session:
            sent = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.channel == TELEGRAM,
                    OutboxMessage.address == "1001",
                    OutboxMessage.status == DeliveryStatus.sent,
                )
            )
        return bool(sent)

    await eventually(recorded)
    await lin.send_text("📬 我的通知")
    listing = await bot.emu.wait_for(1001, "您最近收到的通知")
    assert any("年度履职报告" in b and "⏳" in b for b in listing.buttons())
    await lin.tap(listing, listing.buttons()[0])
    again = await bot.emu.wait_for(
        1001, lambda m: m.message_id > listing.message_id and "年度履职报告" in (m.text or "")
    )
    await lin.tap(again, "✅ 收到")
    await changed(bot, again, shows_ack)

    huang = bot.emu.user(1003)
    await huang.send_text("📬 我的通知")
    await bot.emu.wait_for(1003, "还没有收到过通知")


async def test_members_cannot_send_notices_or_see_statistics(bot: Harness) -> None:
    await setup_roster(bot)
    lin = bot.emu.user(1001)
    await lin.send_command("notice")
    await bot.emu.wait_for(1001, "仅限机关工作人员")
    await lin.send_command("notices")
    await bot.emu.wait_for(1001, "仅限机关工作人员")
    menu_msg = await bot.emu.wait_for_call("sendMessage", lambda c: c.chat_id == 1001)
    forged = await lin.send_callback(int(menu_msg.result["message_id"]), "ntc:stats:1")
    assert (await answer_of(bot, forged))["show_alert"] is True
    async with bot.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Notice)) == 0


async def test_bad_input_is_refused_and_nothing_is_recorded(bot: Harness) -> None:
    ids = await setup_roster(bot)
    staff = bot.emu.user(STAFF)
    await staff.send_text("📢 发通知")
    await bot.emu.wait_for(STAFF, "请发送通知内容")
    await staff.send_text("   ")
    await bot.emu.wait_for(STAFF, "不能为空")
    await staff.send_text("长" * 3801)
    await bot.emu.wait_for(STAFF, "太长了（3801 字）")
    async with bot.db.transaction() as session:
        draft = await session.scalar(select(Notice))
        assert draft is not None and draft.body == ""

    await staff.send_text("周五下午开会。")
    ask = await bot.emu.wait_for(STAFF, "请选择接收对象")
    await staff.tap(ask, "按界别")
    await bot.emu.wait_for(STAFF, "请点选界别")
    await staff.send_text("经济界，火星界")
    await bot.emu.wait_for(STAFF, "没有找到：火星界")
    async with bot.db.transaction() as session:
        draft = await session.scalar(select(Notice))
        assert draft is not None and draft.audience_kind is None

    # A sector with nobody on Telegram: the count says 0 and sending is refused.
    empty = await add_sector(bot, "特邀")
    await staff.send_text("特邀")
    await bot.emu.wait_for(STAFF, "已选择 1 项")
    await staff.tap(await bot.emu.wait_for(STAFF, "是否需要委员回执"), "需要“收到”回执")
    summary = await bot.emu.wait_for(STAFF, "接收人数：0")
    await staff.tap(summary, "🚀 立即发送")
    refused = await bot.emu.wait_for_call(
        "answerCallbackQuery", lambda c: "没有可以接收" in str(c.params.get("text"))
    )
    assert refused.params.get("show_alert") is True
    async with bot.db.transaction() as session:
        queued = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.source_type == "notice")
        )
    assert queued == 0 and empty

    # Forged acknowledgements: a notice the member never got, and an option that does not exist.
    await staff.tap(summary, "👥 更改接收对象")
    await staff.tap(await bot.emu.wait_for(STAFF, "请选择接收对象"), "按界别")
    sectors = await bot.emu.wait_for(STAFF, "请点选界别")
    await staff.tap(sectors, "经济界")
    await staff.tap(sectors, "➡️ 选好了，下一步")
    await staff.tap(await bot.emu.wait_for(STAFF, "是否需要委员回执"), "需要“收到”回执")
    await staff.tap(await bot.emu.wait_for(STAFF, "接收人数：2"), "🚀 立即发送")
    copy = await bot.emu.wait_for(1001, "周五下午开会")
    nid = await notice_id(bot)
    huang = bot.emu.user(1003)
    menu = await bot.emu.wait_for_call("getUpdates")
    assert menu is not None
    await huang.send_text("📬 我的通知")
    own = await bot.emu.wait_for(1003, "还没有收到过通知")
    stranger = await huang.send_callback(own.message_id, ack_data(nid, 0))
    assert (await answer_of(bot, stranger))["show_alert"] is True
    lin = bot.emu.user(1001)
    bad_option = await lin.send_callback(copy.message_id, ack_data(nid, 7))
    assert (await answer_of(bot, bad_option))["show_alert"] is True
    async with bot.db.transaction() as session:
        acked = await session.scalar(
            select(func.count())
            .select_from(NoticeRecipient)
            .where(NoticeRecipient.acked_at.is_not(None))
        )
        audits = await session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "notice.send")
        )
    assert acked == 0 and audits == 1
    assert ids


async def test_uploaded_phone_list_with_photo_and_custom_options(bot: Harness) -> None:
    await setup_roster(bot)
    staff = bot.emu.user(STAFF)
    await staff.send_text("📢 发通知")
    await bot.emu.wait_for(STAFF, "请发送通知内容")
    await staff.send_photo(b"\x89PNG fake image", caption="周六走进政协活动，请回复是否参加。")
    ask = await bot.emu.wait_for(STAFF, "请选择接收对象")
    await staff.tap(ask, "上传名单")
    await bot.emu.wait_for(STAFF, "请上传手机号名单")
    await staff.send_document(b"not a list", "list.pdf", "application/pdf")
    await bot.emu.wait_for(STAFF, "请上传 .xlsx、.csv 或 .txt")
    listing = "手机号\n138 0013 8001\n13800138003\n13999999999\n".encode()
    await staff.send_document(listing, "名单.csv", "text/csv")
    matched = await bot.emu.wait_for(STAFF, "名单匹配到 2 位委员")
    assert "13999999999" in (matched.text or "")
    await staff.tap(await bot.emu.wait_for(STAFF, "是否需要委员回执"), "自定义回复选项")
    await bot.emu.wait_for(STAFF, "请输入回复选项")
    await staff.send_text("参加")
    await bot.emu.wait_for(STAFF, "至少输入 2 个")
    await staff.send_text("参加\n不能参加")
    summary = await bot.emu.wait_for(STAFF, "接收人数：2")
    assert "参加 / 不能参加" in (summary.text or "")
    await staff.tap(summary, "🚀 立即发送")

    photo = await bot.emu.wait_for(1003, "走进政协")
    assert photo.kind == "photo" and photo.buttons() == ["参加", "不能参加"]
    await bot.emu.wait_for(1001, "走进政协")
    assert not bot.emu.messages_to(1002)
    await bot.emu.user(1003).tap(photo, "不能参加")
    await changed(bot, photo, lambda m: any("不能参加" in b and "已回执" in b for b in m.buttons()))
    await bot.emu.wait_for(STAFF, "已全部处理完毕", timeout=15)
    await staff.send_command("notices")
    recent = await bot.emu.wait_for(STAFF, "最近的通知")
    await staff.tap(recent, recent.buttons()[0])
    card = await bot.emu.wait_for(STAFF, "接收 2 人")
    assert "参加：0" in (card.text or "") and "不能参加：1" in (card.text or "")


async def test_members_signed_up_for_an_activity(bot: Harness) -> None:
    ids = await setup_roster(bot)
    async with bot.db.transaction() as session:
        activity = Activity(
            type=ActivityType.visit,
            status=ActivityStatus.published,
            title="走进政协",
            starts_at=bot.clock.now,
        )
        session.add(activity)
        await session.flush()
        session.add(
            ActivitySignup(
                activity_id=activity.id, member_id=ids["huang"], status=SignupStatus.signed_up
            )
        )
    staff = bot.emu.user(STAFF)
    ask = await compose(bot, "活动集合地点改为北门。")
    await staff.tap(ask, "活动报名人员")
    choose = await bot.emu.wait_for(STAFF, "请选择活动")
    await staff.tap(choose, choose.buttons()[0])
    await staff.tap(await bot.emu.wait_for(STAFF, "是否需要委员回执"), "不需要回执")
    await staff.tap(await bot.emu.wait_for(STAFF, "接收人数：1"), "🚀 立即发送")
    await bot.emu.wait_for(1003, "北门")
    assert not bot.emu.messages_to(1001)
