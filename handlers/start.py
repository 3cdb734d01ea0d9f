"""/start: binding a Telegram account to the roster (contact or invite link), deep links, menu."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import Application, MessageHandler, filters

from bot.context import BotContext
from handlers.channel.telegram import TelegramTurn
from handlers.replies import say
from handlers.wiring import Access, Wiring
from storage import bindings
from storage.members import INVITE_PREFIX, BindOutcome, BindResult

log = logging.getLogger(__name__)


async def show_menu(
    update: Update, ctx: BotContext, key: str = "start.menu", **params: str
) -> None:
    await say(update, ctx, key, markup=ctx.wiring.keyboard(ctx), **params)


async def start(update: Update, ctx: BotContext) -> None:
    """/start [payload]: deep links first; bound members get the menu, others are asked to bind."""
    payload = ctx.args[0] if ctx.args else ""
    if payload.startswith(INVITE_PREFIX):
        await _redeem_invite(update, ctx, payload)
        return
    wiring = ctx.wiring
    for prefix in (*wiring.deeplinks, *wiring.turn_deeplinks):
        if payload.startswith(prefix):
            if ctx.viewer is None:
                await ask_contact(update, ctx)
                return
            rest = payload.removeprefix(prefix)
            if prefix in wiring.turn_deeplinks:
                await wiring.turn_deeplinks[prefix](TelegramTurn(update, ctx), rest)
            else:
                await wiring.deeplinks[prefix](update, ctx, rest)
            return
    if ctx.viewer is not None:
        await show_menu(update, ctx, "start.welcome_back", name=ctx.viewer.name)
        for hook in wiring.start_hooks:
            await hook(update, ctx)
        for turn_hook in wiring.turn_start_hooks:
            await turn_hook(TelegramTurn(update, ctx))
        return
    await ask_contact(update, ctx)


async def ask_contact(update: Update, ctx: BotContext) -> None:
    button = KeyboardButton(ctx.t("start.share_contact_button"), request_contact=True)
    markup = ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
    await say(update, ctx, "start.ask_contact", markup=markup)


async def contact(update: Update, ctx: BotContext) -> None:
    """A shared contact: only the sender's own number binds."""
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or message.contact is None or user is None or chat is None:
        return
    if message.contact.user_id != user.id:
        await say(update, ctx, "start.contact_not_own")
        return
    if ctx.viewer is not None:
        await show_menu(update, ctx, "start.welcome_back", name=ctx.viewer.name)
        return
    async with ctx.db.transaction() as session:
        result = await bindings.bind_by_contact(
            session,
            account=ctx.speaker,
            phone=message.contact.phone_number,
            now=ctx.now(),
            office=ctx.settings.office_contact,
        )
    await _after_bind(update, ctx, result)


async def _redeem_invite(update: Update, ctx: BotContext, code: str) -> None:
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    async with ctx.db.transaction() as session:
        result = await bindings.redeem_invite(
            session,
            code=code,
            account=ctx.speaker,
            now=ctx.now(),
            office=ctx.settings.office_contact,
            ttl=timedelta(days=ctx.settings.invite_ttl_days),
        )
    await _after_bind(update, ctx, result)


async def _after_bind(update: Update, ctx: BotContext, result: BindResult) -> None:
    if result.ok and result.member is not None:
        ctx.viewer = result.member
        if result.member.locale:
            ctx.locale = ctx.texts.resolve(result.member.locale)
        log.info("member %s bound (%s)", result.member.id, result.outcome.value)
        await show_menu(update, ctx, "start.bound", name=result.member.name)
        return
    if result.outcome is BindOutcome.move_requested:
        # Staff (and the account bound now) were told in the same transaction.
        ctx.runtime.outbox_signal()
        log.info(
            "binding request %s for member %s",
            result.request_id,
            result.member and result.member.id,
        )
    key = {
        BindOutcome.move_requested: "binding.requested",
        BindOutcome.move_pending: "binding.still_pending",
        BindOutcome.expired_code: "start.expired_code",
        BindOutcome.not_on_roster: "start.not_on_roster",
        BindOutcome.bad_phone: "start.not_on_roster",
        BindOutcome.taken: "start.taken",
        BindOutcome.other_member: "start.other_member",
        BindOutcome.invalid_code: "start.invalid_code",
        BindOutcome.used_code: "start.used_code",
    }[result.outcome]
    await say(
        update,
        ctx,
        key,
        office=ctx.settings.office_contact,
        days=ctx.settings.invite_ttl_days,
        markup=ReplyKeyboardRemove(),
    )


async def menu(update: Update, ctx: BotContext) -> None:
    """/menu: the main menu again."""
    if ctx.viewer is None:
        await ask_contact(update, ctx)
        return
    await show_menu(update, ctx)


async def cancel(update: Update, ctx: BotContext) -> None:
    """/cancel: leave the open step; what was typed stays in the draft."""
    had_dialog = await ctx.wiring.cancel(update, ctx)
    if ctx.viewer is None:
        await say(update, ctx, "common.cancelled_nothing")
        return
    await show_menu(update, ctx, "common.cancelled" if had_dialog else "common.cancelled_nothing")


async def help_command(update: Update, ctx: BotContext) -> None:
    """/help: what the bot does and how to reach the office."""
    key = "start.help_staff" if ctx.viewer is not None and ctx.viewer.is_staff else "start.help"
    await say(update, ctx, key, office=ctx.settings.office_contact)


def register(app: Application, wiring: Wiring) -> None:  # type: ignore[type-arg]
    # Anyone, bound or not; groups never get this far (handlers.identity answers them).
    wiring.add_command(app, "start", start, access=Access.anyone)
    wiring.add_command(app, "menu", menu, access=Access.anyone)
    wiring.add_command(app, "cancel", cancel, access=Access.anyone)
    wiring.add_command(app, "help", help_command, access=Access.anyone)
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.CONTACT, contact))
