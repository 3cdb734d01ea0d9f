"""The Telegram adapter and renderer of the channel seam.

Views become Telegram HTML with an inline keyboard whose callback data is the encoded action;
a button press is acknowledged with Telegram's pop-up. The Update and the per-update context
stay reachable (`update`, `ctx`) for the flows not yet written against the seam.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.context import BotContext
from handlers.channel.render import body_of, labels_of
from handlers.channel.turn import Turn
from handlers.channel.views import Action, View
from handlers.replies import answer_callback, inline, say, send_text


def render(ctx: BotContext, view: View) -> tuple[str, InlineKeyboardMarkup | None]:
    """A view as Telegram HTML and its inline keyboard, in the viewer's language."""
    text = body_of(ctx.texts, ctx.locale, view, html=True)
    rows = labels_of(ctx.texts, ctx.locale, view)
    return text, inline(rows) if rows else None


class TelegramTurn(Turn):
    def __init__(self, update: Update, ctx: BotContext) -> None:
        message = update.effective_message
        query = update.callback_query
        super().__init__(
            ctx.runtime,
            ctx.speaker,
            viewer=ctx.viewer,
            dialog=ctx.dialog,
            locale=ctx.locale,
            text=(message.text or message.caption) if message and not query else None,
            action=Action.decode(query.data) if query else None,
        )
        self.update = update
        self.ctx = ctx

    async def reply(self, view: View) -> None:
        text, markup = render(self.ctx, view)
        await send_text(self.update, self.ctx, text, markup=markup)

    async def notify(self, key: str, /, *, alert: bool = False, **params: Any) -> None:
        if self.update.callback_query is not None:
            await answer_callback(self.update, self.ctx, key, alert=alert, **params)
        else:
            await say(self.update, self.ctx, key, **params)

    async def open_dialog(self, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
        await super().open_dialog(flow, step, data)
        self.ctx.dialog = self.dialog

    async def close_dialog(self) -> None:
        await super().close_dialog()
        self.ctx.dialog = None
