"""Opinion reports (社情民意信息), the guided dialog: "submit" from the menu, each answer as it
arrives (text, a tapped or typed category, files at any step), and the buttons of its steps.

Every answer is written to the member's draft the moment it arrives (storage.reports); the
dialog only remembers which question is open. Written against the channel seam
(handlers/channel): it runs unchanged on every channel.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from handlers.channel.turn import Turn
from handlers.channel.views import Line, Text, View
from handlers.reports.cards import category_label, category_text, limits, pressed, refuse
from handlers.reports.coauthors import find_coauthors
from handlers.reports.drafts import (
    ATTACH_STEP,
    COAUTHOR_STEP,
    FLOW,
    PREVIEW_STEP,
    ask,
    attach_buttons,
    go,
    next_step,
    offer_draft,
    open_draft,
    show_preview,
)
from handlers.reports.files import acknowledge, counted, store_file
from handlers.wiring import TurnButtonHandler
from storage import reports
from storage.dialogs import Dialog
from storage.reports import FIELDS, Outcome


async def submit_menu(turn: Turn) -> None:
    """Menu "submit": offer the open draft, or start a new guided report with its title."""
    view = await open_draft(turn)
    if view is not None:
        await offer_draft(turn, view)
        return
    await turn.reply(View.of("reports.intro"))
    await ask(turn, "title", None)


async def start_hook(turn: Turn) -> None:
    """After /start: "continue your draft?" when the member has one."""
    if turn.viewer is None:
        return
    view = await open_draft(turn)
    if view is not None:
        await offer_draft(turn, view)


async def on_input(turn: Turn, dialog: Dialog) -> None:
    """An answer in the guided dialog: saved to the draft at once, then the next question."""
    if turn.viewer is None:
        await turn.close_dialog()
        await turn.reply(View.of("common.not_bound"))
        return
    step = dialog.step
    edit = bool(dialog.data.get("edit"))
    media = turn.media
    if step == ATTACH_STEP and media is None:
        # One short line, with the step's buttons: the prompt is not repeated.
        await turn.reply(View([Text("reports.need_file")], attach_buttons(await open_draft(turn))))
        return
    if media is not None:
        # A file at any step is kept. In the middle of the questions, the question stays
        # open; at the preview (or co-authors) it opens the attachments step.
        await _attach(turn, media, step, dialog)
        return
    text = turn.text  # (a caption comes only with a file, taken above)
    if step == COAUTHOR_STEP:
        await find_coauthors(turn, text or "")
        return
    if step == PREVIEW_STEP:
        view = await open_draft(turn)
        await turn.reply(View.of("reports.use_preview_buttons"))
        if view is not None:
            await show_preview(turn, view)
        return
    if step == "category":
        await _typed_category(turn, text or "", edit)
        return
    if step not in reports.TEXT_FIELDS:
        await turn.close_dialog()
        return
    # The same text as another field, sent again: after a crash between moving on and asking
    # the next question, that is the last answer resent. It is stored only when sent twice.
    fingerprint = _fingerprint(text)
    async with turn.db.transaction() as session:
        result = await reports.save_text(
            session,
            turn.viewer.id,
            step,
            text,
            limits(turn),
            allow_repeat=edit or dialog.data.get("repeat") == fingerprint,
        )
    if result.outcome is Outcome.repeated and result.field is not None:
        repeated = Text.of(
            "reports.repeated",
            field=Text(f"reports.label.{result.field}"),
            step=Text(f"reports.label.{step}"),
        )
        await turn.reply(View([repeated]))
        await ask(turn, step, None, repeat=fingerprint)
        return
    if not result.ok or result.report is None:
        await _refuse_text(turn, result)
        return
    await go(turn, next_step(result.report, edit), result.report)


def _fingerprint(text: str | None) -> str:
    """Names an answer in the dialog's state without keeping its words there twice."""
    return hashlib.sha256((text or "").strip().encode()).hexdigest()[:16]


