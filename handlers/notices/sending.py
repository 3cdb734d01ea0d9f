"""The last steps of composing and what follows: the acknowledgement question (received,
options, none), the preview with the recipient count, send now or at a typed time, discard;
then cancelling a notice being sent or scheduled, and resending the failed messages."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.channels import TELEGRAM, chat_of, telegram_address
from bot.context import BotContext
from bot.i18n import Markup
from handlers.callbacks import Callback
from handlers.notices import progress
from handlers.notices.common import (
    FLOW,
    ack_data,
    cb,
    enum_arg,
    explain,
    local,
    member_markup,
    send_notice_copy,
    stale,
)
from handlers.replies import answer_callback, inline, say, send_text
from handlers.wiring import close_dialog, open_dialog
from storage import notices
from storage.models import AckMode, NoticeStatus
from storage.notices import NoticeView, Problem

log = logging.getLogger(__name__)


# -- acknowledgement and preview --------------------------------------------------------------


async def ask_ack(update: Update, ctx: BotContext, notice_id: int) -> None:
    await open_dialog(update, ctx, FLOW, "ack", {"id": notice_id})
    markup = inline(
        [
            [(ctx.t(f"notices.ack_{mode.value}"), cb("ack_mode", notice_id, mode.value))]
            for mode in AckMode
        ]
    )
    await say(update, ctx, "notices.ask_ack", markup=markup)


async def choose_ack(update: Update, ctx: BotContext, data: Callback) -> None:
    """How members answer: "received", options (typed next), or no acknowledgement."""
    notice_id, mode = data.int_arg(0), enum_arg(data, 1, AckMode)
    if notice_id is None or mode is None:
        await stale(update, ctx)
        return
    if mode is AckMode.options:
        async with ctx.db.transaction() as session:
            draft = await notices.get(session, ctx.member, notice_id)
        if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
            await explain(update, ctx, Problem.not_draft)
            return
        await open_dialog(update, ctx, FLOW, "options", {"id": notice_id})
        await say(update, ctx, "notices.ask_options", max=notices.MAX_OPTION_CHARS)
        return
    async with ctx.db.transaction() as session:
        view = await notices.set_ack(session, ctx.member, notice_id, mode)
    if isinstance(view, Problem):
        await explain(update, ctx, view)
        return
    await _preview(update, ctx, view)


async def take_options(update: Update, ctx: BotContext, notice_id: int, message: Message) -> None:
    lines = (message.text or "").splitlines()
    async with ctx.db.transaction() as session:
        view = await notices.set_ack(session, ctx.member, notice_id, AckMode.options, lines)
    if isinstance(view, Problem):
        await explain(update, ctx, view)
        return
    await _preview(update, ctx, view)


async def _preview(update: Update, ctx: BotContext, view: NoticeView) -> None:
    await close_dialog(update, ctx)
    async with ctx.db.transaction() as session:
        count = await notices.count_audience(session, view.id)
    await say(update, ctx, "notices.preview_header")
    text = ctx.t(notices.message_template(view), body=Markup(view.body))
    await send_notice_copy(
        update, ctx, view, text, member_markup(ctx, view, lambda n, o: cb("preview", n))
    )
    if view.ack_mode is AckMode.options:
        ack = ctx.t("notices.ack_desc_options", options=" / ".join(view.ack_options))
    else:
        ack = ctx.t(f"notices.ack_desc_{view.ack_mode.value}")
    not_bound = ctx.t("notices.not_bound_part", count=count.not_bound) if count.not_bound else ""
    markup = inline(
        [
            [
                (ctx.t("notices.send_now_button"), cb("send_now", view.id)),
                (ctx.t("notices.schedule_button"), cb("schedule", view.id)),
            ],
            [(ctx.t("notices.change_audience_button"), cb("change_audience", view.id))],
            [(ctx.t("notices.discard_button"), cb("discard", view.id))],
        ]
    )
    await say(
        update,
        ctx,
        "notices.preview_summary",
        count=count.recipients,
        not_bound=not_bound,
        ack=ack,
        markup=markup,
    )


async def preview_only(update: Update, ctx: BotContext, data: Callback) -> None:
    """An acknowledgement button on the preview: it does nothing, and says so."""
    await answer_callback(update, ctx, "notices.preview_only")


# -- send now, later, or discard ----------------------------------------------------------------


async def send_now(update: Update, ctx: BotContext, data: Callback) -> None:
    """🚀: every recipient's message goes into the outbox; a progress message follows it."""
    notice_id = data.int_arg(0)
    if notice_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction(bulk=True) as session:
        view = await notices.queue(session, ctx.member, notice_id, now=ctx.now(), ack_data=ack_data)
    if isinstance(view, Problem):
        await explain(update, ctx, view)
        return
    await close_dialog(update, ctx)
    ctx.runtime.outbox_signal()
    text = progress.render_starting(ctx.texts, ctx.locale, view)
    sent = await send_text(update, ctx, text, markup=_cancel_markup(ctx, view.id))
    if sent is not None:
        async with ctx.db.transaction() as session:
            await notices.set_progress_message(
                session, view.id, telegram_address(sent.chat_id), str(sent.message_id)
            )


