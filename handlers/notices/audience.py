"""Choosing a notice's recipients: everyone, sectors, committees or contact points (tapped or
typed), those signed up for an activity, or an uploaded list of phone numbers; and going back
to this step from the preview."""

from __future__ import annotations

import asyncio

from handlers.channel.turn import Turn
from handlers.channel.views import Button, Text, View
from handlers.notices import sending
from handlers.notices.common import (
    FLOW,
    button,
    enum_arg,
    explain,
    local,
    pressed,
    pressed_draft,
    stale,
    typed,
)
from storage import notices
from storage.models import AudienceKind, NoticeStatus
from storage.notices import Problem

MAX_LIST_BYTES = 5 * 1024 * 1024
NAMED_KINDS = (AudienceKind.sectors, AudienceKind.committees, AudienceKind.points)
AUDIENCE_ORDER = (
    AudienceKind.everyone,
    AudienceKind.sectors,
    AudienceKind.committees,
    AudienceKind.points,
    AudienceKind.activity,
    AudienceKind.phones,
)


def _in_order(
    turn: Turn, kind: AudienceKind, options: list[notices.Choice]
) -> list[notices.Choice]:
    """Sectors in the office's official order (SECTOR_ORDER); the others as stored."""
    if kind is AudienceKind.sectors:
        return turn.settings.in_sector_order(options, lambda o: o.name)
    return options


def _pairs(buttons: list[Button]) -> list[list[Button]]:
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def _audience_buttons(notice_id: int) -> list[list[Button]]:
    return _pairs(
        [
            button(Text(f"notices.audience_{kind.value}"), "audience", notice_id, kind.value)
            for kind in AUDIENCE_ORDER
        ]
    )


async def ask_audience(turn: Turn, notice_id: int) -> None:
    await turn.reply(View([Text("notices.saved_text")], _audience_buttons(notice_id)))


async def choose_audience(turn: Turn) -> None:
    """A kind of recipients was tapped: everyone is set at once, the others ask further."""
    data = pressed(turn)
    notice_id, kind = data.int_arg(0), enum_arg(data, 1, AudienceKind)
    if notice_id is None or kind is None:
        await stale(turn)
        return
    if kind is AudienceKind.everyone:
        async with turn.db.transaction() as session:
            view = await notices.set_audience(session, turn.member, notice_id, kind)
        if isinstance(view, Problem):
            await explain(turn, view)
            return
        await sending.ask_ack(turn, notice_id)
        return
    if kind is AudienceKind.phones:
        async with turn.db.transaction() as session:
            draft = await notices.get(session, turn.member, notice_id)
        if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
            await explain(turn, Problem.not_draft)
            return
        await turn.open_dialog(FLOW, "file", {"id": notice_id})
        await turn.reply(View.of("notices.send_list"))
        return
    async with turn.db.transaction() as session:
        draft = await notices.get(session, turn.member, notice_id)
        options = _in_order(turn, kind, await notices.choices(session, kind))
    if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
        await explain(turn, Problem.not_draft)
        return
    if not options:
        await turn.reply(View([Text("notices.no_choices")], _audience_buttons(notice_id)))
        return
    if kind is AudienceKind.activity:
        rows = [
            [button(f"{o.name} {local(turn, o.when)[:10]}".strip(), "activity", notice_id, o.id)]
            for o in options
        ]
        await turn.reply(View([Text("notices.choose_activity")], rows))
        return
    selected = set(draft.audience_ids) if draft.audience_kind is kind else set()
    await turn.open_dialog(FLOW, "names", {"id": notice_id, "kind": kind.value})
    await turn.reply(
        View(
            [Text(f"notices.choose_{kind.value}")],
            _toggle_buttons(notice_id, kind, options, selected),
        )
    )


def _toggle_buttons(
    notice_id: int, kind: AudienceKind, options: list[notices.Choice], selected: set[int]
) -> list[list[Button]]:
    rows = _pairs(
        [
            button(
                ("✅ " if o.id in selected else "") + o.name, "toggle", notice_id, kind.value, o.id
            )
            for o in options
        ]
    )
    rows.append([button(Text("notices.done_button"), "audience_done", notice_id)])
    return rows


async def toggle(turn: Turn) -> None:
    """A sector, committee or contact point tapped on or off; the buttons show the choice."""
    data = pressed(turn)
    notice_id, kind, ref = data.int_arg(0), enum_arg(data, 1, AudienceKind), data.int_arg(2)
    if notice_id is None or ref is None or kind is None or kind not in NAMED_KINDS:
        await stale(turn)
        return
    async with turn.db.transaction() as session:
        view = await notices.toggle_audience(session, turn.member, notice_id, kind, ref)
        options = _in_order(turn, kind, await notices.choices(session, kind))
    if isinstance(view, Problem):
        await explain(turn, view)
        return
    await turn.notify("notices.selected", count=len(view.audience_ids))
    await turn.edit_buttons(_toggle_buttons(notice_id, kind, options, set(view.audience_ids)))


