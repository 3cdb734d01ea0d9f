"""Staff tools of the foundation: invite links, roles, roster upload, binding decisions. On the
channel seam: staff may use them from any channel."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot import roster_report
from bot.i18n import Markup
from bot.telegram_text import split_html_lines
from handlers import bindings as binding_messages
from handlers.channel.turn import DownloadFailed, Turn
from handlers.channel.views import Text, View
from handlers.wiring import Access, Wiring
from storage import bindings, members, roster
from storage.bindings import Decision, Unbind
from storage.dialogs import Dialog
from storage.models import Member, Role

log = logging.getLogger(__name__)

ROSTER_FLOW = "roster"
MAX_ROSTER_BYTES = 10 * 1024 * 1024
ROSTER_TYPES = (".xlsx", ".csv")


async def _find_or_say(turn: Turn, session: AsyncSession, query: str) -> Member | None:
    """The roster member named by phone or #id; tells staff when there is none."""
    member = await members.find(session, query)
    if member is None:
        await turn.reply(View.of("staff.member_not_found", query=query))
    return member


async def tools(turn: Turn) -> None:
    """The staff menu button: the list of staff commands."""
    await turn.reply(View.of("staff.tools"))


async def invite(turn: Turn) -> None:
    """/invite <phone or #id>: a one-time link that binds that member."""
    query = " ".join(turn.args)
    if not query:
        await turn.reply(View.of("staff.invite_usage"))
        return
    async with turn.db.transaction() as session:
        member = await _find_or_say(turn, session, query)
        if member is None:
            return
        code = await members.create_invite(session, member.id, turn.member.actor, now=turn.now())
        name = member.name
    link = turn.link(code)
    days = turn.settings.invite_ttl_days
    await turn.reply(View.of("staff.invite_link", name=name, link=link, days=days))


async def set_role(turn: Turn) -> None:
    """/setrole <phone or #id> <member|staff|admin>: admins grant or withdraw staff rights."""
    args = turn.args
    if len(args) < 2 or args[-1] not in Role.__members__:
        await turn.reply(View.of("staff.setrole_usage"))
        return
    role = Role(args[-1])
    query = " ".join(args[:-1])
    async with turn.db.transaction() as session:
        member = await _find_or_say(turn, session, query)
        if member is None:
            return
        if member.id == turn.member.id and role is not Role.admin:
            await turn.reply(View.of("staff.cannot_demote_self"))
            return
        changed = await members.set_role(session, member, role, turn.member.actor)
        name = member.name
    key = "staff.role_set" if changed else "staff.role_unchanged"
    await turn.reply(View.of(key, name=name, role=Text(f"staff.role_{role.value}")))


async def unbind(turn: Turn) -> None:
    """/unbind <phone or #id>: admins remove a member's binding (a lost phone, a wrong account);
    the account that held it is told, and the member can bind again with a new link."""
    query = " ".join(turn.args)
    if not query:
        await turn.reply(View.of("staff.unbind_usage"))
        return
    async with turn.db.transaction() as session:
        member = await _find_or_say(turn, session, query)
        if member is None:
            return
        unbound = await bindings.unbind(session, member, turn.member.actor)
        await binding_messages.tell(session, unbound.news, turn.settings.office_contact)
        outcome, name = unbound.outcome, member.name
    if outcome is Unbind.unbound:
        turn.runtime.outbox_signal()
    key = {
        Unbind.unbound: "staff.unbound",
        Unbind.not_bound: "staff.not_bound",
        Unbind.self: "staff.cannot_unbind_self",
        # The guard let an admin through but storage, reading the role again, did not.
        Unbind.not_allowed: "common.admin_only",
    }[outcome]
    await turn.reply(View.of(key, name=name))


def _request_id(turn: Turn) -> int | None:
    """The binding request a button names: a positive int, or None when missing or malformed."""
    args = turn.action.args if turn.action is not None else ()
    try:
        value = int(args[0])
    except (IndexError, ValueError):
        return None
    return value if value > 0 else None


