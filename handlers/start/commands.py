"""Starting the bot on any channel: /start (deep links, an invite, welcome back), /menu,
/cancel, /help, and what binding an account to the roster answers.

How an account proves who it is belongs to its channel: on Telegram a shared contact
(handlers/start/contact.py) or an invite link; either way the roster is asked here
(`bind_by_phone`, `redeem_invite`) and the member hears the same answer.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import Any

from handlers import bindings as binding_messages
from handlers.bindings import BINDING_FLOW
from handlers.channel.turn import Turn
from handlers.channel.views import Request, Text, View
from storage import bindings, members
from storage.dialogs import Dialog
from storage.members import INVITE_PREFIX, BindOutcome, BindResult

log = logging.getLogger(__name__)

# What a failed binding says (each with the office to ask and an invitation's days).
REFUSALS = {
    BindOutcome.move_requested: "binding.requested",
    BindOutcome.move_pending: "binding.still_pending",
    BindOutcome.expired_code: "start.expired_code",
    BindOutcome.not_on_roster: "start.not_on_roster",
    BindOutcome.bad_phone: "start.not_on_roster",
    BindOutcome.taken: "start.taken",
    BindOutcome.other_member: "start.other_member",
    BindOutcome.invalid_code: "start.invalid_code",
    BindOutcome.used_code: "start.used_code",
}


async def show_menu(turn: Turn, key: str = "start.menu", **params: Any) -> None:
    await turn.reply(View([Text(key, params)], menu=True))


async def start(turn: Turn) -> None:
    """/start [payload]: deep links first; bound members get the menu, others are asked to bind
    (a link they opened is kept and followed once they are bound)."""
    payload = turn.args[0] if turn.args else ""
    if payload.startswith(INVITE_PREFIX):
        await redeem_invite(turn, payload)
        return
    wiring = turn.runtime.wiring
    prefix = wiring.link_prefix(payload)
    if turn.viewer is None:
        if prefix is not None:
            await turn.open_dialog(
                BINDING_FLOW, "contact", {**_binding_data(turn), "link": payload}
            )
        await ask_contact(turn)
        return
    await _leave_dialog(turn)
    if prefix is not None and await wiring.follow_link(turn, prefix, payload.removeprefix(prefix)):
        return
    await show_menu(turn, "start.welcome_back", name=turn.viewer.name)
    await wiring.run_start_hooks(turn)


def _binding_data(turn: Turn) -> dict[str, Any]:
    """What an account not bound yet asked for before binding (a link, a language)."""
    dialog = turn.dialog
    return dict(dialog.data) if dialog is not None and dialog.flow == BINDING_FLOW else {}


async def _leave_dialog(turn: Turn) -> None:
    """/start and /menu close a step left open, and say so: the next text the member types is
    then never taken as the answer to a question asked long ago."""
    if turn.dialog is not None and await turn.runtime.wiring.cancel(turn):
        await turn.reply(View.of("start.dialog_closed"))


async def waiting_for_contact(turn: Turn, dialog: Dialog) -> None:
    """Text from an account that opened a link before binding: binding comes first."""
    request = Request("contact", Text("start.share_contact_button"))
    await turn.reply(View([Text("start.ask_contact_again")], request=request))


async def ask_contact(turn: Turn) -> None:
    """How to bind: a one-tap button sharing the member's own number (where the channel has
    one; the text says what to do)."""
    request = Request("contact", Text("start.share_contact_button"))
    await turn.reply(View([Text("start.ask_contact")], request=request))


async def bind_by_phone(turn: Turn, phone: str) -> None:
    """Bind the account to the roster member with this number, which the channel vouches is
    the account's own (Telegram: a contact the account shared of itself)."""
    if turn.viewer is not None:
        await show_menu(turn, "start.welcome_back", name=turn.viewer.name)
        return
    async with turn.db.transaction() as session:
        result = await bindings.bind_by_contact(
            session,
            account=turn.account,
            phone=phone,
            now=turn.now(),
        )
        await binding_messages.tell(session, result.news, turn.settings.office_contact)
    await _after_bind(turn, result)


async def redeem_invite(turn: Turn, code: str) -> None:
    """An invitation link staff made with /invite: binds the account that opens it."""
    async with turn.db.transaction() as session:
        result = await bindings.redeem_invite(
            session,
            code=code,
            account=turn.account,
            now=turn.now(),
            ttl=timedelta(days=turn.settings.invite_ttl_days),
        )
        await binding_messages.tell(session, result.news, turn.settings.office_contact)
    await _after_bind(turn, result)


async def _after_bind(turn: Turn, result: BindResult) -> None:
    if result.ok and result.member is not None:
        member = result.member
        asked = _binding_data(turn)
        chosen = asked.get("locale")
        if chosen in turn.texts.locales and not member.locale:
            # The language chosen before binding becomes the member's.
            async with turn.db.transaction() as session:
                await members.set_locale(session, member.id, chosen)
            member = dataclasses.replace(member, locale=chosen)
        turn.viewer = member
        if member.locale:
            turn.locale = turn.texts.resolve(member.locale)
        log.info("member %s bound (%s)", member.id, result.outcome.value)
        if asked:
            await turn.close_dialog()
        key = "start.bound_staff" if member.is_staff else "start.bound"
        await show_menu(turn, key, name=member.name)
        link = str(asked.get("link") or "")
        wiring = turn.runtime.wiring
        prefix = wiring.link_prefix(link)
        if prefix is not None:
            await wiring.follow_link(turn, prefix, link.removeprefix(prefix))
        return
    if result.outcome is BindOutcome.move_requested:
        # Staff (and the account bound now) were told in the same transaction.
        turn.runtime.outbox_signal()
        log.info(
            "binding request %s for member %s",
            result.request_id,
            result.member and result.member.id,
        )
    line = Text.of(
        REFUSALS[result.outcome],
        office=turn.settings.office_contact,
        days=turn.settings.invite_ttl_days,
    )
    await turn.reply(View([line], close_request=True))


async def menu(turn: Turn) -> None:
    """/menu: the main menu again (closing a step left open)."""
    if turn.viewer is None:
        await ask_contact(turn)
        return
    await _leave_dialog(turn)
    await show_menu(turn)


async def cancel(turn: Turn) -> None:
    """/cancel: leave the open step, saying what became of it (kept in a draft or not)."""
    said = await turn.runtime.wiring.cancel(turn)
    if turn.viewer is None:
        await turn.reply(View.of("common.cancelled_nothing"))
        return
    said = said or Text("common.cancelled_nothing")
    await show_menu(turn, said.key, **said.params)


async def help_command(turn: Turn) -> None:
    """/help: what the bot does and how to reach the office."""
    key = "start.help_staff" if turn.viewer is not None and turn.viewer.is_staff else "start.help"
    await turn.reply(View.of(key, office=turn.settings.office_contact))