async def audience_done(turn: Turn) -> None:
    """✅ under the tapped names: the selection becomes the recipients."""
    notice_id = pressed(turn).int_arg(0)
    if notice_id is None:
        await stale(turn)
        return
    async with turn.db.transaction() as session:
        draft = await notices.get(session, turn.member, notice_id)
        if isinstance(draft, Problem):
            await explain(turn, draft)
            return
        if draft.audience_kind not in NAMED_KINDS or not draft.audience_ids:
            await explain(turn, Problem.no_audience)
            return
        view = await notices.set_audience(
            session, turn.member, notice_id, draft.audience_kind, draft.audience_ids
        )
    if isinstance(view, Problem):
        await explain(turn, view)
        return
    await sending.ask_ack(turn, notice_id)


async def take_names(turn: Turn, notice_id: int, kind: AudienceKind) -> None:
    """Names typed instead of tapped ("经济界，农业界")."""
    text = typed(turn) or ""
    if not text.strip():
        await turn.reply(View.of(f"notices.choose_{kind.value}"))
        return
    async with turn.db.transaction() as session:
        ids, unknown = await notices.ids_for_names(session, kind, text)
        if unknown or not ids:
            names = "、".join(unknown) or text
            await turn.reply(View.of("notices.unknown_names", names=names))
            return
        view = await notices.set_audience(session, turn.member, notice_id, kind, ids)
    if isinstance(view, Problem):
        await explain(turn, view)
        return
    await turn.reply(View.of("notices.selected", count=len(view.audience_ids)))
    await sending.ask_ack(turn, notice_id)


async def pick_activity(turn: Turn) -> None:
    """An activity tapped: those signed up for it (checked in too) are the recipients."""
    data = pressed(turn)
    notice_id, activity_id = data.int_arg(0), data.int_arg(1)
    if notice_id is None or activity_id is None:
        await stale(turn)
        return
    async with turn.db.transaction() as session:
        view = await notices.set_audience(
            session, turn.member, notice_id, AudienceKind.activity, [activity_id]
        )
    if isinstance(view, Problem):
        await explain(turn, view)
        return
    await sending.ask_ack(turn, notice_id)


async def take_list(turn: Turn, notice_id: int) -> None:
    """An uploaded list of phone numbers: those bound to a member are the recipients."""
    media = turn.media
    document = media if media is not None and media["kind"] == "document" else None
    name = str(document["name"]).lower() if document is not None else ""
    if document is None or not name.endswith(notices.LIST_SUFFIXES):
        await turn.reply(View.of("notices.list_wrong_type"))
        return
    if (document["size"] or 0) > MAX_LIST_BYTES:
        await turn.reply(View.of("notices.list_too_big", mb=MAX_LIST_BYTES // (1024 * 1024)))
        return
    # A failed download goes to the error handler, as before: "something went wrong".
    data = await turn.download(document)
    try:
        cells = await asyncio.to_thread(notices.phone_cells, data, name)
    except notices.ListFileError:
        await turn.reply(View.of("notices.list_unreadable_file"))
        return
    async with turn.db.transaction() as session:
        match = await notices.match_phones(session, cells)
        if not match.member_ids:
            await turn.reply(View.of("notices.list_nobody"))
            return
        view = await notices.set_audience(
            session, turn.member, notice_id, AudienceKind.phones, match.member_ids
        )
    if isinstance(view, Problem):
        await explain(turn, view)
        return
    lines = [Text.of("notices.list_result", matched=len(match.member_ids))]
    if match.unknown:
        shown = "、".join(match.unknown[:10])
        more = "…" if len(match.unknown) > 10 else ""
        lines.append(
            Text.of("notices.list_unknown", count=len(match.unknown), numbers=shown + more)
        )
    if match.unreadable:
        lines.append(Text.of("notices.list_unreadable", count=match.unreadable))
    await turn.reply(View(lines))
    await sending.ask_ack(turn, notice_id)


async def change_audience(turn: Turn) -> None:
    """👥 on the preview: back to choosing recipients (the text stays)."""
    draft = await pressed_draft(turn)
    if draft is None:
        return
    await turn.open_dialog(FLOW, "audience", {"id": draft.id})
    await ask_audience(turn, draft.id)