async def _refuse_text(turn: Turn, result: reports.Result) -> None:
    if result.outcome is Outcome.too_long:
        await turn.reply(View.of("common.text_too_long", length=result.length, limit=result.limit))
    elif result.outcome is Outcome.empty:
        await turn.reply(View.of("common.text_empty"))
    else:
        await turn.reply(View.of("reports.need_text"))


async def _typed_category(turn: Turn, text: str, edit: bool) -> None:
    """A category typed instead of tapped is accepted when it names one exactly."""
    typed = text.strip().lower()
    names = turn.settings.report_categories
    chosen = next((n for n in names if typed in (n.lower(), category_label(turn, n).lower())), None)
    if chosen is None:
        view = await open_draft(turn)
        await turn.reply(View.of("reports.pick_category"))
        await ask(turn, "category", view, edit=edit)
        return
    async with turn.db.transaction() as session:
        result = await reports.save_category(session, turn.member.id, chosen, names)
    assert result.report is not None
    await go(turn, next_step(result.report, edit), result.report)


async def _attach(turn: Turn, media: dict[str, Any], step: str, dialog: Dialog) -> None:
    """Keep a file, and acknowledge it in one short line: a burst of files (an album) shares
    one message, edited as each arrives, so six photos do not make twelve messages."""
    stored = await store_file(turn, media)  # (a refusal says why itself)
    view = await open_draft(turn)
    if view is None:
        await ask(turn, "title", None)  # refused before any draft existed
        return
    if not stored:
        return
    data = dict(dialog.data)
    if step not in FIELDS and step != ATTACH_STEP:
        step, data = ATTACH_STEP, {"edit": bool(dialog.data.get("edit"))}
    count, most = len(view.attachments), turn.settings.report_max_attachments
    lines: list[Line] = [counted("reports.attachments_received", count, max=most)]
    if step == ATTACH_STEP:
        ack = View(lines, attach_buttons(view))
    else:
        field = Text(f"reports.label.{step}")
        ack = View([*lines, Text.of("reports.attachments_then", field=field)])
    await acknowledge(turn, ack, data)
    await turn.open_dialog(FLOW, step, data)


# -- the buttons of the dialog's steps ---------------------------------------------------------


async def category(turn: Turn) -> None:
    index = pressed(turn).arg(0)
    names = turn.settings.report_categories
    dialog = turn.dialog
    if (
        dialog is None
        or dialog.flow != FLOW
        or dialog.step != "category"
        or index is None
        or not index.isdigit()
        or int(index) >= len(names)
    ):
        await refuse(turn)
        return
    async with turn.db.transaction() as session:
        result = await reports.save_category(session, turn.member.id, names[int(index)], names)
    if not result.ok or result.report is None:
        await refuse(turn)
        return
    chosen = category_text(turn, names[int(index)])
    await turn.edit(View.of("reports.category_chosen", category=chosen))
    edit = bool(dialog.data.get("edit"))
    await go(turn, next_step(result.report, edit), result.report)


async def done(turn: Turn) -> None:
    """No (more) files: the preview."""
    view = await open_draft(turn)
    if view is None or turn.dialog is None or turn.dialog.flow != FLOW:
        await refuse(turn)
        return
    await show_preview(turn, view)


async def remove_files(turn: Turn) -> None:
    async with turn.db.transaction() as session:
        result, paths = await reports.clear_attachments(session, turn.member.id)
    if not result.ok or result.report is None:
        await refuse(turn)
        return
    await asyncio.to_thread(reports.remove_files, turn.settings.data_dir, paths)
    await turn.reply(View.of("reports.attachments_removed"))
    await ask(turn, ATTACH_STEP, result.report, edit=True)


BUTTONS: dict[str, TurnButtonHandler] = {
    "category": category,
    "done": done,
    "remove_files": remove_files,
}
