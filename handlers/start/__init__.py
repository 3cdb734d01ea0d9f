"""Starting the bot: binding an account to the roster, deep links, the menu, /cancel, /help.

commands: /start, /menu, /cancel, /help and binding's answers, on the channel seam;
contact: Telegram's shared contact, the one step that reads a Telegram message.
"""

from __future__ import annotations

from telegram.ext import Application, MessageHandler, filters

from handlers.start import commands
from handlers.start.contact import contact
from handlers.wiring import Access, Wiring


def register(app: Application, wiring: Wiring) -> None:  # type: ignore[type-arg]
    # Anyone, bound or not; groups never get this far (handlers.identity answers them).
    wiring.add_turn_command(app, "start", commands.start, access=Access.anyone)
    wiring.add_turn_command(app, "menu", commands.menu, access=Access.anyone)
    wiring.add_turn_command(app, "cancel", commands.cancel, access=Access.anyone)
    wiring.add_turn_command(app, "help", commands.help_command, access=Access.anyone)
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.CONTACT, contact))
