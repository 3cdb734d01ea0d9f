"""Many activities at once, for staff: the spreadsheet template, the uploaded sheet checked row
by row (all or nothing, every problem listed), and publishing the imported batch."""

from __future__ import annotations

import asyncio

from telegram import InputFile, Update

from bot.context import BotContext
from handlers import callbacks
from handlers.activities import export
from handlers.activities.common import STAFF, example_date, notify, refuse
from handlers.callbacks import Callback
from handlers.replies import inline, say, send_text
from handlers.wiring import close_dialog, open_dialog
from storage import activities as acts
from storage.activities import importer
from storage.dialogs import Dialog

IMPORT_FLOW = "acs_import"
MAX_IMPORT_BYTES = 5 * 1024 * 1024


async def ask_import(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: explain the import and send the template."""
    await open_dialog(update, ctx, IMPORT_FLOW, "file")
    sample_start = example_date(ctx)
    example: list[object] = [
        ctx.t("activities.template_type"),
        ctx.t("activities.template_title"),
        ctx.t("activities.template_description"),
        sample_start,
        sample_start[:-5] + "16:30",
        "",
        "",
        20,
        "",
        ctx.t("activities.template_audience"),
        ctx.t("activities.template_reply_required"),
    ]
    data = await asyncio.to_thread(export.import_template, example)
    chat = update.effective_chat
    assert chat is not None
    await say(update, ctx, "activities.import_ask")
    await ctx.bot.send_document(chat.id, InputFile(data, filename="activities-template.xlsx"))


async def import_file(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """The import dialog: the spreadsheet arrives, every row is checked, all or nothing."""
    message = update.effective_message
    if ctx.viewer is None or not ctx.viewer.is_staff:
        await close_dialog(update, ctx)
        await say(update, ctx, "common.staff_only")
        return
    document = message.document if message else None
    if document is None:
        await say(update, ctx, "activities.import_need_file")
        return
    name = (document.file_name or "").lower()
    if not name.endswith(".xlsx"):
        await say(update, ctx, "activities.import_wrong_type")
        return
    if (document.file_size or 0) > MAX_IMPORT_BYTES:
        await say(update, ctx, "activities.import_too_big", mb=MAX_IMPORT_BYTES // (1024 * 1024))
        return
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    try:
        rows = await asyncio.to_thread(importer.parse_sheet, data)
    except importer.SheetFileError as exc:
        await say(update, ctx, f"activities.import_file_{exc.code.value}", max=importer.MAX_ROWS)
        return
    async with ctx.db.transaction(bulk=True) as session:
        report = await importer.import_activities(
            session, rows, actor=ctx.viewer.actor, tz=ctx.settings.tz, now=ctx.now()
        )
    if report.problems:
        lines = [ctx.t("activities.import_failed", count=len(report.problems))]
        for p in report.problems[:30]:
            lines.append(
                ctx.t(
                    "activities.import_problem",
                    row=p.row,
                    problem=ctx.t(f"activities.row_{p.error.value}"),
                    detail=p.detail,
                )
            )
        await send_text(update, ctx, "\n".join(lines))
        return
    await close_dialog(update, ctx)
    assert report.batch is not None
    markup = inline(
        [
            [
                (
                    ctx.t("activities.btn_publish_all_notify"),
                    callbacks.make(STAFF, "publish_batch", report.batch, 1),
                )
            ],
            [
                (
                    ctx.t("activities.btn_publish_all_quiet"),
                    callbacks.make(STAFF, "publish_batch", report.batch, 0),
                )
            ],
            [(ctx.t("activities.btn_manage"), callbacks.make(STAFF, "home", 1))],
        ]
    )
    await say(update, ctx, "activities.import_done", count=len(report.created), markup=markup)


async def publish_batch(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button after an import: publish every activity of the batch (1: with invitations)."""
    batch = cb.arg(0) or ""
    notify_members = cb.arg(1) == "1"
    published = notified = 0
    async with ctx.db.transaction() as session:
        ids = await acts.batch_ids(session, batch)
        for activity_id in ids:
            result = await acts.publish(
                session,
                activity_id,
                actor=ctx.member.actor,
                now=ctx.now(),
                notify_members=notify_members,
                notify=notify(ctx),
            )
            if result.ok:
                published += 1
                notified += result.notified
    if not ids:
        await refuse(update, ctx, "common.stale_button")
        return
    if notified:
        ctx.runtime.outbox_signal()
    await say(update, ctx, "activities.batch_published", count=published, notified=notified)
