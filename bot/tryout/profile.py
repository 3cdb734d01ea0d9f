"""The bot's own profile as the emulator keeps it: getMe, the command menus (set/get/
deleteMyCommands, per scope and language) and the chat menu button; close and logOut."""

from __future__ import annotations

import json
import re

from bot.tryout.protocol import JSON, Handler, Request, bad
from bot.tryout.state import EmulatorState

_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


class ProfileMethods:
    """getMe, the bot's commands and menu button."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.commands: dict[str, list[JSON]] = {}  # "scope|language" -> commands
        self.menu_buttons: dict[int | None, JSON] = {}

    def methods(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "close": self._true,
            "logOut": self._true,
        }

    async def _true(self, req: Request) -> bool:
        return True

    async def _get_me(self, req: Request) -> JSON:
        return {
            **self.state.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _commands_key(self, req: Request) -> str:
        scope = req.obj_param("scope") or {"type": "default"}
        return f"{json.dumps(scope, sort_keys=True)}|{req.str_param('language_code') or ''}"

    async def _set_my_commands(self, req: Request) -> bool:
        commands = req.obj_param("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad("commands must be an array of at most 100 BotCommand")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.fullmatch(
                str(command.get("command", ""))
            ):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(req)] = commands
        return True

    async def _delete_my_commands(self, req: Request) -> bool:
        self.commands.pop(self._commands_key(req), None)
        return True

    async def _get_my_commands(self, req: Request) -> list[JSON]:
        return self.commands.get(self._commands_key(req), [])

    async def _set_chat_menu_button(self, req: Request) -> bool:
        chat_id = req.int_param("chat_id")
        button = req.obj_param("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise bad("can't parse menu button")
        self.menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, req: Request) -> JSON:
        chat_id = req.int_param("chat_id")
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "commands"}
