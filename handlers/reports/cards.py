"""A report as the member and staff see it: its card (title, facts, the three sections, files),
its history, labels of categories and statuses, and sending a long card as several messages.

Shared by the member side and the staff side; the callback data prefixes of both live here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import Message, Update

from bot.context import BotContext
from bot.i18n import escape
from bot.telegram_text import MAX_TEXT_LENGTH, split_html, truncate_html, visible_len
from handlers import callbacks
from handlers.replies import Markup, answer_callback, send_text
from handlers.reports.files import limits_of
from storage.models import ReportStatus
from storage.reports import SECTIONS, Limits, ReportView

FEATURE = "rep"  # the member's buttons: rep:<action>[:<report id>...]
REVIEW_FEATURE = "rrv"  # staff buttons (short: a search filter rides in the data)
OPEN = "open"  # a member's "open this report", also on the review decisions sent to them
# Telegram's limit: visible text (tags take no room) in UTF-16 units (an emoji counts 2).
MESSAGE_LIMIT = MAX_TEXT_LENGTH


def limits(ctx: BotContext) -> Limits:
    return limits_of(ctx.settings)


def category_label(ctx: BotContext, key: str | None) -> str:
    """A configured category: translated when the locale knows it, else shown as configured."""
    if not key:
        return ctx.t("reports.empty_value")
    locale_key = f"reports.category.{key}"
    return ctx.t(locale_key) if ctx.texts.has(locale_key) else key


def status_label(ctx: BotContext, status: ReportStatus) -> str:
    return ctx.t(f"reports.status.{status.value}")


def local_time(ctx: BotContext, moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(ctx.settings.tz).strftime("%Y-%m-%d %H:%M")


def title(ctx: BotContext, view: ReportView) -> str:
    return view.title if view.title else ctx.t("reports.untitled")


def report_blocks(ctx: BotContext, view: ReportView, *, staff: bool = False) -> list[str]:
    """The whole report as HTML blocks: title, facts, the three sections, files."""
    none = ctx.t("reports.empty_value")
    sep = ctx.t("reports.list_sep")
    facts = []
    if view.receipt_no:
        facts.append(ctx.t("reports.meta.receipt", receipt=view.receipt_no))
    status = status_label(ctx, view.status) + (" ⭐" if view.excellent else "")
    facts.append(ctx.t("reports.meta.status", status=status))
    facts.append(ctx.t("reports.meta.category", category=category_label(ctx, view.category)))
    if staff:
        facts.append(
            ctx.t(
                "reports.meta.author",
                name=view.author_name,
                sector=view.author_sector or "-",
            )
        )
    if view.submitted_at is not None:
        facts.append(ctx.t("reports.meta.submitted", time=local_time(ctx, view.submitted_at)))
    if view.coauthors:
        names = sep.join(p.name for p in view.coauthors)
        facts.append(ctx.t("reports.meta.coauthors", names=names))
    blocks = [f"📝 <b>{escape(view.title) if view.title else none}</b>", "\n".join(facts)]
    for name in SECTIONS:
        value = view.value(name)
        label = ctx.t(f"reports.label.{name}")
        blocks.append(f"<b>{label}</b>\n{escape(value) if value else none}")
    if view.attachments:
        names = sep.join(a.file_name for a in view.attachments)
        blocks.append(ctx.t("reports.meta.attachments", count=len(view.attachments), names=names))
    return blocks


def history_blocks(ctx: BotContext, view: ReportView, *, staff: bool = False) -> list[str]:
    """Each status change with its time and what staff wrote; the latest feedback first."""
    blocks = []
    feedback = view.latest_feedback
    if feedback is not None and feedback.note:
        blocks.append(ctx.t("reports.feedback", note=feedback.note))
    lines = [ctx.t("reports.history_title")]
    for event in view.events:
        line = ctx.t(
            "reports.history_line",
            time=local_time(ctx, event.at),
            action=ctx.t(f"reports.history.{event.action}"),
        )
        if staff and event.actor_name:
            line += ctx.t("reports.history_by_staff", name=event.actor_name)
        if event.instructed_by:
            line += "\n" + ctx.t("reports.history_instructed_by", name=event.instructed_by)
        if event.note:
            line += "\n" + ctx.t("reports.history_note", note=event.note)
        lines.append(line)
    if view.events:
        blocks.append("\n".join(lines))
    return blocks


def pack(blocks: list[str], *, shorten: bool = False) -> list[str]:
    """Blocks joined into as few messages as fit under Telegram's length limit (visible text,
    UTF-16 units). A block longer than a message is cut into several, or with ``shorten``
    shortened with an ellipsis (a preview stays short and its buttons always arrive)."""
    messages: list[str] = []
    current, used = "", 0
    for block in blocks:
        if shorten:
            pieces = [truncate_html(block, MESSAGE_LIMIT)]
        else:
            pieces = split_html(block, MESSAGE_LIMIT)
        for piece in pieces:
            width = visible_len(piece)
            if current and used + 2 + width > MESSAGE_LIMIT:  # 2: the blank line between
                messages.append(current)
                current, used = "", 0
            current, used = (
                (f"{current}\n\n{piece}", used + 2 + width) if current else (piece, width)
            )
    if current:
        messages.append(current)
    return messages


async def send_blocks(
    update: Update,
    ctx: BotContext,
    blocks: list[str],
    *,
    markup: Markup = None,
    shorten: bool = False,
) -> Message | None:
    """Send blocks as one or more messages; the buttons go on the last one."""
    messages = pack(blocks, shorten=shorten)
    last: Message | None = None
    for index, text in enumerate(messages):
        is_last = index == len(messages) - 1
        last = await send_text(update, ctx, text, markup=markup if is_last else None)
    return last


def button(ctx: BotContext, key: str, action: str, *args: object, **params: Any) -> tuple[str, str]:
    """A member's button (rep:...)."""
    # A label is plain text (Telegram does not parse HTML on buttons): names go in as typed.
    return ctx.plain(key, **params), callbacks.make(FEATURE, action, *args)


def open_data(report_id: int) -> str:
    """The data of a member's "open this report" button."""
    return callbacks.make(FEATURE, OPEN, report_id)


def staff_button(ctx: BotContext, key: str, action: str, *args: object) -> tuple[str, str]:
    """A staff button (rrv:...)."""
    return ctx.t(key), callbacks.make(REVIEW_FEATURE, action, *args)


async def refuse(
    update: Update, ctx: BotContext, key: str = "common.stale_button", **params: Any
) -> None:
    """The pop-up for a button that did nothing: stale, forged, or not allowed now."""
    await answer_callback(update, ctx, key, alert=True, **params)
