"""Staff tools of the foundation: invite links, roles, roster upload, bindings."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import roster_report
from bot.context import BotContext
from bot.telegram_text import split_html_lines
from handlers import callbacks
from handlers.guards import admin_only, staff_only
from handlers.replies import edit_or_send, say, send_text
from handlers.wiring import Wiring, close_dialog, open_dialog
from storage import bindings, members, roster
from storage.bindings import Decision, Unbind
from storage.dialogs import Dialog
from storage.models import Member, Role

log = logging.getLogger(__name__)

ROSTER_FLOW = "roster"
MAX_ROSTER_BYTES = 10 * 1024 * 1024
ROSTER_TYPES = (".xlsx", ".csv")


async def _find_or_say(
    update: Update, ctx: BotContext, session: AsyncSession, query: str
) -> Member | None:
    """The roster member named by phone or #id; tells staff when there is none."""
    member = await members.find(session, query)
    if member is None:
        await say(update, ctx, "staff.member_not_found", query=query)
    return member


@staff_only
async def tools(update: Update, ctx: BotContext) -> None:
    """The staff menu button: the list of staff commands."""
    await say(update, ctx, "staff.tools")


@staff_only
async def invite(update: Update, ctx: BotContext) -> None:
    """/invite <phone or #id>: a one-time link that binds that member."""
    assert ctx.viewer is not None
    query = " ".join(ctx.args or [])
    if not query:
        await say(update, ctx, "staff.invite_usage")
        return
    async with ctx.db.transaction() as session:
        member = await _find_or_say(update, ctx, session, query)
        if member is None:
            return
        code = await members.create_invite(session, member.id, ctx.viewer.actor, now=ctx.now())
        name = member.name
    await say(
        update,
        ctx,
        "staff.invite_link",
        name=name,
        link=ctx.deep_link(code),
        days=ctx.settings.invite_ttl_days,
    )


@admin_only
async def set_role(update: Update, ctx: BotContext) -> None:
    """/setrole <phone or #id> <member|staff|admin>: admins grant or withdraw staff rights."""
    assert ctx.viewer is not None
    args = ctx.args or []
    if len(args) < 2 or args[-1] not in Role.__members__:
        await say(update, ctx, "staff.setrole_usage")
        return
    role = Role(args[-1])
    query = " ".join(args[:-1])
    async with ctx.db.transaction() as session:
        member = await _find_or_say(update, ctx, session, query)
        if member is None:
            return
        if member.id == ctx.viewer.id and role is not Role.admin:
            await say(update, ctx, "staff.cannot_demote_self")
            return
        changed = await members.set_role(session, member, role, ctx.viewer.actor)
        name = member.name
    key = "staff.role_set" if changed else "staff.role_unchanged"
    await say(update, ctx, key, name=name, role=ctx.t(f"staff.role_{role.value}"))


@admin_only
async def unbind(update: Update, ctx: BotContext) -> None:
    """/unbind <phone or #id>: admins remove a member's binding (a lost phone, a wrong account);
    the account that held it is told, and the member can bind again with a new link."""
    assert ctx.viewer is not None
    query = " ".join(ctx.args or [])
    if not query:
        await say(update, ctx, "staff.unbind_usage")
        return
    async with ctx.db.transaction() as session:
        member = await _find_or_say(update, ctx, session, query)
        if member is None:
            return
        outcome = await bindings.unbind(
            session, member, ctx.viewer.actor, office=ctx.settings.office_contact
        )
        name = member.name
    if outcome is Unbind.unbound:
        ctx.runtime.outbox_signal()
    key = {
        Unbind.unbound: "staff.unbound",
        Unbind.not_bound: "staff.not_bound",
        Unbind.self: "staff.cannot_unbind_self",
        # The guard let an admin through but storage, reading the role again, did not.
        Unbind.not_allowed: "common.admin_only",
    }[outcome]
    await say(update, ctx, key, name=name)


