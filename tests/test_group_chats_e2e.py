"""Group chats end to end: nothing with member data, binding links or staff tools is ever posted
into a group. A /invite in a supergroup once answered with a working binding link for everyone
there; /record posted duty cards. Now a command or menu button in a group gets one short "write
to me privately", a button press the same as a pop-up, and ordinary chatter no answer at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.channels import TELEGRAM
from bot.i18n import Texts
from bot.scheduler import SchedulerService
from storage.models import Identity, Role
from tests.support import ADMIN_ID, Harness

TEXTS = Texts("zh-CN")
PRIVATE_ONLY = TEXTS.get("zh-CN", "common.private_only")
SUPERGROUP, GROUP = -1001234567890, -4242
STAFF, MEMBER = 2001, 1001
MEMBER_PHONE = "+8613800138001"


async def _setup(bot: Harness) -> None:
    # The scheduler's staff digest would reach the staff member's private chat; it has nothing
    # to do with groups, so it stops (after its first scan) before anyone exists.
    assert bot.app is not None
    for service in bot.app.bot_data.services:
        if isinstance(service, SchedulerService):
            await service.stop()
    await bot.add_member("王干部", "+8615000150000", role=Role.staff, telegram_user_id=STAFF)
    await bot.add_member("林文华", MEMBER_PHONE, telegram_user_id=MEMBER)
    await bot.add_member("赵丽", "+8613800138004")  # not bound yet: /invite would link her


async def _barrier(bot: Harness, chat_id: int, user_id: int, *, answered_before: int) -> None:
    """Updates of one chat are handled in order: once this /help is answered (the reply after
    the ``answered_before`` expected ones), everything sent before it was handled."""
    await bot.emu.user(user_id).send_text_in_group(chat_id, "/help")
    await bot.emu.wait_for(chat_id, PRIVATE_ONLY, after=answered_before)


async def _answer_of(bot: Harness, update_id: int) -> dict[str, Any]:
    """The parameters the bot answered this button press with."""
    query_id = str(update_id)
    await bot.emu.wait_for_call(
        "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id
    )
    return bot.emu.callback_answers[query_id]


async def test_staff_commands_and_menus_in_a_group_get_only_write_to_me_privately(
    bot: Harness,
) -> None:
    await _setup(bot)
    staff, member = bot.emu.user(STAFF), bot.emu.user(MEMBER)
    asked = [
        (staff, "/invite +8613800138004"),
        (staff, "/invite@cppcc_test_bot 赵丽"),
        (staff, "/record 林文华"),
        (staff, "/stats"),
        (staff, "/reports"),
        (staff, "/notice"),
        (member, "/start"),
        (member, "/record"),
        (member, TEXTS.get("zh-CN", "duty.menu_button")),
        (member, TEXTS.get("zh-CN", "reports.menu_mine")),
        (staff, TEXTS.get("zh-CN", "duty.staff_menu_button")),
    ]
    for user, text in asked:
        await user.send_text_in_group(SUPERGROUP, text)
    # Chatter, another bot's command and a phone number typed in the group: no answer at all.
    for text in ("大家好，明天开会", "/start@other_bot", MEMBER_PHONE):
        await member.send_text_in_group(SUPERGROUP, text)
    await _barrier(bot, SUPERGROUP, STAFF, answered_before=len(asked))

    posted = bot.emu.messages_to(SUPERGROUP)
    assert [m.text for m in posted] == [PRIVATE_ONLY] * (len(asked) + 1)
    assert all(not m.buttons() for m in posted)
    # Nothing went to anyone's private chat either, and no invitation link exists anywhere.
    assert not bot.emu.messages_to(STAFF) and not bot.emu.messages_to(MEMBER)
    assert not any("start=" in (call.params.get("text") or "") for call in bot.emu.calls)


async def test_a_button_pressed_in_a_group_gets_a_popup_and_nothing_else(bot: Harness) -> None:
    await _setup(bot)
    member = bot.emu.user(MEMBER)
    # A forged "open my report" and "my duty record" button on some message of the group.
    presses = [
        await member.send_callback_in_group(GROUP, 1, "rep:open:1"),
        await member.send_callback_in_group(GROUP, 1, "duty:mine:2026"),
    ]
    for update_id in presses:
        answer = await _answer_of(bot, update_id)
        assert answer.get("text") == TEXTS.plain("zh-CN", "common.private_only")
        assert answer.get("show_alert") is True
    await _barrier(bot, GROUP, MEMBER, answered_before=0)
    assert [m.text for m in bot.emu.messages_to(GROUP)] == [PRIVATE_ONLY]
    assert not bot.emu.messages_to(MEMBER)


async def test_an_admin_writing_first_in_a_group_is_not_bound_to_the_group(bot: Harness) -> None:
    # The first message of an ADMIN_IDS account creates its staff record: never from a group,
    # where the chat id is the group's and every staff message would be posted there.
    admin = bot.emu.user(ADMIN_ID)
    await admin.send_text_in_group(SUPERGROUP, "/start")
    await bot.emu.wait_for(SUPERGROUP, PRIVATE_ONLY)
    async with bot.db.read() as session:
        in_group = await session.scalar(
            select(func.count())
            .select_from(Identity)
            .where(Identity.channel == TELEGRAM, Identity.address == str(SUPERGROUP))
        )
    assert in_group == 0
    assert not bot.emu.messages_to(ADMIN_ID)
