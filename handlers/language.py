"""Choosing the language of the bot; the choice is stored on the member, or, before an account
is bound, with what it asked for before binding (and given to the member it binds to). On the
channel seam."""

from __future__ import annotations

from handlers.bindings import BINDING_FLOW
from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, Request, Text, View
from handlers.wiring import Access, Wiring
from storage import members

FEATURE = "lang"


async def choose(turn: Turn) -> None:
    """Offer every language, each named in itself."""
    buttons = [
        [Button(turn.texts.plain(code, "language.self_name"), Action.of(FEATURE, "set", code))]
        for code in turn.texts.locales
    ]
    await turn.reply(View([Text("language.choose")], buttons))


async def set_language(turn: Turn) -> None:
    assert turn.action is not None
    code = turn.action.args[0] if turn.action.args else None
    if code not in turn.texts.locales:
        await turn.notify("common.stale_button", alert=True)
        return
    turn.locale = code
    if turn.viewer is None:
        dialog = turn.dialog
        asked = dict(dialog.data) if dialog is not None and dialog.flow == BINDING_FLOW else {}
        await turn.open_dialog(BINDING_FLOW, "contact", {**asked, "locale": code})
        # Binding comes next, asked in the new language.
        request = Request("contact", Text("start.share_contact_button"))
        await turn.reply(
            View([Text("language.changed"), Text("start.ask_contact")], request=request)
        )
        return
    async with turn.db.transaction() as session:
        await members.set_locale(session, turn.member.id, code)
    # The menu comes again, in the new language.
    await turn.reply(View([Text("language.changed")], menu=True))


def register(wiring: Wiring) -> None:
    # Anyone: an account not bound yet may read the binding prompt in its own language.
    wiring.add_turn_command("language", choose, access=Access.anyone)
    wiring.add_turn_buttons(FEATURE, {"set": set_language}, access=Access.anyone)
    wiring.add_turn_menu("language.menu_button", choose, order=900)
