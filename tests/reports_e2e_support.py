"""Shared by the opinion report end-to-end tests (test_reports_*_e2e.py): the users, members
and staff, drafts and submitted reports written straight into the database, the way to a
draft's preview, and waits for buttons and alerts."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.tryout import SentMessage, SimUser
from storage import reports
from storage.models import Report, Role
from storage.reports import Limits
from tests.support import Harness

AUTHOR = 3001
OTHER = 3002
STAFF = 4001
PHOTO = b"\xff\xd8\xff\xe0" + b"photo-bytes" * 50
SUBMIT = "📝 提交社情民意"
MINE = "📋 我的社情民意"
REVIEW = "🔍 社情民意审核"


async def _member(bot: Harness, user_id: int = AUTHOR, name: str = "林文华") -> int:
    return await bot.add_member(name, f"+86138{user_id:08d}", telegram_user_id=user_id)


async def _staff(bot: Harness) -> SimUser:
    await bot.add_member("审核员", "+8615000150000", role=Role.staff, telegram_user_id=STAFF)
    return bot.emu.user(STAFF)


async def _draft(bot: Harness, member_id: int, title: str = "老旧小区加装电梯") -> int:
    """A complete draft written straight into the database."""
    async with bot.db.transaction() as session:
        for name, text in (
            ("title", title),
            ("situation", "全市老旧小区约三百个"),
            ("problem", "加装电梯协调难"),
            ("suggestions", "建立协商机制"),
        ):
            await reports.save_text(session, member_id, name, text, Limits())
        result = await reports.save_category(session, member_id, "livelihood", ["livelihood"])
        assert result.report is not None
        return result.report.id


async def _attach_photo(bot: Harness, member_id: int, report_id: int) -> None:
    relative = reports.attachment_path(report_id, "site.jpg")
    reports.write_file(bot.settings.data_dir, relative, PHOTO)
    async with bot.db.transaction() as session:
        result = await reports.add_attachment(
            session,
            member_id,
            report_id,
            kind="photo",
            file_name="site.jpg",
            mime_type="image/jpeg",
            size=len(PHOTO),
            path=relative,
            file_ref=None,
            limits=Limits(),
        )
    assert result.ok


async def _submitted(
    bot: Harness, member_id: int, title: str = "老旧小区加装电梯", *, photo: bool = False
) -> int:
    report_id = await _draft(bot, member_id, title)
    if photo:
        await _attach_photo(bot, member_id, report_id)
    async with bot.db.transaction() as session:
        result = await reports.submit(
            session, member_id, report_id, revision=None, now=bot.clock.now, tz=bot.settings.tz
        )
    assert result.ok
    return report_id


async def _report(bot: Harness, report_id: int) -> Report:
    async with bot.db.transaction() as session:
        report = await session.get(Report, report_id)
        assert report is not None
        return report


async def _count_reports(bot: Harness) -> int:
    async with bot.db.transaction() as session:
        return int(await session.scalar(select(func.count(Report.id))) or 0)


def _has_button(label: str) -> object:
    def check(message: SentMessage) -> bool:
        return label in message.buttons()

    check.__name__ = f"button {label!r}"
    return check


async def _preview(bot: Harness, user: SimUser) -> SentMessage:
    """Open the member's (complete) draft from the menu and get to its preview."""
    await user.send_text(SUBMIT)
    offer = await bot.emu.wait_for(user.user_id, "未完成的社情民意草稿")
    await user.tap(offer, "▶️ 继续填写")
    return await bot.emu.wait_for(user.user_id, _has_button("✅ 确认提交"))  # type: ignore[arg-type]


def _index(bot: Harness, message: SentMessage) -> int:
    """Where a message sits in its chat (to wait for its edits)."""
    sent = bot.emu.messages_to(message.chat_id)
    return next(i for i, m in enumerate(sent) if m.message_id == message.message_id)


async def _alert(bot: Harness, text: str) -> None:
    await bot.emu.wait_for_call(
        "answerCallbackQuery",
        lambda call: (
            text in str(call.params.get("text", "")) and bool(call.params.get("show_alert"))
        ),
    )
