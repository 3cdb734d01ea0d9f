"""The member's draft in the guided dialog: asking each question, moving to the next one, the
preview with its buttons, and "continue your draft?".

Every answer is written to the draft the moment it arrives (storage.reports); the dialog only
remembers which question is open. Written against the channel seam (handlers/channel).
"""

from __future__ import annotations

from typing import Any

from bot.telegram_text import truncate_utf16
from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, Line, Text, View
from handlers.reports.cards import (
    FEATURE,
    button,
    category_text,
    limits,
    local_time,
    pressed,
    refuse,
    report_blocks,
    send_blocks,
    title,
)
from storage import reports
from storage.dialogs import Dialog
from storage.reports import Outcome, ReportView

FLOW = "report"
QUICK_FLOW = "report_quick"
ATTACH_STEP = "attachments"
COAUTHOR_STEP = "coauthor"
PREVIEW_STEP = "preview"
# A section shown while it is being edited, so the question around it still fits a message.
CURRENT_VALUE_LIMIT = 3000


async def open_draft(turn: Turn) -> ReportView | None:
    """The member's open draft, if any."""
    async with turn.db.read() as session:
        return await reports.open_draft(session, turn.member.id)


async def cancelled(turn: Turn, dialog: Dialog) -> Text:
    """What /cancel says after closing the report dialogs: that the text is kept in the draft
    only where there is one (the guided dialog's first question has none yet), and that
    messages still waiting for "add to your draft?" were not added."""
    view = await open_draft(turn)
    if view is None:
        return Text("common.cancelled")
    pending = dialog.data.get("pending") or {}
    if dialog.flow == QUICK_FLOW and (pending.get("texts") or pending.get("files")):
        return Text.of("reports.cancelled_not_added", title=title(view))
    key = "reports.cancelled_revision" if view.receipt_no else "reports.cancelled_draft"
    return Text.of(key, title=title(view))


async def checked_draft(turn: Turn, *, say_not_editable: bool = False) -> ReportView | None:
    """The draft the pressed button points at, if it still is this member's open draft; else
    the press is answered with why not (and None returned)."""
    report_id = pressed(turn).int_arg(0)
    if report_id is None:
        await refuse(turn)
        return None
    async with turn.db.transaction() as session:
        result = await reports.editable_draft(session, turn.member.id, report_id)
    if result.outcome is Outcome.not_editable:
        if say_not_editable:
            await turn.reply(View.of("reports.not_editable"))
        await refuse(turn, "reports.not_editable")
        return None
    if not result.ok or result.report is None:
        await refuse(turn)
        return None
    return result.report


async def ask(
    turn: Turn,
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
    await turn.open_dialog(FLOW, step, data)
    lim = limits(turn)
    settings = turn.settings
    if step == "category":
        labels = [
            Button(category_text(turn, name), Action.of(FEATURE, "category", index))
            for index, name in enumerate(settings.report_categories)
        ]
        rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
        await turn.reply(View([Text("reports.ask.category")], rows))
        return
    if step == ATTACH_STEP:
        question = Text.of(
            "reports.ask.attachments",
            count=len(view.attachments) if view else 0,
            max=lim.max_attachments,
            mb=settings.report_max_attachment_mb,
            types=", ".join(settings.report_attachment_types),
        )
        await turn.reply(View([question], attach_buttons(view)))
        return
    lines: list[Line] = [Text.of(f"reports.ask.{step}", limit=lim.for_field(step))]
    current = view.value(step) if view is not None else None
    if edit and current:
        value = truncate_utf16(current, CURRENT_VALUE_LIMIT)
        lines += ["", Text.of("reports.current_value", value=value)]  # after a blank line
    await turn.reply(View(lines))


def attach_buttons(view: ReportView | None) -> list[list[Button]]:
    """The attachments step's buttons: done (to the preview), and removing what is there."""
    rows = [[button("reports.btn.done", "done")]]
    if view is not None and view.attachments:
        rows.append([button("reports.btn.remove_attachments", "remove_files")])
    return rows


def next_step(view: ReportView, edit: bool) -> str:
    """After an answer: back to the preview when editing, else the next empty field, else the
    preview. Attachments are no step of their own: a member with nothing to attach goes from
    the last answer to "submit"; the preview says files can be sent right there (and "✏️ 修改
    → 附件" asks for them)."""
    if edit or not view.missing:
        return PREVIEW_STEP
    return view.missing[0]


async def go(turn: Turn, step: str, view: ReportView) -> None:
    if step == PREVIEW_STEP:
        await show_preview(turn, view)
    else:
        await ask(turn, step, view)


async def resume(turn: Turn, view: ReportView) -> None:
    """Continue a draft where it stands: the first empty field, else its preview."""
    if view.missing:
        await ask(turn, view.missing[0], view)
    else:
        await show_preview(turn, view)


async def show_preview(turn: Turn, view: ReportView) -> None:
    """The whole draft with confirm / edit / co-authors / discard (or "continue" if incomplete)."""
    await turn.open_dialog(FLOW, PREVIEW_STEP, {"edit": False})
    blocks = [turn.t("reports.preview_header"), *report_blocks(turn, view)]
    rows: list[list[Button]] = []
    if view.missing:
        sep = turn.t("reports.list_sep")
        missing = sep.join(turn.t(f"reports.label.{f}") for f in view.missing)
        blocks.append(turn.t("reports.preview_incomplete", fields=missing))
        rows.append([button("reports.btn.continue", "continue", view.id)])
    else:
        blocks.append(turn.t("reports.preview_footer"))
        rows.append([button("reports.btn.confirm", "confirm", view.id, view.revision)])
    if len(view.attachments) < limits(turn).max_attachments:
        # Where files are asked for: sent now, they open the attachments step (member.py).
        blocks.append(turn.t("reports.preview_attach_hint"))
    rows.append(
        [
            button("reports.btn.edit", "edit", view.id),
            button("reports.btn.coauthors", "coauthors", view.id),
        ]
    )
    rows.append([button("reports.btn.discard", "discard", view.id)])
    # Long sections are shortened here (the full text is in My reports), so the preview is
    # at most a few messages and the one with the buttons always goes through.
    await send_blocks(turn, blocks, buttons=rows, shorten=True)


async def offer_draft(turn: Turn, view: ReportView) -> None:
    rows = [
        [
            button("reports.btn.continue", "continue", view.id),
            button("reports.btn.discard", "discard", view.id),
        ]
    ]
    key = "reports.revision_offer" if view.receipt_no else "reports.draft_offer"
    offer = Text.of(
        key,
        title=title(view),
        time=local_time(turn, view.created_at),
        receipt=view.receipt_no or "",
    )
    await turn.reply(View([offer], rows))
