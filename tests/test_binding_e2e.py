"""End to end through the Bot API emulator: binding, invites, strangers, roles, language."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.channels import TELEGRAM, telegram_account
from storage import identities
from storage.identities import Account
from storage.models import AuditLog, Identity, InviteCode, Member, Role
from tests.support import ADMIN_ID, Harness


async def _member(bot: Harness, member_id: int) -> Member:
    async with bot.db.transaction() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        return member


async def _telegram(bot: Harness, member_id: int) -> Account | None:
    """The member's Telegram account (who they are there, and the chat the bot writes to)."""
    async with bot.db.transaction() as session:
        return await identities.account_of(session, member_id, TELEGRAM)


async def test_bind_by_own_contact_greets_by_name_and_shows_menu(bot: Harness) -> None:
    member_id = await bot.add_member("林文华", "+8613800138000")
    user = bot.emu.user(1001, "Wenhua")
    await user.send_command("start")
    ask = await bot.emu.wait_for(1001, "分享手机号")
    assert ask.reply_markup is not None and ask.reply_markup["keyboard"][0][0]["request_contact"]

    await user.send_contact("+86 138-0013-8000")
    greeting = await bot.emu.wait_for(1001, "林文华")
    assert "绑定成功" in (greeting.text or "")
    assert any("语言" in label for label in greeting.keyboard_texts())
    assert await _telegram(bot, member_id) == Account(TELEGRAM, "1001", "1001")


async def test_bound_member_start_just_gets_menu(bot: Harness) -> None:
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1002)
    user = bot.emu.user(1002)
    await user.send_command("start")
    reply = await bot.emu.wait_for(1002, "陈静")
    assert "分享手机号" not in (reply.text or "")
    assert reply.keyboard_texts()


async def test_invite_link_binds_once(bot: Harness) -> None:
    await bot.add_member("工作人员", "+8615000150000", role=Role.staff, telegram_user_id=2001)
    member_id = await bot.add_member("黄志强", "+8618600186000")
    staff = bot.emu.user(2001)
    await staff.send_command("invite", "186 0018 6000")
    link_msg = await bot.emu.wait_for(2001, "t.me/")
    code = re.search(r"start=(\S+)", link_msg.text or "")
    assert code is not None

    first = bot.emu.user(1003)
    await first.send_command("start", code.group(1))
    await bot.emu.wait_for(1003, "黄志强")
    second = bot.emu.user(1004)
    await second.send_command("start", code.group(1))
    refused = await bot.emu.wait_for(1004, "已经使用过")
    assert "OFFICE-PHONE-0591" in (refused.text or "")

    assert await _telegram(bot, member_id) == telegram_account(1003)
    async with bot.db.transaction() as session:
        audits = await session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "member.invite")
        )
    assert audits == 1


async def test_stranger_is_refused_and_nothing_is_written(bot: Harness) -> None:
    await bot.add_member("林文华", "+8613800138000")
    stranger = bot.emu.user(1005)
    await stranger.send_command("start")
    await bot.emu.wait_for(1005, "分享手机号")
    await stranger.send_contact("8613700137000")
    reply = await bot.emu.wait_for(1005, "没有在委员名册中找到")
    assert "OFFICE-PHONE-0591" in (reply.text or "")
    async with bot.db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(Member))
        bound = await session.scalar(select(func.count()).select_from(Identity))
    assert count == 1 and bound == 0


async def test_someone_elses_contact_is_refused(bot: Harness) -> None:
    member_id = await bot.add_member("林文华", "+8613800138000")
    user = bot.emu.user(1006)
    await user.send_contact("+8613800138000", contact_user_id=4242)
    await bot.emu.wait_for(1006, "本人的手机号")
    assert await _telegram(bot, member_id) is None
    async with bot.db.transaction() as session:
        assert await identities.member_of(session, TELEGRAM, "1006") is None


async def test_member_cannot_use_staff_commands(bot: Harness) -> None:
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1007)
    await bot.add_member("黄志强", "+8618600186000")
    user = bot.emu.user(1007)
    await user.send_command("invite", "18600186000")
    await bot.emu.wait_for(1007, "仅限机关工作人员")
    await user.send_command("setrole", "18600186000 admin")
    await bot.emu.wait_for(1007, "仅限系统管理员")
    async with bot.db.transaction() as session:
        invites = await session.scalar(select(func.count()).select_from(InviteCode))
        roles = set(await session.scalars(select(Member.role)))
    assert invites == 0
    assert roles == {Role.member}


async def test_admin_from_settings_can_make_staff(bot: Harness) -> None:
    member_id = await bot.add_member("黄志强", "+8618600186000")
    admin = bot.emu.user(ADMIN_ID, "Admin")
    await admin.send_command("setrole", "18600186000 staff")
    await bot.emu.wait_for(ADMIN_ID, "黄志强")
    assert (await _member(bot, member_id)).role is Role.staff


async def test_language_choice_survives_restart(bot: Harness) -> None:
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1008)
    user = bot.emu.user(1008)
    await user.send_command("language")
    choice = await bot.emu.wait_for(1008, "Please choose")
    await user.tap(choice, "English")
    await bot.emu.wait_for(1008, "Language set to English")

    await bot.restart()
    await user.send_command("start")
    hello = await bot.emu.wait_for(1008, "Hello, 陈静")
    assert any("Language" in label for label in hello.keyboard_texts())


async def test_unknown_command_gets_an_answer(bot: Harness) -> None:
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1009)
    await bot.emu.user(1009).send_command("frobnicate")
    reply = await bot.emu.wait_for(1009, "没有这个命令")
    assert reply.keyboard_texts()
    await bot.emu.user(1010).send_command("frobnicate")
    await bot.emu.wait_for(1010, "请先完成委员身份绑定")