@staff_only
async def on_binding_button(update: Update, ctx: BotContext) -> None:
    """Confirm / Refuse on a binding request. Storage re-reads the presser's role and the
    request's state: a forged or late press changes nothing and gets a polite alert."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    cb = callbacks.parse(query.data)
    request_id = cb.int_arg(0) if cb is not None else None
    if cb is None or cb.action not in (bindings.CONFIRM, bindings.REFUSE) or request_id is None:
        await query.answer(ctx.plain("common.stale_button"), show_alert=True)
        return
    async with ctx.db.transaction() as session:
        result = await bindings.decide(
            session,
            request_id,
            by_telegram_id=user.id,
            confirm=cb.action == bindings.CONFIRM,
            now=ctx.now(),
            office=ctx.settings.office_contact,
        )
    if not result.ok:
        await query.answer(_refusal(ctx, result), show_alert=True)
        return
    ctx.runtime.outbox_signal()
    await query.answer()
    confirmed = result.outcome is Decision.confirmed
    key = "binding.staff_confirmed" if confirmed else "binding.staff_refused"
    # The request message loses its buttons: the decision shows where it was asked.
    await edit_or_send(update, ctx, ctx.t(key, request=request_id, name=result.member_name or ""))


def _refusal(ctx: BotContext, result: bindings.DecideResult) -> str:
    """The pop-up for a press that changed nothing."""
    if result.outcome is Decision.already_decided and result.status is not None:
        status = ctx.plain(f"binding.status_{result.status.value}")
        return ctx.plain("binding.already_decided", status=status)
    key = {
        Decision.not_allowed: "common.staff_only",
        Decision.admin_needed: "binding.admin_needed",
        Decision.requester_bound: "binding.requester_bound",
    }.get(result.outcome, "common.stale_button")
    return ctx.plain(key)


@staff_only
async def ask_roster_file(update: Update, ctx: BotContext) -> None:
    """/roster: the next document the staff member sends is imported as the roster."""
    await open_dialog(update, ctx, ROSTER_FLOW, "file")
    await say(update, ctx, "roster.send_file")


async def roster_file(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """The roster spreadsheet arrives: import it and answer with the report."""
    message = update.effective_message
    if ctx.viewer is None or not ctx.viewer.is_staff:
        await close_dialog(update, ctx)
        await say(update, ctx, "common.staff_only")
        return
    document = message.document if message else None
    if document is None:
        await say(update, ctx, "roster.need_file")
        return
    name = (document.file_name or "").lower()
    if not name.endswith(ROSTER_TYPES):
        await say(update, ctx, "roster.wrong_type")
        return
    if (document.file_size or 0) > MAX_ROSTER_BYTES:
        await say(update, ctx, "roster.too_big", mb=MAX_ROSTER_BYTES // (1024 * 1024))
        return
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    try:
        rows = await asyncio.to_thread(roster.parse_roster, data, name)
    except roster.RosterFileError as exc:
        await say(update, ctx, f"roster.file_error_{exc.code}")
        return
    async with ctx.db.transaction(bulk=True) as session:
        report = await roster.import_roster(
            session,
            rows,
            actor_member_id=ctx.viewer.id,
            actor_telegram_id=ctx.viewer.telegram_user_id,
            source=f"bot:{name}",
        )
    await close_dialog(update, ctx)
    # 50 rejected rows with their values can outgrow one message: split at line ends.
    for part in split_html_lines(roster_report.render(ctx.texts, ctx.locale, report).split("\n")):
        await send_text(update, ctx, part)


def register(app: Application, wiring: Wiring) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("invite", invite))
    app.add_handler(CommandHandler("setrole", set_role))
    app.add_handler(CommandHandler("unbind", unbind))
    app.add_handler(
        CallbackQueryHandler(on_binding_button, pattern=callbacks.pattern(bindings.FEATURE))
    )
    app.add_handler(CommandHandler("roster", ask_roster_file))
    wiring.add_flow(ROSTER_FLOW, roster_file)
    wiring.add_menu("staff.menu_button", tools, staff=True, order=990)
