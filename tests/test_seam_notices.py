"""Notices run on a second channel through the seam alone (tests/channel_plain.py): staff
compose and send one from the plain channel, a member there receives it, acknowledges it (the
button turns into the answer on record, in place) and finds it again under 📬."""

from __future__ import annotations

from sqlalchemy import select

from storage import identities
from storage.identities import Account
from storage.models import Notice, NoticeRecipient, Role
from tests.channel_plain import PLAIN, PlainChannel
from tests.support import Harness

BODY = "周五下午三点 <全体会议> & 讨论年度提案"


async def test_staff_send_a_notice_and_a_member_acknowledges_it_on_a_second_channel(
    bot: Harness,
) -> None:
    staff_id = await bot.add_member("王秘书", "+8613900139001", role=Role.staff)
    member_id = await bot.add_member("陈静", "+8613900139000")
    async with bot.db.transaction() as session:
        await identities.attach(session, staff_id, Account(PLAIN, "wang", "wang"))
        await identities.attach(session, member_id, Account(PLAIN, "chen", "chen"))
    assert bot.app is not None
    plain = PlainChannel(bot.app.bot_data)

    # Composing: the menu entry, the text (typed here: no formatting, kept as typed).
    await plain.send("wang", "📢 发通知")
    assert "请发送通知内容" in plain.last("wang").text
    await plain.send("wang", BODY)
    ask = plain.last("wang")
    assert "请选择接收对象" in ask.text and "全体委员" in ask.labels()
    await plain.press("wang", "全体委员")
    await plain.press("wang", "需要“收到”回执")
    preview = [m for m in plain.shown["wang"] if BODY in m.text]
    assert preview and preview[-1].labels() == ["✅ 收到"]
    assert "接收人数：2" in plain.last("wang").text
    await plain.press("wang", "🚀 立即发送")
    progress = plain.last("wang")
    assert "发送中" in progress.text and progress.labels() == ["⛔ 取消发送"]
    async with bot.db.read() as session:
        notice = (await session.execute(select(Notice))).scalar_one()
    # The progress message is remembered where it was shown: on the plain channel.
    assert (notice.progress_channel, notice.progress_address) == (PLAIN, "wang")
    assert notice.body == "周五下午三点 &lt;全体会议&gt; &amp; 讨论年度提案"

    # The member gets it on the plain channel and acknowledges it; the button shows the answer.
    await plain.deliver()  # (the staff's daily digest may go out too)
    copy = plain.last("chen")
    assert BODY in copy.text and copy.labels() == ["✅ 收到"]
    await plain.press("chen", "✅ 收到")
    assert plain.last("chen").text == "已记录您的回执，谢谢！"
    assert copy.labels()[0].startswith("✅ 已回执：收到")
    async with bot.db.read() as session:
        acked = await session.scalar(
            select(NoticeRecipient.acked_at).where(NoticeRecipient.member_id == member_id)
        )
    assert acked is not None

    # 📬: the notice again, with the answer on record instead of the button.
    await plain.send("chen", "📬 我的通知")
    listed = plain.last("chen")
    assert "您最近收到的通知" in listed.text and listed.labels()[0].startswith("✅ ")
    await plain.press("chen", listed.labels()[0])
    again = plain.last("chen")
    assert BODY in again.text and again.labels()[0].startswith("✅ 已回执：收到")
