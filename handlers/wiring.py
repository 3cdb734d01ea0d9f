"""The registries features plug into: main-menu buttons, conversation flows, deep links.

handlers/__init__.py builds one Wiring, hands it to every feature's register(), then installs
the catch-all handlers last, so feature commands and buttons always match first.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.i18n import Texts
from handlers import callbacks
from handlers.callbacks import Callback
from handlers.channel.telegram import TelegramTurn
from handlers.channel.turn import Turn
from handlers.channel.views import Text, View
from handlers.guards import Handler, admin_only, member_only, staff_only
from handlers.replies import answer_callback, say
from storage import dialogs
from storage.dialogs import Dialog
from storage.members import MemberRef

log = logging.getLogger(__name__)

InputHandler = Callable[[Update, BotContext, Dialog], Awaitable[Any]]
# Flows written against the channel seam (handlers/channel): they run on every channel.
TurnFlowHandler = Callable[[Turn, Dialog], Awaitable[Any]]
# What /cancel says when it closed this flow's dialog (e.g. whether a draft keeps the text).
TurnCancelHandler = Callable[[Turn, Dialog], Awaitable[Text]]
TurnFreeHandler = Callable[[Turn], Awaitable[bool]]
TurnButtonHandler = Callable[[Turn], Awaitable[Any]]
TurnHandler = Callable[[Turn], Awaitable[Any]]  # a command, a menu button, a start hook
TurnDeepLinkHandler = Callable[[Turn, str], Awaitable[Any]]
DeepLinkHandler = Callable[[Update, BotContext, str], Awaitable[Any]]
FreeMessageHandler = Callable[[Update, BotContext], Awaitable[bool]]
ButtonHandler = Callable[[Update, BotContext, Callback], Awaitable[Any]]


class Access(enum.Enum):
    """Who may use a command or a button, declared once where it is registered and checked on
    the server for every update (buttons can be forged): anybody, bound members, staff, admins."""

    anyone = "anyone"
    member = "member"
    staff = "staff"
    admin = "admin"

    def refusal(self, viewer: MemberRef | None) -> str | None:
        """The locale key of the polite refusal for this viewer, or None when they may."""
        if self is Access.anyone:
            return None
        if viewer is None:
            return "common.not_bound"
        if self is Access.staff and not viewer.is_staff:
            return "common.staff_only"
        if self is Access.admin and not viewer.is_admin:
            return "common.admin_only"
        return None

    def guard(self, handler: Handler) -> Handler:
        if self is Access.anyone:
            return handler
        return {Access.member: member_only, Access.staff: staff_only, Access.admin: admin_only}[
            self
        ](handler)


@dataclass(frozen=True)
class ButtonRoute:
    access: Access
    handler: ButtonHandler | None = None  # Telegram-only (update, ctx, cb)
    turn: TurnButtonHandler | None = None  # on the seam: every channel


@dataclass(frozen=True)
class Flow:
    """A dialog's handler: Telegram-only (update, ctx, dialog) or on the seam (turn, dialog)."""

    telegram: InputHandler | None = None
    turn: TurnFlowHandler | None = None
    cancelled: TurnCancelHandler | None = None

    def runs_on(self, turn: Turn) -> bool:
        return self.turn is not None or isinstance(turn, TelegramTurn)

    async def run(self, turn: Turn, dialog: Dialog) -> None:
        if self.turn is not None:
            await self.turn(turn, dialog)
        elif self.telegram is not None and isinstance(turn, TelegramTurn):
            await self.telegram(turn.update, turn.ctx, dialog)


@dataclass(frozen=True)
class FreeMessage:
    """A handler offered every message outside a dialog; True when it took the message."""

    telegram: FreeMessageHandler | None = None
    turn: TurnFreeHandler | None = None

    async def offer(self, turn: Turn) -> bool:
        if self.turn is not None:
            return await self.turn(turn)
        if self.telegram is not None and isinstance(turn, TelegramTurn):
            return await self.telegram(turn.update, turn.ctx)
        return False


@dataclass(frozen=True)
class MenuEntry:
    key: str  # locale key of the button label
    handler: Handler | None  # Telegram-only
    staff_only: bool = False
    order: int = 100
    turn: TurnHandler | None = None  # on the seam: every channel
    # Shown to members only: staff have their own tools (they may still type the label).
    members_only: bool = False
    # Locale keys of the labels of earlier versions, still on keyboards members have open.
    aliases: tuple[str, ...] = ()

    def labels(self, texts: Texts) -> list[str]:
        """Every label that presses it: its own in every language, and its earlier ones."""
        return [label for key in (self.key, *self.aliases) for label in texts.all_variants(key)]

    def matches(self, texts: Texts, text: str) -> bool:
        return text in self.labels(texts)

    @property
    def access(self) -> Access:
        return Access.staff if self.staff_only else Access.member


