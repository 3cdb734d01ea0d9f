"""An office upgrading to identities (migration 0094) loses nothing: bound members are still
bound, a message queued before the upgrade still arrives, a member half-way through a dialog
carries on, a pending request to move a binding can still be decided, and the audit log still
says which account did what."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.tryout import BotApiEmulator
from storage import reports
from storage.migrate import upgrade
from storage.models import AuditLog, BindingRequest, DialogState, Identity, InviteCode
from tests.support import FakeClock, Harness, fresh_database, make_settings

MEMBER, STAFF, NEWPHONE = 1901, 1902, 1903

OLD_ROWS = [
    # Two bound members (a member and staff) and one on the roster only.
    "INSERT INTO member (id, name, phone, telegram_user_id, chat_id, role, reachable, active,"
    " bound_at, created_at, updated_at) VALUES"
    f" (1, '陈静', '+8613900139000', {MEMBER}, {MEMBER}, 'member', true, true,"
    "  '2026-11-01 00:00:00', '2026-11-01 00:00:00', '2026-11-01 00:00:00'),"
    f" (2, '王秘书', '+8613900139001', {STAFF}, {STAFF}, 'staff', true, true,"
    "  '2026-11-01 00:00:00', '2026-11-01 00:00:00', '2026-11-01 00:00:00'),"
    " (3, '林未绑', '+8613900139002', NULL, NULL, 'member', true, true,"
    "  NULL, '2026-11-01 00:00:00', '2026-11-01 00:00:00')",
    # The member is answering the guided report's first question when the upgrade happens.
    "INSERT INTO dialog_state (telegram_user_id, flow, step, data, updated_at) VALUES"
    f" ({MEMBER}, 'report', 'title', '{{\"edit\": false}}', '2026-11-25 01:59:00')",
    # A message queued for the member, not yet sent.
    "INSERT INTO outbox_message (created_at, kind, priority, member_id, chat_id, template,"
    " params, status, attempts) VALUES ('2026-11-25 01:00:00', 'binding', 3, 1, "
    f"{MEMBER}, 'binding.move_refused', '{{\"office\": \"OFFICE-PHONE-0591\"}}', 'pending', 0)",
    # Another account asked to take over the member's binding; staff have not decided.
    "INSERT INTO binding_request (id, member_id, telegram_user_id, chat_id,"
    " old_telegram_user_id, via, status, created_at) VALUES"
    f" (7, 1, {NEWPHONE}, {NEWPHONE}, {MEMBER}, 'contact', 'pending', '2026-11-24 00:00:00')",
    "INSERT INTO invite_code (code, member_id, created_at, used_at, used_by_telegram_id) VALUES"
    f" ('inv_old', 1, '2026-11-01 00:00:00', '2026-11-01 00:00:00', {MEMBER})",
    "INSERT INTO audit_log (at, actor_member_id, actor_telegram_id, action, details) VALUES"
    f" ('2026-11-01 00:00:00', 1, {MEMBER}, 'member.bind', '{{}}')",
]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_an_office_upgraded_to_identities_carries_on(
    emulator: BotApiEmulator, tmp_path: Path, kind: str
) -> None:
    async with fresh_database(kind, tmp_path, revision="0093") as db:
        async with db.transaction() as session:
            for statement in OLD_ROWS:
                await session.execute(text(statement))
        await upgrade(db.engine)

        async with db.read() as session:
            accounts = {
                (i.member_id, i.channel, i.external_id, i.address)
                for i in await session.scalars(select(Identity))
            }
            request = await session.get(BindingRequest, 7)
            invite = await session.get(InviteCode, "inv_old")
            audit = await session.scalar(select(AuditLog))
            dialog = await session.scalar(select(DialogState))
        assert accounts == {
            (1, "telegram", str(MEMBER), str(MEMBER)),
            (2, "telegram", str(STAFF), str(STAFF)),
        }
        assert request is not None
        assert (request.channel, request.external_id, request.address) == (
            "telegram",
            str(NEWPHONE),
            str(NEWPHONE),
        )
        assert request.old_external_id == str(MEMBER)
        assert invite is not None and invite.used_by_external_id == str(MEMBER)
        assert audit is not None
        assert (audit.actor_channel, audit.actor_external_id) == ("telegram", str(MEMBER))
        assert dialog is not None and (dialog.channel, dialog.external_id) == (
            "telegram",
            str(MEMBER),
        )

        harness = Harness(emulator, db, make_settings(emulator, db.url, tmp_path), FakeClock())
        await harness.start()
        try:
            # The message queued before the upgrade arrives.
            await emulator.wait_for(MEMBER, "OFFICE-PHONE-0591")
            # The member is still bound, and their dialog goes on: the title they type now
            # is taken as the title of their report (the next question follows).
            await emulator.user(MEMBER).send_text("关于鼓楼区停车难的建议")
            await emulator.wait_for(MEMBER, lambda m: "OFFICE-PHONE-0591" not in (m.text or ""))
            async with db.read() as session:
                draft = await reports.open_draft(session, 1)
            assert draft is not None and draft.title == "关于鼓楼区停车难的建议"
            # Staff decide the request made before the upgrade: the binding moves.
            staff = emulator.user(STAFF)
            await staff.send_command("start")
            await emulator.wait_for(STAFF, "王秘书")
            await staff.send_callback(1, "bnd:ok:7")
            await emulator.wait_for(NEWPHONE, "陈静委员")
        finally:
            await harness.stop()
        async with db.read() as session:
            moved = await session.scalar(
                select(Identity.external_id).where(Identity.member_id == 1)
            )
        assert moved == str(NEWPHONE)
