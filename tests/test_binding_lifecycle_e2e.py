"""End to end: the binding lifecycle. Invite links expire and work once; a binding moves to
another account only when staff confirm; admins (and the command line) remove a binding; every
step is in the audit log and every account concerned is told."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.channels import TELEGRAM
from bot.tryout import SentMessage, SimUser
from storage import identities
from storage.models import AuditLog, BindingRequest, BindingRequestStatus, Member, Role
from tests.support import ADMIN_ID, Harness, run_cli

STAFF, ADMIN, OLD, NEW, OTHER, STRANGER = 2001, 3001, 1001, 1003, 1002, 5005
PHONE = "+8618600186000"
OFFICE = "OFFICE-PHONE-0591"


async def _world(bot: Harness) -> int:
    """Staff, an admin, another bound member, and 黄志强 bound to the OLD account."""
    await bot.add_member("王干部", "+8615000150000", role=Role.staff, telegram_user_id=STAFF)
    await bot.add_member("李主任", "+8615000150001", role=Role.admin, telegram_user_id=ADMIN)
    await bot.add_member("林文华", "+8613800138001", telegram_user_id=OTHER)
    return await bot.add_member("黄志强", PHONE, telegram_user_id=OLD)


async def _invite(bot: Harness, query: str) -> tuple[str, SentMessage]:
    """Staff ask for an invite link; its payload and the message that carried it."""
    staff = bot.emu.user(STAFF)
    count = len(bot.emu.messages_to(STAFF))
    await staff.send_command("invite", query)
    message = await bot.emu.wait_for(STAFF, "t.me/", after=count)
    code = re.search(r"start=(\S+)", message.text or "")
    assert code is not None
    return code.group(1), message


async def _bound_to(bot: Harness, member_id: int) -> int | None:
    """The Telegram user id the member is bound to (None when unbound there)."""
    async with bot.db.transaction() as s:
        assert await s.get(Member, member_id) is not None
        account = await identities.account_of(s, member_id, TELEGRAM)
    return int(account.external_id) if account is not None else None


async def _audit(bot: Harness) -> list[tuple[str, str | None, dict[str, Any]]]:
    async with bot.db.transaction() as s:
        rows = await s.scalars(
            select(AuditLog).where(AuditLog.action.like("member.%")).order_by(AuditLog.id)
        )
        return [(r.action, r.object_id, dict(r.details)) for r in rows]


async def _recognised(bot: Harness, user: SimUser, name: str) -> bool:
    """/start: True when the bot greets the account as the member, False when it asks to bind."""
    count = len(bot.emu.messages_to(user.user_id))
    await user.send_command("start")
    reply = await bot.emu.wait_for(
        user.user_id,
        lambda m: name in (m.text or "") or "分享手机号" in (m.text or ""),
        after=count,
    )
    return name in (reply.text or "")


async def _request_message(bot: Harness, chat_id: int) -> SentMessage:
    """The binding request as it reached a staff member, with its two buttons."""
    return await bot.emu.wait_for(chat_id, "换绑申请", timeout=10, after=0)


async def _alert(bot: Harness, update_id: int) -> str:
    """The pop-up that answered this button press (it must be an alert)."""
    await bot.emu.wait_for_call(
        "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == str(update_id)
    )
    answer = bot.emu.callback_answers[str(update_id)]
    assert answer.get("show_alert") is True, answer
    return str(answer.get("text") or "")


async def _request(bot: Harness) -> BindingRequest:
    async with bot.db.transaction() as s:
        request = await s.scalar(select(BindingRequest).order_by(BindingRequest.id.desc()))
        assert request is not None
        return request


# -- invite links: expiry and single use ---------------------------------------------------


async def test_invite_link_expires_after_the_ttl(bot: Harness) -> None:
    await _world(bot)
    early = await bot.add_member("陈静", "+8613900139000")
    late = await bot.add_member("赵丽", "+8613800138004")
    early_code, link = await _invite(bot, "#" + str(early))
    late_code, _ = await _invite(bot, "#" + str(late))
    assert "7 天内有效" in (link.text or "")

    bot.clock.advance(days=6, hours=23)
    first = bot.emu.user(1101)
    await first.send_command("start", early_code)
    await bot.emu.wait_for(1101, "陈静委员，您好")
    assert await _bound_to(bot, early) == 1101

    bot.clock.advance(hours=2)  # 7 days and 1 hour after the links were made
    second = bot.emu.user(1102)
    await second.send_command("start", late_code)
    refused = await bot.emu.wait_for(1102, "已过期")
    assert "新的链接" in (refused.text or "") and OFFICE in (refused.text or "")
    assert await _bound_to(bot, late) is None
    assert ("member.invite_expired", str(late), {}) in await _audit(bot)


async def test_used_link_cannot_be_redeemed_again_by_anyone(bot: Harness) -> None:
    await _world(bot)
    member_id = await bot.add_member("陈静", "+8613900139000")
    code, _ = await _invite(bot, "13900139000")
    first = bot.emu.user(1101)
    await first.send_command("start", code)
    await bot.emu.wait_for(1101, "绑定成功")

    second = bot.emu.user(1102)
    await second.send_command("start", code)
    refused = await bot.emu.wait_for(1102, "已经使用过")
    assert "新的链接" in (refused.text or "") and OFFICE in (refused.text or "")
    assert await _bound_to(bot, member_id) == 1101

    # Once the binding is removed, not even the account that used the link gets back in by it.
    admin = bot.emu.user(ADMIN)
    await admin.send_command("unbind", "13900139000")
    await bot.emu.wait_for(ADMIN, "已解除陈静的账号绑定")
    count = len(bot.emu.messages_to(1101))
    await first.send_command("start", code)
    await bot.emu.wait_for(1101, "已经使用过", after=count)
    assert await _bound_to(bot, member_id) is None

    actions = [(a, o, d) for a, o, d in await _audit(bot) if o == str(member_id)]
    assert [a for a, _, _ in actions] == [
        "member.invite",
        "member.bind",
        "member.invite_used",
        "member.unbind",
        "member.invite_used",
    ]
    assert actions[1][2] == {"via": "invite"}


# -- moving a binding: staff confirm or refuse ---------------------------------------------


async def test_link_used_by_a_second_account_moves_the_binding_only_when_staff_confirm(
    bot: Harness,
) -> None:
    member_id = await _world(bot)
    code, _ = await _invite(bot, PHONE)
    # An account bound to another member is turned away without using the link up.
    await bot.emu.user(OTHER).send_command("start", code)
    await bot.emu.wait_for(OTHER, "已绑定其他委员身份")
    new = bot.emu.user(NEW)
    await new.send_command("start", code)
    waiting = await bot.emu.wait_for(NEW, "核实")
    assert "确认后" in (waiting.text or "")
    warned = await bot.emu.wait_for(OLD, "申请接管", timeout=10)
    assert OFFICE in (warned.text or "")
    asked = await _request_message(bot, STAFF)
    assert "黄志强" in (asked.text or "") and "邀请链接" in (asked.text or "")
    assert asked.buttons() == ["✅ 确认换绑", "❌ 拒绝"]
    await _request_message(bot, ADMIN)  # every staff member and admin is asked
    assert await _bound_to(bot, member_id) == OLD  # nothing moved yet
    assert await _recognised(bot, bot.emu.user(OLD), "黄志强")

    # Asking again (the link is spent now, the contact is not) just says it is still waiting.
    await new.send_contact(PHONE)
    await bot.emu.wait_for(NEW, "仍在等待")

    staff = bot.emu.user(STAFF)
    await staff.tap(asked, "✅ 确认换绑")
    await bot.emu.wait_for(STAFF, "已确认", after=0)
    told = await bot.emu.wait_for(NEW, "已确认换绑", timeout=10)
    assert "黄志强" in (told.text or "")
    moved = await bot.emu.wait_for(OLD, "转移到另一个", timeout=10)
    assert OFFICE in (moved.text or "")

    assert await _bound_to(bot, member_id) == NEW
    assert await _recognised(bot, new, "黄志强")
    assert not await _recognised(bot, bot.emu.user(OLD), "黄志强")
    actions = [(a, d) for a, o, d in await _audit(bot) if o == str(member_id)]
    request = await _request(bot)
    assert actions[1:] == [
        (
            "member.move_request",
            {"request": request.id, "via": "invite", "channel": TELEGRAM, "old_account": str(OLD)},
        ),
        (
            "member.move_confirm",
            {
                "request": request.id,
                "channel": TELEGRAM,
                "old_account": str(OLD),
                "new_account": str(NEW),
            },
        ),
    ]
    assert request.status is BindingRequestStatus.confirmed

    # The admin's copy of the request is spent: a late press changes nothing.
    admin = bot.emu.user(ADMIN)
    late = await admin.tap(await _request_message(bot, ADMIN), "❌ 拒绝")
    assert "已经处理过了（已确认）" in await _alert(bot, late)
    assert await _bound_to(bot, member_id) == NEW


async def test_own_contact_from_a_new_account_refused_by_staff_changes_nothing(
    bot: Harness,
) -> None:
    member_id = await _world(bot)
    new = bot.emu.user(NEW)
    await new.send_contact("186 0018 6000")
    await bot.emu.wait_for(NEW, "核实")
    asked = await _request_message(bot, STAFF)
    assert "手机号" in (asked.text or "")

    staff = bot.emu.user(STAFF)
    await staff.tap(asked, "❌ 拒绝")
    await bot.emu.wait_for(STAFF, "已拒绝", after=0)
    refused = await bot.emu.wait_for(NEW, "未获确认", timeout=10)
    assert OFFICE in (refused.text or "")
    assert await _bound_to(bot, member_id) == OLD
    assert not await _recognised(bot, new, "黄志强")
    assert await _recognised(bot, bot.emu.user(OLD), "黄志强")

    # Confirm pressed afterwards on the same message (or forged): refused, nothing moves.
    again = await staff.send_callback(asked.message_id, f"bnd:ok:{(await _request(bot)).id}")
    assert "已经处理过了（已拒绝）" in await _alert(bot, again)
    assert await _bound_to(bot, member_id) == OLD
    actions = [a for a, o, _ in await _audit(bot) if o == str(member_id)]
    assert actions == ["member.move_request", "member.move_refuse"]


async def test_forged_confirm_by_a_member_or_stranger_changes_nothing(bot: Harness) -> None:
    member_id = await _world(bot)
    await bot.emu.user(NEW).send_contact(PHONE)
    await bot.emu.wait_for(NEW, "核实")
    await _request_message(bot, STAFF)
    request = await _request(bot)
    for user_id, refusal in (
        (OTHER, "仅限机关工作人员"),
        (OLD, "仅限机关工作人员"),  # the member themself is not staff either
        (NEW, "还没有绑定委员身份"),  # the account asking
        (STRANGER, "还没有绑定委员身份"),
    ):
        pressed = await bot.emu.user(user_id).send_callback(1, f"bnd:ok:{request.id}")
        assert refusal in await _alert(bot, pressed), user_id
    assert (await _request(bot)).status is BindingRequestStatus.pending
    assert await _bound_to(bot, member_id) == OLD
    actions = [a for a, o, _ in await _audit(bot) if o == str(member_id)]
    assert actions == ["member.move_request"]


async def test_a_staff_members_binding_moves_only_on_an_admins_word(bot: Harness) -> None:
    await _world(bot)
    colleague = await bot.add_member(
        "郑干部", "+8615000150009", role=Role.staff, telegram_user_id=2002
    )
    await bot.emu.user(NEW).send_contact("15000150009")
    await bot.emu.wait_for(NEW, "核实")
    request = await _request(bot)
    # Only admins are asked; staff pressing a forged button are told only admins may.
    asked = await _request_message(bot, ADMIN)
    pressed = await bot.emu.user(STAFF).send_callback(1, f"bnd:ok:{request.id}")
    assert "须由管理员确认" in await _alert(bot, pressed)
    assert await _bound_to(bot, colleague) == 2002
    assert not any("换绑申请" in (m.text or "") for m in bot.emu.messages_to(STAFF))

    await bot.emu.user(ADMIN).tap(asked, "✅ 确认换绑")
    await bot.emu.wait_for(NEW, "已确认换绑", timeout=10)
    assert await _bound_to(bot, colleague) == NEW


# -- removing a binding --------------------------------------------------------------------


async def test_admin_unbinds_and_the_old_account_is_told(bot: Harness) -> None:
    member_id = await _world(bot)
    admin = bot.emu.user(ADMIN_ID, "Admin")  # an admin from ADMIN_IDS
    await admin.send_command("unbind", "#" + str(member_id))
    await bot.emu.wait_for(ADMIN_ID, "已解除黄志强的账号绑定")
    told = await bot.emu.wait_for(OLD, "已解除这个 Telegram 账号", timeout=10)
    assert OFFICE in (told.text or "")
    assert await _bound_to(bot, member_id) is None
    assert not await _recognised(bot, bot.emu.user(OLD), "黄志强")
    unbind = [(o, d) for a, o, d in await _audit(bot) if a == "member.unbind"]
    assert unbind == [(str(member_id), {"channel": TELEGRAM, "old_account": str(OLD)})]

    # The member binds again from their new phone: no request, no staff needed.
    new = bot.emu.user(NEW)
    await new.send_contact(PHONE)
    await bot.emu.wait_for(NEW, "绑定成功")
    assert await _bound_to(bot, member_id) == NEW

    await admin.send_command("unbind", PHONE)
    await bot.emu.wait_for(ADMIN_ID, "已解除")
    await admin.send_command("unbind", PHONE)
    await bot.emu.wait_for(ADMIN_ID, "目前没有绑定")
    await admin.send_command("unbind")
    await bot.emu.wait_for(ADMIN_ID, "用法：/unbind")


async def test_unbind_is_refused_to_staff_members_and_oneself(bot: Harness) -> None:
    member_id = await _world(bot)
    for user_id in (STAFF, OTHER):
        await bot.emu.user(user_id).send_command("unbind", PHONE)
        await bot.emu.wait_for(user_id, "仅限系统管理员")
    await bot.emu.user(STRANGER).send_command("unbind", PHONE)
    await bot.emu.wait_for(STRANGER, "还没有绑定委员身份")
    await bot.emu.user(ADMIN).send_command("unbind", "15000150001")
    await bot.emu.wait_for(ADMIN, "不能解除自己的绑定")
    assert await _bound_to(bot, member_id) == OLD
    assert await _recognised(bot, bot.emu.user(ADMIN), "李主任")
    assert not [a for a, _, _ in await _audit(bot) if a == "member.unbind"]


async def test_cli_member_unbind_tells_the_old_account_through_the_running_bot(
    bot: Harness, tmp_path: Path
) -> None:
    member_id = await _world(bot)
    done = await asyncio.to_thread(
        run_cli, tmp_path, "member", "unbind", PHONE, database_url=bot.db.url
    )
    assert done.returncode == 0, done.stderr
    assert f"黄志强 (#{member_id}): binding removed" in done.stdout
    # The command line queued the message; the bot delivers it.
    await bot.emu.wait_for(OLD, "已解除这个 Telegram 账号", timeout=10)
    assert await _bound_to(bot, member_id) is None
    assert not await _recognised(bot, bot.emu.user(OLD), "黄志强")
    async with bot.db.transaction() as s:
        row = await s.scalar(select(AuditLog).where(AuditLog.action == "member.unbind"))
    assert row is not None and row.object_id == str(member_id)
    assert row.actor_member_id is None  # the command line
    assert row.actor_channel is None and row.actor_external_id is None

    again = await asyncio.to_thread(
        run_cli, tmp_path, "member", "unbind", PHONE, database_url=bot.db.url
    )
    assert again.returncode == 0 and "not bound" in again.stdout
    unknown = await asyncio.to_thread(
        run_cli, tmp_path, "member", "unbind", "#9999", database_url=bot.db.url
    )
    assert unknown.returncode == 1 and "no member" in unknown.stderr