def _cancel_markup(ctx: BotContext, notice_id: int) -> InlineKeyboardMarkup:
    return inline([[(ctx.t("notices.cancel_button"), cb("cancel", notice_id))]])


def _example_time(ctx: BotContext) -> str:
    tomorrow = (ctx.now().astimezone(ctx.settings.tz) + timedelta(days=1)).replace(hour=9, minute=0)
    return tomorrow.strftime("%Y-%m-%d %H:%M")


async def ask_time(update: Update, ctx: BotContext, data: Callback) -> None:
    """🕘: ask when to send."""
    notice_id = data.int_arg(0)
    if notice_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        draft = await notices.get(session, ctx.member, notice_id)
    if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
        await explain(update, ctx, Problem.not_draft)
        return
    await open_dialog(update, ctx, FLOW, "time", {"id": notice_id})
    await say(update, ctx, "notices.ask_time", tz=ctx.settings.timezone, example=_example_time(ctx))


def _formats(ctx: BotContext, key: str) -> list[str]:
    """The strptime formats of key in every language (locale files, one a line)."""
    found: dict[str, None] = {}
    for value in ctx.texts.all_variants(key):
        found.update((line.strip(), None) for line in value.splitlines() if line.strip())
    return list(found)


def parse_time(text: str, now: datetime, ctx: BotContext) -> datetime | None:
    """A local time typed by staff ("2026-11-26 09:00", "11-26 9:00") as an aware UTC time."""
    cleaned = re.sub(r"\s+", " ", text.strip().replace("：", ":"))
    tz = ctx.settings.tz
    for fmt in _formats(ctx, "notices.time_formats"):
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    local_now = now.astimezone(tz)
    for fmt in _formats(ctx, "notices.short_time_formats"):
        try:
            # strptime needs a year for month-day forms; this year, or next when already past.
            moment = datetime.strptime(f"{local_now.year} {cleaned}", f"%Y {fmt}")
        except ValueError:
            continue
        moment = moment.replace(tzinfo=tz)
        return moment if moment > local_now else moment.replace(year=moment.year + 1)
    return None


async def take_time(update: Update, ctx: BotContext, notice_id: int, message: Message) -> None:
    at = parse_time(message.text or "", ctx.now(), ctx)
    if at is None:
        await say(update, ctx, "notices.bad_time", example=_example_time(ctx))
        return
    async with ctx.db.transaction(bulk=True) as session:
        view = await notices.queue(
            session, ctx.member, notice_id, now=ctx.now(), ack_data=ack_data, at=at
        )
    if isinstance(view, Problem):
        await explain(update, ctx, view)
        return
    await close_dialog(update, ctx)
    ctx.runtime.outbox_signal()
    sent = await say(
        update,
        ctx,
        "notices.scheduled",
        id=view.id,
        at=local(ctx, at),
        count=view.recipient_count,
        markup=_cancel_markup(ctx, view.id),
    )
    if sent is not None:
        async with ctx.db.transaction() as session:
            await notices.set_progress_message(
                session, view.id, telegram_address(sent.chat_id), str(sent.message_id)
            )


async def discard(update: Update, ctx: BotContext, data: Callback) -> None:
    """🗑: the draft is deleted."""
    notice_id = data.int_arg(0)
    if notice_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        problem = await notices.discard_draft(session, ctx.member, notice_id)
    if problem is not None:
        await explain(update, ctx, problem)
        return
    await close_dialog(update, ctx)
    await say(update, ctx, "notices.discarded")


# -- after sending: cancel, resend the failed -------------------------------------------------


async def cancel(update: Update, ctx: BotContext, data: Callback) -> None:
    """Stop a notice being sent or scheduled: what has not gone out yet never will."""
    notice_id = data.int_arg(0)
    if notice_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        result = await notices.cancel(session, ctx.member, notice_id, now=ctx.now())
    if isinstance(result, Problem):
        await explain(update, ctx, result)
        return
    view, stopped = result
    ctx.runtime.outbox_signal()  # the worker drops rows it already holds for this notice
    at, message_id = view.progress_at, view.progress_message_id
    if at is not None and at.channel == TELEGRAM and message_id:
        author_text = ctx.t("notices.progress_cancelled", id=view.id, stopped=stopped)
        try:
            await ctx.bot.edit_message_text(
                author_text, chat_id=chat_of(at.address), message_id=int(message_id)
            )
        except BadRequest:
            log.debug("progress message of notice %s could not be edited", view.id)
    await say(update, ctx, "notices.cancelled", id=view.id, n=stopped)


async def resend_failed(update: Update, ctx: BotContext, data: Callback) -> None:
    """🔁 on the statistics card: the failed messages are queued again."""
    notice_id = data.int_arg(0)
    if notice_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        result = await notices.resend_failed(session, ctx.member, notice_id, now=ctx.now())
    if isinstance(result, Problem):
        await explain(update, ctx, result)
        return
    ctx.runtime.outbox_signal()
    await say(update, ctx, "notices.resent_failed", id=notice_id, n=result)
