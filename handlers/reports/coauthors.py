"""Co-authors of a draft: the list with remove buttons, finding members by name, adding one.
Written against the channel seam (handlers/channel)."""

from __future__ import annotations

from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, Join, Line, Text, View
from handlers.reports.cards import FEATURE, button, pressed, refuse
from handlers.reports.drafts import COAUTHOR_STEP, FLOW, checked_draft, open_draft
from handlers.wiring import TurnButtonHandler
from storage import reports
from storage.reports import Outcome, ReportView


async def show_coauthors(turn: Turn, view: ReportView) -> None:
    await turn.open_dialog(FLOW, COAUTHOR_STEP, {"edit": True})
    names = Join(Text("reports.list_sep"), [p.name for p in view.coauthors])
    rows = [
        [button("reports.btn.remove_coauthor", "remove_coauthor", view.id, p.id, name=p.name)]
        for p in view.coauthors
    ]
    rows.append([button("reports.btn.back_preview", "preview", view.id)])
    listed = Text.of(
        "reports.coauthors", names=names if view.coauthors else Text("reports.coauthors_none")
    )
    await turn.reply(View([listed], rows))


async def find_coauthors(turn: Turn, query: str) -> None:
    """A name typed in the co-author step: the members it matches, as buttons."""
    view = await open_draft(turn)
    if view is None:
        await turn.close_dialog()
        await turn.reply(View.of("common.stale_button"))
        return
    if not query.strip():
        await turn.reply(View.of("common.text_empty"))
        return
    async with turn.db.read() as session:
        found = await reports.find_members(session, query[:50])
    me = turn.member.id
    # The author typed their own name (or number): say so, rather than "not found".
    notes: list[Line] = [Text("reports.coauthor_self")] if any(p.id == me for p in found) else []
    found = [p for p in found if p.id != me]
    if not found:
        notes = notes or [Text.of("reports.coauthor_not_found", query=query[:50])]
        back = [[button("reports.btn.back_preview", "preview", view.id)]]
        await turn.reply(View(notes, back))
        return
    rows = [
        [
            Button(
                f"{p.name}（{p.sector}）" if p.sector else p.name,  # names shown as typed
                Action.of(FEATURE, "add_coauthor", view.id, p.id),
            )
        ]
        for p in found
    ]
    rows.append([button("reports.btn.back_preview", "preview", view.id)])
    await turn.reply(View([*notes, Text("reports.coauthor_matches")], rows))


async def coauthors(turn: Turn) -> None:
    view = await checked_draft(turn)
    if view is not None:
        await show_coauthors(turn, view)


async def add_coauthor(turn: Turn) -> None:
    cb = pressed(turn)
    report_id, member_id = cb.int_arg(0), cb.int_arg(1)
    if report_id is None or member_id is None:
        await refuse(turn)
        return
    async with turn.db.transaction() as session:
        result = await reports.add_coauthor(session, turn.member.id, report_id, member_id)
    if result.outcome is Outcome.self_coauthor:
        await refuse(turn, "reports.coauthor_self")
    elif result.outcome is Outcome.already_coauthor:
        await refuse(turn, "reports.coauthor_already")
    elif result.outcome is Outcome.too_many_coauthors:
        await refuse(turn, "reports.coauthor_too_many", max=reports.MAX_COAUTHORS)
    elif not result.ok or result.report is None:
        await refuse(turn)
    else:
        await show_coauthors(turn, result.report)


async def remove_coauthor(turn: Turn) -> None:
    cb = pressed(turn)
    report_id, member_id = cb.int_arg(0), cb.int_arg(1)
    if report_id is None or member_id is None:
        await refuse(turn)
        return
    async with turn.db.transaction() as session:
        result = await reports.remove_coauthor(session, turn.member.id, report_id, member_id)
    if not result.ok or result.report is None:
        await refuse(turn)
        return
    await show_coauthors(turn, result.report)


BUTTONS: dict[str, TurnButtonHandler] = {
    "coauthors": coauthors,
    "add_coauthor": add_coauthor,
    "remove_coauthor": remove_coauthor,
}
