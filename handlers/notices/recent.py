"""Staff looking back: 📋 / /notices lists the latest notices; each opens its statistics card
(delivery and acknowledgement counts, with buttons for the lists, the export, a reminder to
the silent ones, resending the failed and cancelling), which refreshes in place."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import Markup
from handlers.callbacks import Callback
from handlers.notices.common import ack_data, cb, explain, first_line, local, stale
from handlers.replies import edit_or_send, inline, say, send_text
from storage import notices
from storage.models import AckMode, NoticeStatus
from storage.notices import Category, Problem


async def recent(update: Update, ctx: BotContext) -> None:
    """📋 / /notices: the latest notices, each opening its statistics."""
    async with ctx.db.transaction() as session:
        items = await notices.recent(session, ctx.member)
    if not items:
        await say(update, ctx, "notices.recent_empty")
        return
    rows = []
    for view in items:
        when = local(ctx, view.scheduled_at or view.queued_at)
        label = ctx.t(
            "notices.recent_line",
            id=view.id,
            when=when,
            status=ctx.t(f"notices.status_{view.status.value}"),
        )
        rows.append([(f"{label} {first_line(view.body, 16)}", cb("stats", view.id))])
    await say(update, ctx, "notices.recent_title", markup=inline(rows))


async def open_stats(update: Update, ctx: BotContext, data: Callback) -> None:
    """The statistics card, as a new message."""
    await _stats(update, ctx, data, edit=False)


async def refresh_stats(update: Update, ctx: BotContext, data: Callback) -> None:
    """🔄 on the card: the same card, counted again, in place."""
    await _stats(update, ctx, data, edit=True)


async def _stats(update: Update, ctx: BotContext, data: Callback, *, edit: bool) -> None:
    notice_id = data.int_arg(0)
    if notice_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        view = await notices.get(session, ctx.member, notice_id)
        if isinstance(view, Problem):
            await explain(update, ctx, view)
            return
        stats = await notices.stats(session, notice_id)
    ack_part = ""
    if view.asks_ack:
        ack_part = ctx.t("notices.stats_ack", acked=stats.acknowledged, silent=stats.silent)
        if view.ack_mode is AckMode.options:
            for index, label in enumerate(view.ack_options):
                n = stats.by_option[index] if index < len(stats.by_option) else 0
                ack_part += ctx.t("notices.stats_option", label=label, n=n)
    if view.status is NoticeStatus.scheduled:
        when = ctx.t("notices.stats_when_scheduled", at=local(ctx, view.scheduled_at))
    else:
        when = ctx.t("notices.stats_when_sent", at=local(ctx, view.scheduled_at or view.queued_at))
    text = ctx.t(
        "notices.stats",
        id=view.id,
        status=ctx.t(f"notices.status_{view.status.value}"),
        when=when,
        total=stats.total,
        delivered=stats.delivered,
        waiting=stats.waiting,
        failed=stats.failed,
        unreachable=stats.unreachable,
        cancelled=stats.cancelled,
        ack_part=Markup(ack_part),  # joined from texts above
        first=first_line(view.body, 60),
    )
    categories = [Category.silent, Category.acknowledged] if view.asks_ack else []
    categories += [Category.delivered] if not view.asks_ack else []
    categories += [Category.unreachable, Category.failed, Category.waiting]
    buttons = [
        (ctx.t(f"notices.category_{c.value}"), cb("list", view.id, c.value)) for c in categories
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(ctx.t("notices.export_button"), cb("export", view.id))])
    if (
        view.asks_ack
        and (stats.silent or stats.failed)
        and view.status is not NoticeStatus.cancelled
    ):
        rows.append([(ctx.t("notices.remind_button"), cb("remind", view.id))])
    if stats.failed and view.status in (NoticeStatus.sending, NoticeStatus.done):
        rows.append(
            [(ctx.t("notices.resend_failed_button", n=stats.failed), cb("resend_failed", view.id))]
        )
    if view.status in notices.OPEN:
        rows.append([(ctx.t("notices.cancel_button"), cb("cancel", view.id))])
    rows.append([(ctx.t("notices.refresh_button"), cb("refresh_stats", view.id))])
    if edit:
        await edit_or_send(update, ctx, text, markup=inline(rows))
    else:
        await send_text(update, ctx, text, markup=inline(rows))


async def remind(update: Update, ctx: BotContext, data: Callback) -> None:
    """🔔 on the card: the silent recipients get the notice's buttons again."""
    notice_id = data.int_arg(0)
    if notice_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction(bulk=True) as session:
        result = await notices.remind(
            session, ctx.member, notice_id, now=ctx.now(), ack_data=ack_data
        )
    if isinstance(result, Problem):
        await explain(update, ctx, result)
        return
    ctx.runtime.outbox_signal()
    await say(update, ctx, "notices.reminded", n=result)
