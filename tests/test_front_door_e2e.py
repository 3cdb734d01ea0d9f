"""The front door, end to end through the Bot API emulator: a link opened before binding opens
after it, a language chosen before binding is kept, staff are not greeted as members, /start
and /menu close a step left open, and each role's keyboard is short, distinct and named in
/help."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from storage import dialogs
from storage.identities import Account
from storage.models import Activity, ActivityStatus, ActivityTarget, ActivityType, Member, Role
from storage.models.activities import TargetKind
from tests.support import Harness

MENU_LIMIT = 8


async def _open_activity(bot: Harness, title: str) -> int:
    async with bot.db.transaction() as session:
        starts = bot.clock.now + timedelta(days=5)
        activity = Activity(
            type=ActivityType.visit,
            status=ActivityStatus.published,
            title=title,
            place="政协大楼",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            capacity=30,
            published_at=bot.clock.now,
        )
        session.add(activity)
        await session.flush()
        session.add(ActivityTarget(activity_id=activity.id, kind=TargetKind.everyone))
        return activity.id


async def test_a_link_opened_before_binding_opens_once_the_member_is_bound(bot: Harness) -> None:
    await bot.add_member("林文华", "+8613800138000")
    activity_id = await _open_activity(bot, "鼓楼区加装电梯微协商")
    user = bot.emu.user(1001, "Wenhua")
    await user.send_command("start", f"act_{activity_id}")
    await bot.emu.wait_for(1001, "分享手机号")
    # Typing instead of binding: asked again, the link still kept.
    await user.send_text("我想报名")
    again = await bot.emu.wait_for(1001, "绑定后会继续打开您刚才的链接")
    assert (
        again.reply_markup is not None and again.reply_markup["keyboard"][0][0]["request_contact"]
    )

    await user.send_contact("+86 138-0013-8000")
    await bot.emu.wait_for(1001, "林文华委员，您好！身份绑定成功")
    card = await bot.emu.wait_for(1001, "鼓楼区加装电梯微协商")
    assert "报名" in " ".join(card.buttons())
    async with bot.db.read() as session:
        assert await dialogs.get(session, Account("telegram", "1001", "1001").key) is None


async def test_a_stranger_reads_and_keeps_the_language_they_chose_before_binding(
    bot: Harness,
) -> None:
    member_id = await bot.add_member("Chen Jing", "+8613900139000")
    user = bot.emu.user(1002)
    await user.send_command("start")
    await bot.emu.wait_for(1002, "分享手机号")
    await user.send_command("language")
    choose = await bot.emu.wait_for(1002, lambda m: "English" in " ".join(m.buttons()))
    await user.tap(choose, "English")
    english = await bot.emu.wait_for(1002, "Language set to English")
    assert "Share my phone number" in (english.text or "")
    assert english.reply_markup is not None
    assert english.reply_markup["keyboard"][0][0]["request_contact"]

    await user.send_contact("+86 139 0013 9000")
    await bot.emu.wait_for(1002, "Welcome, Chen Jing! Your account is linked.")
    async with bot.db.read() as session:
        member = await session.get(Member, member_id)
    assert member is not None and member.locale == "en"


async def test_staff_are_greeted_as_staff_not_as_members(bot: Harness) -> None:
    await bot.add_member("王干部", "+8615000150000", role=Role.staff)
    user = bot.emu.user(2001)
    await user.send_command("start")
    await user.send_contact("+8615000150000")
    greeting = await bot.emu.wait_for(2001, "绑定成功")
    assert "机关工作人员" in (greeting.text or "") and "委员" not in (greeting.text or "")


async def test_start_and_menu_close_a_step_left_open(bot: Harness) -> None:
    await bot.add_member("林文华", "+8613800138000", telegram_user_id=1001)
    user = bot.emu.user(1001)
    key = Account("telegram", "1001", "1001").key
    for command in ("menu", "start"):
        await user.send_text("📝 提交社情民意")
        await bot.emu.wait_for(1001, "标题")
        async with bot.db.read() as session:
            assert await dialogs.get(session, key) is not None  # a question is open
        await user.send_command(command)
        closed = await bot.emu.wait_for(1001, "已退出刚才未完成的操作")
        assert closed.text is not None
        async with bot.db.read() as session:
            assert await dialogs.get(session, key) is None


def _emoji(label: str) -> str:
    """The symbol a label starts with (an emoji and its variation selector)."""
    head = label.split(" ", 1)[0]
    return "".join(ch for ch in head if unicodedata.category(ch) != "Mn")


async def test_each_role_has_at_most_eight_distinct_buttons_all_named_in_help(
    bot: Harness,
) -> None:
    await bot.add_member("林文华", "+8613800138000", telegram_user_id=1001)
    await bot.add_member("Lin", "+8613800138001", telegram_user_id=1002, locale="en")
    await bot.add_member("王干部", "+8615000150000", role=Role.staff, telegram_user_id=2001)
    await bot.add_member("Wang", "+8615000150001", role=Role.admin, telegram_user_id=2002)
    for chat in (1001, 1002, 2001, 2002):
        user = bot.emu.user(chat)
        await user.send_command("menu")
        labels = (await bot.emu.wait_for(chat, lambda m: bool(m.keyboard_texts()))).keyboard_texts()
        await user.send_command("help")
        help_text = (await bot.emu.wait_for(chat, "/menu")).text or ""
        assert 0 < len(labels) <= MENU_LIMIT, labels
        emojis = [_emoji(label) for label in labels]
        assert len(set(emojis)) == len(emojis), labels
        missing = [label for label in labels if label not in help_text]
        assert not missing, f"chat {chat}: {missing} not in /help"
    # Staff see their tools, not the members' report and activity buttons.
    await bot.emu.user(2001).send_command("menu")
    staff_menu = (await bot.emu.wait_for(2001, lambda m: bool(m.keyboard_texts()))).keyboard_texts()
    assert "🔍 社情民意审核" in staff_menu and "📝 提交社情民意" not in staff_menu


async def test_labels_of_earlier_versions_still_work(bot: Harness) -> None:
    """Members keep an old persistent keyboard until the bot sends a new one."""
    await bot.add_member("林文华", "+8613800138000", telegram_user_id=1001)
    await bot.emu.user(1001).send_text("📋 我的履职")
    await bot.emu.wait_for(1001, "履职档案")
