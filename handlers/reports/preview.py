"""The buttons under a draft's preview and the "continue your draft?" offer: continue, edit a
section, discard (after a confirmation), and submit.

Buttons carry the report id (and, on a preview, its revision); storage re-checks ownership and
state on every tap. Written against the channel seam (handlers/channel).
"""

from __future__ import annotations

import asyncio

from handlers.channel.turn import Turn
from handlers.channel.views import Text, View
from handlers.reports.cards import button, pressed, refuse, title
from handlers.reports.drafts import (
    ATTACH_STEP,
    FLOW,
    QUICK_FLOW,
    ask,
    checked_draft,
    resume,
    show_preview,
)
from handlers.wiring import TurnButtonHandler
from storage import reports
from storage.reports import FIELDS, Outcome


async def continue_draft(turn: Turn) -> None:
    view = await checked_draft(turn)
    if view is not None:
        await resume(turn, view)


async def discard(turn: Turn) -> None:
    """Ask before a draft (or a returned report's revision) is thrown away."""
    view = await checked_draft(turn)
    if view is None:
        return
    rows = [
        [
            button("reports.btn.discard_yes", "discard_yes", view.id),
            button("reports.btn.discard_no", "discard_no", view.id),
        ]
    ]
    key = "reports.revision_stop_confirm" if view.receipt_no else "reports.discard_confirm"
    await turn.reply(View([Text.of(key, title=title(view))], rows))


async def discard_yes(turn: Turn) -> None:
    report_id = pressed(turn).int_arg(0)
    if report_id is None:
        await refuse(turn)
        return
    async with turn.db.transaction() as session:
        result, paths = await reports.discard(session, turn.member.id, report_id)
    if not result.ok:
        await refuse(turn)
        return
    await asyncio.to_thread(reports.remove_files, turn.settings.data_dir, paths)
    if turn.dialog is not None and turn.dialog.flow in (FLOW, QUICK_FLOW):
        await turn.close_dialog()
    key = "reports.revision_stopped" if result.report is not None else "reports.discarded"
    await turn.reply(View([Text(key)], menu=True))


async def discard_no(turn: Turn) -> None:
    view = await checked_draft(turn)
    if view is None:
        return
    await turn.reply(View.of("reports.kept"))
    await resume(turn, view)


async def confirm(turn: Turn) -> None:
    """Submit: one report however often the button is pressed; an old preview is refused."""
    cb = pressed(turn)
    report_id, revision = cb.int_arg(0), cb.arg(1)
    if report_id is None or revision is None or not revision.isdigit():
        await refuse(turn)
        return
    async with turn.db.transaction() as session:
        result = await reports.submit(
            session,
            turn.member.id,
            report_id,
            revision=int(revision),
            now=turn.now(),
            tz=turn.settings.tz,
        )
    view = result.report
    if result.outcome is Outcome.already_submitted and view is not None:
        await refuse(turn, "reports.already_submitted", receipt=view.receipt_no or "")
        return
    if result.outcome is Outcome.stale and view is not None:
        await turn.reply(View.of("reports.preview_stale"))
        await show_preview(turn, view)
        await refuse(turn, "reports.preview_stale")
        return
    if result.outcome is Outcome.incomplete and view is not None:
        await resume(turn, view)
        return
    if result.outcome is Outcome.not_editable:
        await refuse(turn, "reports.not_editable")
        return
    if not result.ok or view is None:
        await refuse(turn)
        return
    if turn.dialog is not None and turn.dialog.flow == FLOW:
        await turn.close_dialog()
    # Take the buttons off the preview that was just confirmed (cosmetic; may fail).
    await turn.edit_buttons([])
    resubmitted = view.events and view.events[-1].action == "resubmitted"
    key = "reports.resubmitted" if resubmitted else "reports.submitted"
    await turn.reply(View([Text.of(key, receipt=view.receipt_no or "")], menu=True))


async def edit_menu(turn: Turn) -> None:
    view = await checked_draft(turn, say_not_editable=True)
    if view is None:
        return
    names = [*FIELDS, ATTACH_STEP]
    sections = [button(f"reports.label.{n}", "edit_section", view.id, n) for n in names]
    rows = [sections[i : i + 2] for i in range(0, len(sections), 2)]
    rows.append([button("reports.btn.back_preview", "preview", view.id)])
    await turn.reply(View([Text("reports.edit_choose")], rows))


async def edit_section(turn: Turn) -> None:
    view = await checked_draft(turn, say_not_editable=True)
    if view is None:
        return
    section = pressed(turn).arg(1)
    if section not in (*FIELDS, ATTACH_STEP):
        await refuse(turn)
        return
    await ask(turn, section, view, edit=True)


async def preview(turn: Turn) -> None:
    view = await checked_draft(turn)
    if view is not None:
        await show_preview(turn, view)


BUTTONS: dict[str, TurnButtonHandler] = {
    "continue": continue_draft,
    "discard": discard,
    "discard_yes": discard_yes,
    "discard_no": discard_no,
    "confirm": confirm,
    "edit": edit_menu,
    "edit_section": edit_section,
    "preview": preview,
}