async def on_binding_button(turn: Turn) -> None:
    """Confirm / Refuse on a binding request. Storage re-reads the presser's role and the
    request's state: a forged or late press changes nothing and gets a polite alert."""
    assert turn.action is not None
    request_id = _request_id(turn)
    if request_id is None:
        await turn.notify("common.stale_button", alert=True)
        return
    async with turn.db.transaction() as session:
        result = await bindings.decide(
            session,
            request_id,
            by=turn.account,
            confirm=turn.action.name == binding_messages.CONFIRM,
            now=turn.now(),
        )
        await binding_messages.tell(session, result.news, turn.settings.office_contact)
    if not result.ok:
        await _refuse(turn, result)
        return
    turn.runtime.outbox_signal()
    confirmed = result.outcome is Decision.confirmed
    key = "binding.staff_confirmed" if confirmed else "binding.staff_refused"
    # The request message loses its buttons: the decision shows where it was asked.
    await turn.edit(View.of(key, request=request_id, name=result.member_name or ""))


async def _refuse(turn: Turn, result: bindings.DecideResult) -> None:
    """The pop-up for a press that changed nothing."""
    if result.outcome is Decision.already_decided and result.status is not None:
        status = turn.plain(f"binding.status_{result.status.value}")
        await turn.notify("binding.already_decided", alert=True, status=status)
        return
    key = {
        Decision.not_allowed: "common.staff_only",
        Decision.admin_needed: "binding.admin_needed",
        Decision.requester_bound: "binding.requester_bound",
    }.get(result.outcome, "common.stale_button")
    await turn.notify(key, alert=True)


async def ask_roster_file(turn: Turn) -> None:
    """/roster: the next document the staff member sends is imported as the roster."""
    await turn.open_dialog(ROSTER_FLOW, "file")
    await turn.reply(View.of("roster.send_file"))


async def roster_file(turn: Turn, dialog: Dialog) -> None:
    """The roster spreadsheet arrives: import it and answer with the report."""
    # A dialog is not behind the router's access check: staff may have been demoted meanwhile.
    if turn.viewer is None or not turn.viewer.is_staff:
        await turn.close_dialog()
        await turn.reply(View.of("common.staff_only"))
        return
    media = turn.media
    if media is None or media["kind"] != "document":
        await turn.reply(View.of("roster.need_file"))
        return
    name = str(media["name"] or "").lower()
    if not name.endswith(ROSTER_TYPES):
        await turn.reply(View.of("roster.wrong_type"))
        return
    if (media["size"] or 0) > MAX_ROSTER_BYTES:
        await turn.reply(View.of("roster.too_big", mb=MAX_ROSTER_BYTES // (1024 * 1024)))
        return
    try:
        data = await turn.download(media)
    except DownloadFailed as exc:
        log.warning("roster download failed: %s", exc)
        await turn.reply(View.of("common.error"))
        return
    try:
        rows = await asyncio.to_thread(roster.parse_roster, data, name)
    except roster.RosterFileError as exc:
        await turn.reply(View.of(f"roster.file_error_{exc.code}"))
        return
    async with turn.db.transaction(bulk=True) as session:
        report = await roster.import_roster(
            session,
            rows,
            actor=turn.member.actor,
            source=f"bot:{name}",
        )
    await turn.close_dialog()
    # 50 rejected rows with their values can outgrow one message: split at line ends.
    for part in split_html_lines(roster_report.render(turn.texts, turn.locale, report).split("\n")):
        await turn.reply(View([Markup(part)]))


def register(wiring: Wiring) -> None:
    wiring.add_turn_command("invite", invite, access=Access.staff)
    wiring.add_turn_command("setrole", set_role, access=Access.admin)
    wiring.add_turn_command("unbind", unbind, access=Access.admin)
    # The data is made with the request's message (handlers/bindings.py).
    wiring.add_turn_buttons(
        binding_messages.FEATURE,
        {binding_messages.CONFIRM: on_binding_button, binding_messages.REFUSE: on_binding_button},
        access=Access.staff,
    )
    wiring.add_turn_command("roster", ask_roster_file, access=Access.staff)
    wiring.add_turn_flow(ROSTER_FLOW, roster_file)
    wiring.add_turn_menu("staff.menu_button", tools, staff=True, order=250)
