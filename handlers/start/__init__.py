"""Starting the bot: binding an account to the roster, deep links, the menu, /cancel, /help.

commands: /start, /menu, /cancel, /help and binding's answers, on the channel seam;
contact: Telegram's shared contact, the one step that reads a Telegram message.
"""

from __future__ import annotations

from telegram.ext import MessageHandler, filters

from handlers.bindings import BINDING_FLOW
from handlers.start import commands
from handlers.start.contact import contact
from handlers.wiring import Access, Wiring


def register(wiring: Wiring) -> None:
    # Anyone, bound or not; groups never get this far (handlers.identity answers them).
    wiring.add_turn_command("start", commands.start, access=Access.anyone)
    wiring.add_turn_command("menu", commands.menu, access=Access.anyone)
    wiring.add_turn_command("cancel", commands.cancel, access=Access.anyone)
    wiring.add_turn_command("help", commands.help_command, access=Access.anyone)
    wiring.add_turn_flow(BINDING_FLOW, commands.waiting_for_contact)
    wiring.add_telegram(MessageHandler(filters.ChatType.PRIVATE & filters.CONTACT, contact))
