"""Opinion reports, staff side: the review queue, a report's card with its files, and the
decisions (adopt, forward, leader's instruction, return, excellent) with the text they need.

Each decision is one transaction: the status change, its history line, the audit row and the
message to the author (through the outbox) commit together. Written against the channel seam
(handlers/channel): staff can decide on any channel.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, OutFile, Text, View
from handlers.reports.cards import (
    REVIEW_FEATURE,
    history_blocks,
    open_data,
    pressed,
    refuse,
    report_blocks,
    send_blocks,
    staff_button,
)
from handlers.reports.query import STATUSES, Query, encode
from handlers.wiring import TurnButtonHandler
from storage import outbox, reports
from storage.dialogs import Dialog
from storage.models import Priority, ReportStatus
from storage.reports import ALLOWED, Outcome, ReportView, ReviewAction

log = logging.getLogger(__name__)

FLOW = "report_review"
ACTION_ICONS = {
    ReviewAction.adopt: "reports.review.btn.adopt",
    ReviewAction.forward: "reports.review.btn.forward",
    ReviewAction.instruct: "reports.review.btn.instruct",
    ReviewAction.return_: "reports.review.btn.return",
}


# -- telling the author ------------------------------------------------------------------------


async def notify_author(session: AsyncSession, view: ReportView) -> bool:
    """Tell the author about the latest review decision, through the outbox, in the caller's
    transaction (rendered in the author's language by the delivery worker). The one place
    that decides what the author hears; False when there is nothing to send."""
    event = view.events[-1] if view.events else None
    if event is None or view.author_address is None or event.action == "unexcellent":
        return False
    params: dict[str, object] = {
        "title": view.title or "",
        "receipt": view.receipt_no or "",
        "status": {"key": f"reports.status.{view.status.value}"},
        "note": event.note or "",
        "by": event.instructed_by or "",
    }
    if event.action == ReviewAction.instruct.value:
        template = "reports.notify.instructed"
    elif event.action == ReviewAction.return_.value:
        template = "reports.notify.returned"
    elif event.action == "excellent":
        template = "reports.notify.excellent"
    else:
        template = "reports.notify.status_note" if event.note else "reports.notify.status"
    buttons = [[outbox.button("reports.btn.open", open_data(view.id))]]
    await outbox.enqueue(
        session,
        to=view.author_address,
        member_id=view.member_id,
        kind="report_status",
        template=template,
        params=params,
        buttons=buttons,
        priority=Priority.personal,
        source_type="report",
        source_id=view.id,
    )
    return True


# -- the queue and the card --------------------------------------------------------------------


def _status(status: ReportStatus) -> Text:
    return Text(f"reports.status.{status.value}")


async def review_home(turn: Turn) -> None:
    """Staff menu: how many wait, the next one, and filters by status."""
    async with turn.db.transaction() as session:
        waiting = await reports.queue_count(session)
    rows = [[staff_button("reports.review.btn.next", "next")]]
    statuses = [
        Button(_status(s), Action.of(REVIEW_FEATURE, "list", 0, encode(Query(status=s))))
        for s in STATUSES
        if s is not ReportStatus.draft
    ]
    rows += [statuses[i : i + 3] for i in range(0, len(statuses), 3)]
    rows.append([staff_button("reports.review.btn.all", "list", 0, "-")])
    await turn.reply(View([Text.of("reports.review.home", count=waiting)], rows))


async def show_card(turn: Turn, view: ReportView) -> None:
    """A report for review: its files, then the full text with the actions allowed now."""
    await _send_attachments(turn, view)
    rows: list[list[Button]] = []
    actions = [
        staff_button(key, "decide", view.id, action.value)
        for action, key in ACTION_ICONS.items()
        if view.status in ALLOWED[action]
    ]
    rows += [actions[i : i + 2] for i in range(0, len(actions), 2)]
    extra = [staff_button("reports.review.btn.docx", "docx", view.id)]
    if view.status in ALLOWED[ReviewAction.excellent]:
        key = "reports.review.btn.unexcellent" if view.excellent else "reports.review.btn.excellent"
        extra.insert(0, staff_button(key, "decide", view.id, ReviewAction.excellent.value))
    rows.append(extra)
    rows.append([staff_button("reports.review.btn.next", "next", view.id)])
    blocks = [*report_blocks(turn, view, staff=True), *history_blocks(turn, view, staff=True)]
    await send_blocks(turn, blocks, buttons=rows)


async def _send_attachments(turn: Turn, view: ReportView) -> None:
    for item in view.attachments:
        path = Path(turn.settings.data_dir) / item.path
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError:
            await turn.reply(View.of("reports.review.file_missing", name=item.file_name))
            continue
        caption = f"{view.receipt_no or ''} · {item.file_name}"[:1000]  # shown as typed
        kind = item.kind if item.kind in ("photo", "voice") else "document"
        file = OutFile(item.file_name, data=data, kind=kind)
        if not await turn.try_reply(View([caption], file=file)):
            log.warning("could not send report attachment %s", item.id)
            await turn.reply(View.of("reports.review.file_missing", name=item.file_name))


async def next_report(turn: Turn) -> None:
    async with turn.db.transaction() as session:
        view = await reports.next_in_queue(session, pressed(turn).int_arg(0))
    if view is None:
        await turn.reply(View.of("reports.review.queue_empty"))
        return
    await show_card(turn, view)


async def open_card(turn: Turn) -> None:
    report_id = pressed(turn).int_arg(0)
    async with turn.db.transaction() as session:
        view = await reports.get(session, report_id) if report_id else None
    if view is None:
        await refuse(turn)
        return
    await show_card(turn, view)


# -- decisions ---------------------------------------------------------------------------------


async def decide(turn: Turn) -> None:
    """A decision button: excellent at once; the others ask for their text first."""
    cb = pressed(turn)
    report_id, name = cb.int_arg(0), cb.arg(1)
    if report_id is None or name not in {a.value for a in ReviewAction}:
        await refuse(turn)
        return
    action = ReviewAction(str(name))
    async with turn.db.transaction() as session:
        view = await reports.get(session, report_id)
    if view is None:
        await refuse(turn)
        return
    if view.status not in ALLOWED[action]:
        status = turn.plain(f"reports.status.{view.status.value}")  # a pop-up: plain text
        await refuse(turn, "reports.review.not_allowed", status=status)
        return
    if action is ReviewAction.excellent:
        await perform(turn, report_id, action, note=None)
        return
    data = {"report_id": report_id, "action": action.value}
    receipt = view.receipt_no or ""
    if action is ReviewAction.return_:
        await turn.open_dialog(FLOW, "reason", data)
        await turn.reply(View.of("reports.review.ask_reason", receipt=receipt))
    elif action is ReviewAction.instruct:
        await turn.open_dialog(FLOW, "leader", data)
        await turn.reply(View.of("reports.review.ask_leader", receipt=receipt))
    else:
        await turn.open_dialog(FLOW, "note", data)
        rows = [[staff_button("reports.review.btn.no_note", "no_note")]]
        question = Text.of(
            "reports.review.ask_note",
            receipt=receipt,
            action=Text(f"reports.history.{action.value}"),
        )
        await turn.reply(View([question], rows))


async def no_note(turn: Turn) -> None:
    dialog = turn.dialog
    if dialog is None or dialog.flow != FLOW or dialog.step != "note":
        await refuse(turn)
        return
    action = ReviewAction(dialog.data["action"])
    await perform(turn, int(dialog.data["report_id"]), action, note=None)


async def on_input(turn: Turn, dialog: Dialog) -> None:
    """The text a decision needs: feedback, the reason, who instructed, the instruction."""
    # A dialog is not behind the router's access check: staff may have been demoted meanwhile.
    if turn.viewer is None or not turn.viewer.is_staff:
        await turn.close_dialog()
        await turn.reply(View.of("common.staff_only"))
        return
    # Only a message's own text counts (not a file's caption), as it always did.
    text = (turn.text or "") if turn.media is None else ""
    report_id = int(dialog.data.get("report_id", 0))
    action = ReviewAction(dialog.data.get("action", ReviewAction.adopt.value))
    if not text.strip():
        key = "reports.review.reason_required" if dialog.step == "reason" else "common.text_empty"
        await turn.reply(View.of(key))
        return
    if dialog.step == "leader":
        checked = reports.clean_text(text, reports.MAX_INSTRUCTED_BY_CHARS, single_line=True)
        if not checked.ok:
            await turn.reply(
                View.of("common.text_too_long", length=checked.length, limit=checked.limit)
            )
            return
        await turn.open_dialog(FLOW, "instruction", {**dialog.data, "leader": checked.field})
        await turn.reply(View.of("reports.review.ask_instruction", leader=checked.field or ""))
        return
    leader = dialog.data.get("leader") if dialog.step == "instruction" else None
    await perform(turn, report_id, action, note=text, instructed_by=leader)


async def perform(
    turn: Turn,
    report_id: int,
    action: ReviewAction,
    *,
    note: str | None,
    instructed_by: str | None = None,
) -> None:
    """Record the decision and queue the author's message in one transaction, then answer."""
    async with turn.db.transaction() as session:
        result = await reports.review(
            session,
            turn.member.actor,
            report_id,
            action,
            note=note,
            instructed_by=instructed_by,
            now=turn.now(),
        )
        notified = False
        if result.ok and result.report is not None:
            notified = await notify_author(session, result.report)
    if result.outcome is Outcome.reason_required:
        await turn.reply(View.of("reports.review.reason_required"))
        return
    if result.outcome in (Outcome.too_long, Outcome.empty):
        if result.outcome is Outcome.too_long:
            await turn.reply(
                View.of("common.text_too_long", length=result.length, limit=result.limit)
            )
        else:
            await turn.reply(View.of("common.text_empty"))
        return
    if turn.dialog is not None and turn.dialog.flow == FLOW:
        await turn.close_dialog()
    view = result.report
    if result.outcome is Outcome.not_allowed and view is not None:
        await turn.reply(View.of("reports.review.not_allowed", status=_status(view.status)))
        return
    if not result.ok or view is None or result.event is None:
        await turn.reply(View.of("common.stale_button"))
        return
    if notified:
        turn.runtime.outbox_signal()
    rows = [
        [
            staff_button("reports.review.btn.next", "next"),
            staff_button("reports.review.btn.open", "open", view.id),
        ]
    ]
    done = Text.of(
        "reports.review.done" if notified else "reports.review.done_silent",
        receipt=view.receipt_no or "",
        action=Text(f"reports.history.{result.event.action}"),
        status=_status(view.status),
    )
    await turn.reply(View([done], rows))


BUTTONS: dict[str, TurnButtonHandler] = {
    "next": next_report,
    "open": open_card,
    "decide": decide,
    "no_note": no_note,
}
