"""Who is this user: resolved once per update, before any feature handler runs (group -1)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.channels import telegram_account
from bot.context import BotContext
from handlers.guards import outside_private_chat
from storage import members

IDENTITY_GROUP = -1


async def resolve_viewer(update: Update, ctx: BotContext) -> None:
    """Drop redelivered updates; load the bound member, their language and open dialog step."""
    user = update.effective_user
    if not await ctx.runtime.claims.claim(update.update_id):
        ctx.runtime.redeliveries.add()
        raise ApplicationHandlerStop
    # Groups get at most "write to me privately", before anything is looked up (an admin's
    # first message in a group must not record the group as the admin's chat).
    ctx.locale = _locale_from_telegram(ctx, user.language_code if user else None)
    if await outside_private_chat(update, ctx):
        raise ApplicationHandlerStop
    if user is None:
        return
    chat = update.effective_chat
    ctx.account = telegram_account(user.id, chat.id if chat else None)
    async with ctx.db.read() as session:
        viewer, ctx.dialog = await members.who(session, ctx.account)
    if viewer is None and user.id in ctx.settings.admin_ids and chat is not None:
        async with ctx.db.transaction() as session:
            viewer = await members.ensure_bootstrap_admin(
                session, account=ctx.account, name=user.full_name
            )
    ctx.viewer = viewer
    ctx.locale = ctx.texts.resolve(viewer.locale if viewer and viewer.locale else None)
    if viewer is None or viewer.locale is None:
        ctx.locale = _locale_from_telegram(ctx, user.language_code)


def _locale_from_telegram(ctx: BotContext, language_code: str | None) -> str:
    """Before a member chooses, follow the phone's language when we have it, else the default."""
    if language_code and language_code.lower().startswith("en"):
        return "en"
    return ctx.settings.default_locale


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(TypeHandler(Update, resolve_viewer), group=IDENTITY_GROUP)
