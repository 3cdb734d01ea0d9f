"""Co-authors of a draft: the list with remove buttons, finding members by name, adding one."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from handlers import callbacks
from handlers.callbacks import Callback
from handlers.replies import inline, say
from handlers.reports.cards import FEATURE, button, refuse
from handlers.reports.drafts import COAUTHOR_STEP, FLOW, checked_draft, open_draft
from handlers.wiring import ButtonHandler, close_dialog, open_dialog
from storage import reports
from storage.reports import Outcome, ReportView


async def show_coauthors(update: Update, ctx: BotContext, view: ReportView) -> None:
    await open_dialog(update, ctx, FLOW, COAUTHOR_STEP, {"edit": True})
    names = ctx.t("reports.list_sep").join(p.name for p in view.coauthors)
    rows = [
        [button(ctx, "reports.btn.remove_coauthor", "remove_coauthor", view.id, p.id, name=p.name)]
        for p in view.coauthors
    ]
    rows.append([button(ctx, "reports.btn.back_preview", "preview", view.id)])
    await say(
        update,
        ctx,
        "reports.coauthors",
        markup=inline(rows),
        names=names or ctx.t("reports.coauthors_none"),
    )


async def find_coauthors(update: Update, ctx: BotContext, query: str) -> None:
    """A name typed in the co-author step: the members it matches, as buttons."""
    view = await open_draft(ctx)
    if view is None:
        await close_dialog(update, ctx)
        await say(update, ctx, "common.stale_button")
        return
    if not query.strip():
        await say(update, ctx, "common.text_empty")
        return
    async with ctx.db.read() as session:
        found = await reports.find_members(session, query[:50], exclude=ctx.member.id)
    if not found:
        await say(update, ctx, "reports.coauthor_not_found", query=query[:50])
        return
    rows = [
        [
            (
                f"{p.name}（{p.sector}）" if p.sector else p.name,
                callbacks.make(FEATURE, "add_coauthor", view.id, p.id),
            )
        ]
        for p in found
    ]
    rows.append([button(ctx, "reports.btn.back_preview", "preview", view.id)])
    await say(update, ctx, "reports.coauthor_matches", markup=inline(rows))


async def coauthors(update: Update, ctx: BotContext, cb: Callback) -> None:
    view = await checked_draft(update, ctx, cb)
    if view is not None:
        await show_coauthors(update, ctx, view)


async def add_coauthor(update: Update, ctx: BotContext, cb: Callback) -> None:
    report_id, member_id = cb.int_arg(0), cb.int_arg(1)
    if report_id is None or member_id is None:
        await refuse(update, ctx)
        return
    async with ctx.db.transaction() as session:
        result = await reports.add_coauthor(session, ctx.member.id, report_id, member_id)
    if result.outcome is Outcome.self_coauthor:
        await refuse(update, ctx, "reports.coauthor_self")
    elif result.outcome is Outcome.already_coauthor:
        await refuse(update, ctx, "reports.coauthor_already")
    elif result.outcome is Outcome.too_many_coauthors:
        await refuse(update, ctx, "reports.coauthor_too_many", max=reports.MAX_COAUTHORS)
    elif not result.ok or result.report is None:
        await refuse(update, ctx)
    else:
        await show_coauthors(update, ctx, result.report)


async def remove_coauthor(update: Update, ctx: BotContext, cb: Callback) -> None:
    report_id, member_id = cb.int_arg(0), cb.int_arg(1)
    if report_id is None or member_id is None:
        await refuse(update, ctx)
        return
    async with ctx.db.transaction() as session:
        result = await reports.remove_coauthor(session, ctx.member.id, report_id, member_id)
    if not result.ok or result.report is None:
        await refuse(update, ctx)
        return
    await show_coauthors(update, ctx, result.report)


BUTTONS: dict[str, ButtonHandler] = {
    "coauthors": coauthors,
    "add_coauthor": add_coauthor,
    "remove_coauthor": remove_coauthor,
}
