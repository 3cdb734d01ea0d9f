"""The guided opinion report and its review run on a second channel through the seam alone
(tests/channel_plain.py): a member answers the five questions, attaches a file, confirms and
finds the report in My reports; a staff member finds it by its receipt number, receives its
file and adopts it; the author hears the decision on the same channel."""

from __future__ import annotations

from storage import identities, reports
from storage.identities import Account
from storage.models import ReportStatus, Role
from tests.channel_plain import PLAIN, PlainChannel
from tests.support import Harness

PDF = b"%PDF-1.4 plain report"


async def test_a_guided_report_is_submitted_and_adopted_on_a_second_channel(
    bot: Harness,
) -> None:
    author = await bot.add_member("陈静", "+8613900139000")
    staff = await bot.add_member("王秘书", "+8613900139001", role=Role.staff)
    async with bot.db.transaction() as session:
        await identities.attach(session, author, Account(PLAIN, "chen", "chen"))
        await identities.attach(session, staff, Account(PLAIN, "wang", "wang"))
    assert bot.app is not None
    plain = PlainChannel(bot.app.bot_data)

    # The menu entry, each answer of the dialog and the category button, as plain text.
    await plain.send("chen", "📝 提交社情民意")
    assert "第 1/5 步：请输入标题" in plain.last("chen").text
    await plain.send("chen", "老旧小区加装电梯 <协调> & 补贴")
    assert "经济发展" in plain.last("chen").labels()
    await plain.press("chen", "民生保障")
    await plain.send("chen", "全市老旧小区约三百个，多数没有电梯。")
    await plain.send("chen", "加装电梯涉及全体业主，协调难。")
    await plain.send("chen", "建立社区协商机制，财政给予补贴。")
    assert "直接发送即可" in plain.last("chen").text  # the preview: files can be sent there
    await plain.send_file("chen", "现场情况.pdf", PDF, "application/pdf")
    assert "已收到 1 个附件" in plain.last("chen").text
    await plain.press("chen", "✅ 完成")
    preview = plain.last("chen")
    assert "✅ 确认提交" in preview.labels()
    # The card is composed as markup for Telegram: here it reads as plain text, typed
    # characters kept as typed.
    assert "老旧小区加装电梯 <协调> & 补贴" in preview.text and "<b>" not in preview.text
    assert "民生保障" in preview.text and "附件（1）：现场情况.pdf" in preview.text
    await plain.press("chen", "✅ 确认提交")
    assert "提交成功" in plain.last("chen").text
    assert preview.buttons == []  # the confirmed preview lost its buttons
    async with bot.db.read() as session:
        listing = await reports.list_mine(session, author, 0, 5)
    assert listing.total == 1 and listing.items[0].status is ReportStatus.submitted
    receipt = listing.items[0].receipt_no
    assert receipt is not None and receipt in plain.last("chen").text

    await plain.send("chen", "📋 我的社情民意")
    mine = plain.last("chen")
    assert "共 1 篇" in mine.text and "待审核" in mine.text

    # Staff: the command with its argument, the file, the card, a decision and its note step.
    await plain.send("wang", f"/reports {receipt}")
    shown = plain.shown["wang"]
    assert shown[-2].file == ("现场情况.pdf", PDF) and receipt in shown[-2].text
    assert "作者：陈静" in shown[-1].text and "✅ 采用" in shown[-1].labels()
    await plain.press("wang", "✅ 采用")
    await plain.press("wang", "不留言")
    assert f"{receipt}：采用，当前状态“已采用”" in plain.last("wang").text

    await plain.deliver()  # (staff get their daily digest here too)
    heard = [m for m in plain.shown["chen"] if "状态更新为：已采用" in m.text]
    assert len(heard) == 1 and heard[0].buttons == [("查看详情", f"rep:open:{listing.items[0].id}")]
