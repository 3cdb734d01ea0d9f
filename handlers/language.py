"""Choosing the language of the bot; the choice is stored on the member. On the channel seam."""

from __future__ import annotations

from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, Text, View
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
    async with turn.db.transaction() as session:
        await members.set_locale(session, turn.member.id, code)
    turn.locale = code
    # The menu comes again, in the new language.
    await turn.reply(View([Text("language.changed")], menu=True))


def register(wiring: Wiring) -> None:
    wiring.add_turn_command("language", choose, access=Access.member)
    wiring.add_turn_buttons(FEATURE, {"set": set_language}, access=Access.member)
    wiring.add_turn_menu("language.menu_button", choose, order=900)