@dataclass(frozen=True)
class TurnCommand:
    handler: TurnHandler
    access: Access


@dataclass
class Wiring:
    menu: list[MenuEntry] = field(default_factory=list)
    flows: dict[str, Flow] = field(default_factory=dict)
    cancel_hooks: dict[str, InputHandler] = field(default_factory=dict)
    deeplinks: dict[str, DeepLinkHandler] = field(default_factory=dict)
    turn_deeplinks: dict[str, TurnDeepLinkHandler] = field(default_factory=dict)
    turn_commands: dict[str, TurnCommand] = field(default_factory=dict)
    turn_start_hooks: list[TurnHandler] = field(default_factory=list)
    # PTB handlers the features' registrations made (commands, Telegram-only steps), in order.
    telegram_handlers: list[BaseHandler[Any, Any, Any]] = field(default_factory=list)
    free_message: list[FreeMessage] = field(default_factory=list)
    start_hooks: list[Handler] = field(default_factory=list)
    buttons: dict[tuple[str, str], ButtonRoute] = field(default_factory=dict)

    # -- registration -------------------------------------------------------------------
    def add_buttons(
        self, feature: str, actions: Mapping[str, ButtonHandler], *, access: Access
    ) -> None:
        """Inline buttons whose data is "<feature>:<action>[:args]" go to actions[action], for
        viewers with access; the router answers the press when the handler does not."""
        for action, handler in actions.items():
            callbacks.make(feature, action)  # fails at start when a name breaks the 64 bytes
            key = (feature, action)
            if key in self.buttons:
                raise ValueError(f"button {feature}:{action} registered twice")
            self.buttons[key] = ButtonRoute(access, handler=handler)

    def add_turn_buttons(
        self, feature: str, actions: Mapping[str, TurnButtonHandler], *, access: Access
    ) -> None:
        """Buttons handled on the seam (`turn.action` says which): they work on every channel."""
        for action, handler in actions.items():
            callbacks.make(feature, action)
            key = (feature, action)
            if key in self.buttons:
                raise ValueError(f"button {feature}:{action} registered twice")
            self.buttons[key] = ButtonRoute(access, turn=handler)

    def add_telegram(self, handler: BaseHandler[Any, Any, Any]) -> None:
        """A handler for something only Telegram has (a shared Telegram contact), installed
        with the features' commands, before the menu and the dialog router."""
        self.telegram_handlers.append(handler)

    def add_menu(
        self, key: str, handler: Handler, *, staff: bool = False, order: int = 100
    ) -> None:
        self.menu.append(MenuEntry(key, handler, staff, order))

    # -- registration on the seam: these run on every channel ----------------------------
    def add_turn_command(self, name: str, handler: TurnHandler, *, access: Access) -> None:
        """/name on every channel (`turn.args`: the words after it), for viewers with access."""
        if name in self.turn_commands:
            raise ValueError(f"command /{name} registered twice")
        self.turn_commands[name] = TurnCommand(handler, access)
        self.telegram_handlers.append(CommandHandler(name, self._command_handler(name)))

    def add_turn_menu(
        self,
        key: str,
        handler: TurnHandler,
        *,
        staff: bool = False,
        members_only: bool = False,
        order: int = 100,
        aliases: tuple[str, ...] = (),
    ) -> None:
        """A main-menu button on every channel: everyone's, staff's (staff=True), or shown to
        members only (members_only=True); aliases are the locale keys of labels it had before."""
        self.menu.append(
            MenuEntry(
                key, None, staff, order, turn=handler, members_only=members_only, aliases=aliases
            )
        )

    def add_turn_deeplink(self, prefix: str, handler: TurnDeepLinkHandler) -> None:
        """A link opening the bot with payload <prefix><rest>: handler(turn, rest)."""
        self.turn_deeplinks[prefix] = handler

    def add_turn_start_hook(self, handler: TurnHandler) -> None:
        """Run after a bound member's start shows the menu, on every channel."""
        self.turn_start_hooks.append(handler)

    async def guarded(self, turn: Turn, access: Access, handler: TurnHandler) -> None:
        """handler(turn) when the viewer has access; the polite refusal otherwise."""
        refusal = access.refusal(turn.viewer)
        if refusal is None:
            await handler(turn)
        elif turn.action is not None:
            await turn.notify(refusal, alert=True)
        else:
            await turn.reply(View.of(refusal))

    def add_flow(
        self, name: str, handler: InputHandler, *, on_cancel: InputHandler | None = None
    ) -> None:
        """Messages from a user whose open dialog is `name` go to handler (Telegram only)."""
        self.flows[name] = Flow(telegram=handler)
        if on_cancel is not None:
            self.cancel_hooks[name] = on_cancel

    def add_turn_flow(
        self, name: str, handler: TurnFlowHandler, *, cancelled: TurnCancelHandler | None = None
    ) -> None:
        """A dialog handled on the seam: its messages reach handler on every channel.
        cancelled: what /cancel says after closing it (by default only that it did: a flow
        whose answers are kept says where)."""
        self.flows[name] = Flow(turn=handler, cancelled=cancelled)

    def add_turn_free_message(self, handler: TurnFreeHandler) -> None:
        """A free-message handler on the seam (every channel); True when it took the message."""
        self.free_message.append(FreeMessage(turn=handler))

    def add_deeplink(self, prefix: str, handler: DeepLinkHandler) -> None:
        """/start <prefix><rest> goes to handler(update, ctx, rest)."""
        self.deeplinks[prefix] = handler

    def add_free_message(self, handler: FreeMessageHandler) -> None:
        """Offered every message outside a dialog; returns True when it took the message."""
        self.free_message.append(FreeMessage(telegram=handler))

    def add_start_hook(self, handler: Handler) -> None:
        """Run after a bound member's /start shows the menu (e.g. "continue your draft?")."""
        self.start_hooks.append(handler)

    # -- use ----------------------------------------------------------------------------
    def keyboard(self, ctx: BotContext) -> ReplyKeyboardMarkup:
        """The main menu for this viewer: members see theirs; staff their tools, and the
        buttons everyone has (at most 8 each, two a row, in registration order)."""
        staff = ctx.viewer is not None and ctx.viewer.is_staff
        labels = [
            ctx.t(e.key)
            for e in sorted(self.menu, key=lambda e: e.order)
            if (not e.members_only if staff else not e.staff_only)
        ]
        rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
        return ReplyKeyboardMarkup(
            [[KeyboardButton(label) for label in row] for row in rows],
            resize_keyboard=True,
            is_persistent=True,
        )

    def install(self, app: Application, texts: Texts) -> None:  # type: ignore[type-arg]
        """Add the menu buttons and the catch-all dialog router; call after every feature."""
        private = filters.ChatType.PRIVATE
        for handler in self.telegram_handlers:
            app.add_handler(handler)
        for entry in self.menu:
            labels = private & filters.Text(entry.labels(texts))
            app.add_handler(MessageHandler(labels, self._menu_handler(entry)))
        app.add_handler(MessageHandler(private & ~filters.COMMAND & ~filters.CONTACT, self.route))
        app.add_handler(MessageHandler(private & filters.COMMAND, self.unknown_command))
        app.add_handler(CallbackQueryHandler(self.on_button))

    def _command_handler(self, name: str) -> Handler:
        command = self.turn_commands[name]

        async def on_telegram(update: Update, ctx: BotContext) -> None:
            await self.guarded(TelegramTurn(update, ctx), command.access, command.handler)

        return on_telegram

    def _menu_handler(self, entry: MenuEntry) -> Handler:
        if entry.handler is not None:
            return (staff_only if entry.staff_only else member_only)(entry.handler)
        turn_handler = entry.turn
        assert turn_handler is not None

        async def on_telegram(update: Update, ctx: BotContext) -> None:
            await self.guarded(TelegramTurn(update, ctx), entry.access, turn_handler)

        return on_telegram

    async def unknown_command(self, update: Update, ctx: BotContext) -> None:
        """A /command no feature knows: say so, with the menu (or how to bind)."""
        if ctx.viewer is None:
            await say(update, ctx, "start.please_bind")
            return
        await say(update, ctx, "common.unknown_command", markup=self.keyboard(ctx))

    async def on_button(self, update: Update, ctx: BotContext) -> None:
        """Every inline button: the registered handler for its action, behind its access check;
        a button no feature claims (stale or forged) gets a pop-up. The press is answered here
        when the handler did not, so no spinner is ever left turning."""
        query = update.callback_query
        if query is None:
            return
        cb = callbacks.parse(query.data)
        route = self.buttons.get((cb.feature, cb.action)) if cb is not None else None
        try:
            if cb is None or route is None:
                await answer_callback(update, ctx, "common.stale_button", alert=True)
            elif route.turn is not None:
                await self.press(TelegramTurn(update, ctx))
            elif route.handler is not None:
                handler = route.handler

                async def press(update: Update, ctx: BotContext) -> Any:
                    return await handler(update, ctx, cb)

                await route.access.guard(press)(update, ctx)
        finally:
            await answer_callback(update, ctx)

    async def press(self, turn: Turn) -> None:
        """A button pressed on any channel: its seam handler, behind its access check."""
        action = turn.action
        route = self.buttons.get((action.feature, action.name)) if action else None
        if route is None or route.turn is None:
            await turn.notify("common.stale_button", alert=True)
            return
        refusal = route.access.refusal(turn.viewer)
        if refusal is not None:
            await turn.notify(refusal, alert=True)
            return
        await route.turn(turn)

    async def route(self, update: Update, ctx: BotContext) -> None:
        """A message that is no button or command: the open dialog's answer, or a free message;
        otherwise how to bind, or the menu."""
        if ctx.account is not None and await self.converse(TelegramTurn(update, ctx)):
            return
        if ctx.viewer is None:
            await say(update, ctx, "start.please_bind")
            return
        await say(update, ctx, "common.not_understood", markup=self.keyboard(ctx))

    async def converse(self, turn: Turn) -> bool:
        """A message on any channel: the open dialog's answer, or a free message a feature
        takes; False when nothing took it (the channel says what the member can do)."""
        if not isinstance(turn, TelegramTurn) and await self._command_or_menu(turn):
            return True  # (Telegram's commands and menu buttons have handlers of their own)
        dialog = turn.dialog
        if dialog is not None:
            timeout = timedelta(minutes=turn.runtime.settings.dialog_timeout_minutes)
            flow = self.flows.get(dialog.flow)
            if flow is not None and flow.runs_on(turn) and not dialog.expired(timeout, turn.now()):
                await flow.run(turn, dialog)
                return True
            await turn.close_dialog()
            if flow is not None:
                await turn.reply(View.of("common.dialog_expired"))
        for free in self.free_message:
            if await free.offer(turn):
                return True
        return False

    async def _command_or_menu(self, turn: Turn) -> bool:
        """On channels without command or menu handlers of their own: "/name args" runs the
        command, a main-menu label runs its entry."""
        text = (turn.text or "").strip()
        if text.startswith("/"):
            name = text[1:].split(maxsplit=1)[0].lower() if len(text) > 1 else ""
            command = self.turn_commands.get(name)
            if command is not None:
                await self.guarded(turn, command.access, command.handler)
                return True
        for entry in self.menu:
            if entry.turn is not None and entry.matches(turn.runtime.texts, text):
                await self.guarded(turn, entry.access, entry.turn)
                return True
        return False

    async def cancel(self, turn: Turn) -> Text | None:
        """Close the open dialog on any channel (drafts stay); what to tell the member, or None
        when there was none."""
        dialog = turn.dialog
        if dialog is None:
            return None
        await turn.close_dialog()
        hook = self.cancel_hooks.get(dialog.flow)
        if hook is not None and isinstance(turn, TelegramTurn):
            await hook(turn.update, turn.ctx, dialog)
        flow = self.flows.get(dialog.flow)
        if flow is not None and flow.cancelled is not None and turn.viewer is not None:
            return await flow.cancelled(turn, dialog)
        return Text("common.cancelled")

    async def run_start_hooks(self, turn: Turn) -> None:
        """After a bound member's start shows the menu: every feature's hook (the Telegram-only
        ones on Telegram)."""
        if isinstance(turn, TelegramTurn):
            for hook in self.start_hooks:
                await hook(turn.update, turn.ctx)
        for turn_hook in self.turn_start_hooks:
            await turn_hook(turn)

    def link_prefix(self, payload: str) -> str | None:
        """The registered deep-link prefix that payload starts with, if any."""
        prefixes = (*self.deeplinks, *self.turn_deeplinks)
        return next((prefix for prefix in prefixes if payload.startswith(prefix)), None)

    async def follow_link(self, turn: Turn, prefix: str, rest: str) -> bool:
        """The handler of a deep link; False when it runs only on Telegram and turn is not."""
        if prefix in self.turn_deeplinks:
            await self.turn_deeplinks[prefix](turn, rest)
        elif isinstance(turn, TelegramTurn):
            await self.deeplinks[prefix](turn.update, turn.ctx, rest)
        else:
            return False
        return True


async def open_dialog(
    update: Update, ctx: BotContext, flow: str, step: str, data: dict[str, Any] | None = None
) -> Dialog:
    """Start or move the viewer's dialog; the next free message goes to flow."""
    async with ctx.db.transaction() as session:
        ctx.dialog = await dialogs.set(session, ctx.speaker.key, flow, step, data, now=ctx.now())
    return ctx.dialog


async def close_dialog(update: Update, ctx: BotContext) -> None:
    if ctx.account is None:
        return
    async with ctx.db.transaction() as session:
        await dialogs.clear(session, ctx.account.key)
    ctx.dialog = None
