"""Staff tools of the foundation: invite links, roles, roster upload, bindings."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import Application

from bot import roster_report
from bot.context import BotContext
from bot.telegram_text import split_html_lines
from handlers.callbacks import Callback
from handlers.replies import answer_callback, edit_or_send, say, send_text
from handlers.wiring import Access, Wiring, close_dialog, open_dialog
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


async def tools(update: Update, ctx: BotContext) -> None:
    """The staff menu button: the list of staff commands."""
    await say(update, ctx, "staff.tools")


async def invite(update: Update, ctx: BotContext) -> None:
    """/invite <phone or #id>: a one-time link that binds that member."""
    query = " ".join(ctx.args or [])
    if not query:
        await say(update, ctx, "staff.invite_usage")
        return
    async with ctx.db.transaction() as session:
        member = await _find_or_say(update, ctx, session, query)
        if member is None:
            return
        code = await members.create_invite(session, member.id, ctx.member.actor, now=ctx.now())
        name = member.name
    await say(
        update,
        ctx,
        "staff.invite_link",
        name=name,
        link=ctx.deep_link(code),
        days=ctx.settings.invite_ttl_days,
    )


async def set_role(update: Update, ctx: BotContext) -> None:
    """/setrole <phone or #id> <member|staff|admin>: admins grant or withdraw staff rights."""
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
        if member.id == ctx.member.id and role is not Role.admin:
            await say(update, ctx, "staff.cannot_demote_self")
            return
        changed = await members.set_role(session, member, role, ctx.member.actor)
        name = member.name
    key = "staff.role_set" if changed else "staff.role_unchanged"
    await say(update, ctx, key, name=name, role=ctx.t(f"staff.role_{role.value}"))


async def unbind(update: Update, ctx: BotContext) -> None:
    """/unbind <phone or #id>: admins remove a member's binding (a lost phone, a wrong account);
    the account that held it is told, and the member can bind again with a new link."""
    query = " ".join(ctx.args or [])
    if not query:
        await say(update, ctx, "staff.unbind_usage")
        return
    async with ctx.db.transaction() as session:
        member = await _find_or_say(update, ctx, session, query)
        if member is None:
            return
        outcome = await bindings.unbind(
            session, member, ctx.member.actor, office=ctx.settings.office_contact
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


async def on_binding_button(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Confirm / Refuse on a binding request. Storage re-reads the presser's role and the
    request's state: a forged or late press changes nothing and gets a polite alert."""
    user = update.effective_user
    assert user is not None
    request_id = cb.int_arg(0)
    if request_id is None:
        await answer_callback(update, ctx, "common.stale_button", alert=True)
        return
    async with ctx.db.transaction() as session:
        result = await bindings.decide(
            session,
            request_id,
            by=ctx.speaker,
            confirm=cb.action == bindings.CONFIRM,
            now=ctx.now(),
            office=ctx.settings.office_contact,
        )
    if not result.ok:
        await _refuse(update, ctx, result)
        return
    ctx.runtime.outbox_signal()
    confirmed = result.outcome is Decision.confirmed
    key = "binding.staff_confirmed" if confirmed else "binding.staff_refused"
    # The request message loses its buttons: the decision shows where it was asked.
    await edit_or_send(update, ctx, ctx.t(key, request=request_id, name=result.member_name or ""))


async def _refuse(update: Update, ctx: BotContext, result: bindings.DecideResult) -> None:
    """The pop-up for a press that changed nothing."""
    if result.outcome is Decision.already_decided and result.status is not None:
        status = ctx.plain(f"binding.status_{result.status.value}")
        await answer_callback(update, ctx, "binding.already_decided", alert=True, status=status)
        return
    key = {
        Decision.not_allowed: "common.staff_only",
        Decision.admin_needed: "binding.admin_needed",
        Decision.requester_bound: "binding.requester_bound",
    }.get(result.outcome, "common.stale_button")
    await answer_callback(update, ctx, key, alert=True)


async def ask_roster_file(update: Update, ctx: BotContext) -> None:
    """/roster: the next document the staff member sends is imported as the roster."""
    await open_dialog(update, ctx, ROSTER_FLOW, "file")
    await say(update, ctx, "roster.send_file")


async def roster_file(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """The roster spreadsheet arrives: import it and answer with the report."""
    message = update.effective_message
    # A dialog is not behind the router's access check: staff may have been demoted meanwhile.
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
            actor=ctx.member.actor,
            source=f"bot:{name}",
        )
    await close_dialog(update, ctx)
    # 50 rejected rows with their values can outgrow one message: split at line ends.
    for part in split_html_lines(roster_report.render(ctx.texts, ctx.locale, report).split("\n")):
        await send_text(update, ctx, part)


def register(app: Application, wiring: Wiring) -> None:  # type: ignore[type-arg]
    wiring.add_command(app, "invite", invite, access=Access.staff)
    wiring.add_command(app, "setrole", set_role, access=Access.admin)
    wiring.add_command(app, "unbind", unbind, access=Access.admin)
    # The data is made by storage (bindings.confirm_data / refuse_data), with the request.
    wiring.add_buttons(
        bindings.FEATURE,
        {bindings.CONFIRM: on_binding_button, bindings.REFUSE: on_binding_button},
        access=Access.staff,
    )
    wiring.add_command(app, "roster", ask_roster_file, access=Access.staff)
    wiring.add_flow(ROSTER_FLOW, roster_file)
    wiring.add_menu("staff.menu_button", tools, staff=True, order=990)
