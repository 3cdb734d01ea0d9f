"""The member's draft in the guided dialog: asking each question, moving to the next one, the
preview with its buttons, and "continue your draft?".

Every answer is written to the draft the moment it arrives (storage.reports); the dialog only
remembers which question is open.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.context import BotContext
from bot.telegram_text import truncate_utf16
from handlers import callbacks
from handlers.callbacks import Callback
from handlers.replies import inline, say, send_text
from handlers.reports.cards import (
    FEATURE,
    button,
    category_label,
    limits,
    local_time,
    refuse,
    report_blocks,
    send_blocks,
    title,
)
from handlers.wiring import open_dialog
from storage import reports
from storage.reports import FIELDS, Outcome, ReportView

FLOW = "report"
QUICK_FLOW = "report_quick"
ATTACH_STEP = "attachments"
COAUTHOR_STEP = "coauthor"
PREVIEW_STEP = "preview"
# A section shown while it is being edited, so the question around it still fits a message.
CURRENT_VALUE_LIMIT = 3000


async def open_draft(ctx: BotContext) -> ReportView | None:
    """The member's open draft, if any."""
    async with ctx.db.read() as session:
        return await reports.open_draft(session, ctx.member.id)


async def checked_draft(
    update: Update, ctx: BotContext, cb: Callback, *, say_not_editable: bool = False
) -> ReportView | None:
    """The draft a button points at, if it still is this member's open draft; else the press
    is answered with why not (and None returned)."""
    report_id = cb.int_arg(0)
    if report_id is None:
        await refuse(update, ctx)
        return None
    async with ctx.db.transaction() as session:
        result = await reports.editable_draft(session, ctx.member.id, report_id)
    if result.outcome is Outcome.not_editable:
        if say_not_editable:
            await say(update, ctx, "reports.not_editable")
        await refuse(update, ctx, "reports.not_editable")
        return None
    if not result.ok or result.report is None:
        await refuse(update, ctx)
        return None
    return result.report


async def ask(
    update: Update,
    ctx: BotContext,
    step: str,
    view: ReportView | None,
    *,
    edit: bool = False,
    repeat: str | None = None,
) -> None:
    """Open the dialog at step and ask its question (showing the current text when editing).

    repeat: the fingerprint of an answer the member may send again to have it stored."""
    data: dict[str, Any] = {"edit": edit}
    if repeat is not None:
        data["repeat"] = repeat
    await open_dialog(update, ctx, FLOW, step, data)
    lim = limits(ctx)
    if step == "category":
        names = ctx.settings.report_categories
        labels = [
            (category_label(ctx, name), callbacks.make(FEATURE, "category", index))
            for index, name in enumerate(names)
        ]
        rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
        await say(update, ctx, "reports.ask.category", markup=inline(rows))
        return
    if step == ATTACH_STEP:
        rows = [[button(ctx, "reports.btn.done", "done")]]
        if view is not None and view.attachments:
            rows.append([button(ctx, "reports.btn.remove_attachments", "remove_files")])
        await say(
            update,
            ctx,
            "reports.ask.attachments",
            markup=inline(rows),
            count=len(view.attachments) if view else 0,
            max=lim.max_attachments,
            mb=ctx.settings.report_max_attachment_mb,
            types=", ".join(ctx.settings.report_attachment_types),
        )
        return
    text = ctx.t(f"reports.ask.{step}", limit=lim.for_field(step))
    current = view.value(step) if view is not None else None
    if edit and current:
        value = truncate_utf16(current, CURRENT_VALUE_LIMIT)
        text += "\n\n" + ctx.t("reports.current_value", value=value)
    await send_text(update, ctx, text)


def next_step(view: ReportView, answered: str, edit: bool) -> str:
    """After an answer: back to the preview when editing, else the next empty field; the
    guided sequence offers attachments once the text is complete."""
    if edit:
        return PREVIEW_STEP
    if view.missing:
        return view.missing[0]
    if answered in FIELDS and not view.attachments:
        return ATTACH_STEP
    return PREVIEW_STEP


async def go(update: Update, ctx: BotContext, step: str, view: ReportView) -> None:
    if step == PREVIEW_STEP:
        await show_preview(update, ctx, view)
    else:
        await ask(update, ctx, step, view)


async def resume(update: Update, ctx: BotContext, view: ReportView) -> None:
    """Continue a draft where it stands: the first empty field, else its preview."""
    if view.missing:
        await ask(update, ctx, view.missing[0], view)
    else:
        await show_preview(update, ctx, view)


async def show_preview(update: Update, ctx: BotContext, view: ReportView) -> None:
    """The whole draft with confirm / edit / co-authors / discard (or "continue" if incomplete)."""
    await open_dialog(update, ctx, FLOW, PREVIEW_STEP, {"edit": False})
    blocks = [ctx.t("reports.preview_header"), *report_blocks(ctx, view)]
    rows: list[list[tuple[str, str]]] = []
    if view.missing:
        missing = ctx.t("reports.list_sep").join(ctx.t(f"reports.label.{f}") for f in view.missing)
        blocks.append(ctx.t("reports.preview_incomplete", fields=missing))
        rows.append([button(ctx, "reports.btn.continue", "continue", view.id)])
    else:
        blocks.append(ctx.t("reports.preview_footer"))
        rows.append([button(ctx, "reports.btn.confirm", "confirm", view.id, view.revision)])
    rows.append(
        [
            button(ctx, "reports.btn.edit", "edit", view.id),
            button(ctx, "reports.btn.coauthors", "coauthors", view.id),
        ]
    )
    rows.append([button(ctx, "reports.btn.discard", "discard", view.id)])
    # Long sections are shortened here (the full text is in My reports), so the preview is
    # at most a few messages and the one with the buttons always goes through.
    await send_blocks(update, ctx, blocks, markup=inline(rows), shorten=True)


async def offer_draft(update: Update, ctx: BotContext, view: ReportView) -> None:
    rows = [
        [
            button(ctx, "reports.btn.continue", "continue", view.id),
            button(ctx, "reports.btn.discard", "discard", view.id),
        ]
    ]
    key = "reports.revision_offer" if view.receipt_no else "reports.draft_offer"
    await say(
        update,
        ctx,
        key,
        markup=inline(rows),
        title=title(ctx, view),
        time=local_time(ctx, view.created_at),
        receipt=view.receipt_no or "",
    )
