"""Many activities at once, for staff: the spreadsheet template, the uploaded sheet checked row
by row (all or nothing, every problem listed), and publishing the imported batch."""

from __future__ import annotations

import asyncio

from handlers.activities import export, messages
from handlers.activities.common import counted, example_date, refuse, staff_button
from handlers.channel.turn import Turn
from handlers.channel.views import Button, Line, OutFile, Text, View
from storage import activities as acts
from storage.activities import importer
from storage.dialogs import Dialog

IMPORT_FLOW = "acs_import"
MAX_IMPORT_BYTES = 5 * 1024 * 1024


async def ask_import(turn: Turn) -> None:
    """Button: explain the import and send the template."""
    await turn.open_dialog(IMPORT_FLOW, "file")
    sample_start = example_date(turn)
    example: list[object] = [
        turn.plain("activities.template_type"),
        turn.plain("activities.template_title"),
        turn.plain("activities.template_description"),
        sample_start,
        sample_start[:-5] + "16:30",
        "",
        "",
        20,
        "",
        turn.plain("activities.template_audience"),
        turn.plain("activities.template_reply_required"),
    ]
    sheet = turn.plain("activities.template_sheet")
    data = await asyncio.to_thread(export.import_template, example, sheet)
    await turn.reply(View.of("activities.import_ask"))
    await turn.reply(View([], file=OutFile("activities-template.xlsx", data=data)))


async def import_file(turn: Turn, dialog: Dialog) -> None:
    """The import dialog: the spreadsheet arrives, every row is checked, all or nothing."""
    if turn.viewer is None or not turn.viewer.is_staff:
        await turn.close_dialog()
        await turn.reply(View.of("common.staff_only"))
        return
    document = turn.media if turn.media is not None and turn.media["kind"] == "document" else None
    if document is None:
        await turn.reply(View.of("activities.import_need_file"))
        return
    name = str(document["name"] or "").lower()
    if not name.endswith(".xlsx"):
        await turn.reply(View.of("activities.import_wrong_type"))
        return
    if (document["size"] or 0) > MAX_IMPORT_BYTES:
        mb = MAX_IMPORT_BYTES // (1024 * 1024)
        await turn.reply(View.of("activities.import_too_big", mb=mb))
        return
    # A file the channel cannot give (DownloadFailed) goes to the error handler, as before.
    data = await turn.download(document)
    try:
        rows = await asyncio.to_thread(importer.parse_sheet, data)
    except importer.SheetFileError as exc:
        key = f"activities.import_file_{exc.code.value}"
        await turn.reply(View.of(key, max=importer.MAX_ROWS))
        return
    async with turn.db.transaction(bulk=True) as session:
        report = await importer.import_activities(
            session, rows, actor=turn.viewer.actor, tz=turn.settings.tz, now=turn.now()
        )
    if report.problems:
        lines: list[Line] = [
            counted("activities.import_failed", len(report.problems), count=len(report.problems))
        ]
        for p in report.problems[:30]:
            lines.append(
                Text.of(
                    "activities.import_problem",
                    row=p.row,
                    problem=Text(f"activities.row_{p.error.value}"),
                    detail=p.detail,
                )
            )
        await turn.reply(View(lines))
        return
    await turn.close_dialog()
    assert report.batch is not None
    buttons: list[list[Button]] = [
        [staff_button(Text("activities.btn_publish_all_notify"), "publish_batch", report.batch, 1)],
        [staff_button(Text("activities.btn_publish_all_quiet"), "publish_batch", report.batch, 0)],
        [staff_button(Text("activities.btn_manage"), "home", 1)],
    ]
    done = counted("activities.import_done", len(report.created), count=len(report.created))
    await turn.reply(View([done], buttons))


async def publish_batch(turn: Turn) -> None:
    """Button after an import: publish every activity of the batch (1: with invitations)."""
    batch = turn.arg(0) or ""
    notify_members = turn.arg(1) == "1"
    published = notified = 0
    async with turn.db.transaction() as session:
        ids = await acts.batch_ids(session, batch)
        for activity_id in ids:
            result = await acts.publish(
                session,
                activity_id,
                actor=turn.member.actor,
                now=turn.now(),
                notify_members=notify_members,
            )
            if result.ok:
                published += 1
                notified += await messages.tell(session, result.news, turn.settings.tz)
    if not ids:
        await refuse(turn, "common.stale_button")
        return
    if notified:
        turn.runtime.outbox_signal()
    summary = View(
        [counted("activities.batch_published", published, count=published, notified=notified)]
    )
    await turn.reply(summary)
