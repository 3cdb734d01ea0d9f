"""Choosing a notice's recipients: everyone, sectors, committees or contact points (tapped or
typed), those signed up for an activity, or an uploaded list of phone numbers; and going back
to this step from the preview."""

from __future__ import annotations

import asyncio

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import BotContext
from handlers.callbacks import Callback
from handlers.notices import sending
from handlers.notices.common import FLOW, cb, enum_arg, explain, local, stale
from handlers.replies import answer_callback, inline, say, send_text
from handlers.wiring import open_dialog
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


def _audience_markup(ctx: BotContext, notice_id: int) -> InlineKeyboardMarkup:
    buttons = [
        (ctx.t(f"notices.audience_{kind.value}"), cb("audience", notice_id, kind.value))
        for kind in AUDIENCE_ORDER
    ]
    return inline([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def ask_audience(update: Update, ctx: BotContext, notice_id: int) -> None:
    await say(update, ctx, "notices.saved_text", markup=_audience_markup(ctx, notice_id))


async def choose_audience(update: Update, ctx: BotContext, data: Callback) -> None:
    """A kind of recipients was tapped: everyone is set at once, the others ask further."""
    notice_id, kind = data.int_arg(0), enum_arg(data, 1, AudienceKind)
    if notice_id is None or kind is None:
        await stale(update, ctx)
        return
    if kind is AudienceKind.everyone:
        async with ctx.db.transaction() as session:
            view = await notices.set_audience(session, ctx.member, notice_id, kind)
        if isinstance(view, Problem):
            await explain(update, ctx, view)
            return
        await sending.ask_ack(update, ctx, notice_id)
        return
    if kind is AudienceKind.phones:
        async with ctx.db.transaction() as session:
            draft = await notices.get(session, ctx.member, notice_id)
        if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
            await explain(update, ctx, Problem.not_draft)
            return
        await open_dialog(update, ctx, FLOW, "file", {"id": notice_id})
        await say(update, ctx, "notices.send_list")
        return
    async with ctx.db.transaction() as session:
        draft = await notices.get(session, ctx.member, notice_id)
        options = await notices.choices(session, kind)
    if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
        await explain(update, ctx, Problem.not_draft)
        return
    if not options:
        await say(update, ctx, "notices.no_choices", markup=_audience_markup(ctx, notice_id))
        return
    if kind is AudienceKind.activity:
        rows = [
            [(f"{o.name} {local(ctx, o.when)[:10]}".strip(), cb("activity", notice_id, o.id))]
            for o in options
        ]
        await say(update, ctx, "notices.choose_activity", markup=inline(rows))
        return
    selected = set(draft.audience_ids) if draft.audience_kind is kind else set()
    await open_dialog(update, ctx, FLOW, "names", {"id": notice_id, "kind": kind.value})
    await say(
        update,
        ctx,
        f"notices.choose_{kind.value}",
        markup=_toggle_markup(ctx, notice_id, kind, options, selected),
    )


def _toggle_markup(
    ctx: BotContext,
    notice_id: int,
    kind: AudienceKind,
    options: list[notices.Choice],
    selected: set[int],
) -> InlineKeyboardMarkup:
    buttons = [
        (("✅ " if o.id in selected else "") + o.name, cb("toggle", notice_id, kind.value, o.id))
        for o in options
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(ctx.t("notices.done_button"), cb("audience_done", notice_id))])
    return inline(rows)


async def toggle(update: Update, ctx: BotContext, data: Callback) -> None:
    """A sector, committee or contact point tapped on or off; the keyboard shows the choice."""
    query = update.callback_query
    assert query is not None
    notice_id, kind, ref = data.int_arg(0), enum_arg(data, 1, AudienceKind), data.int_arg(2)
    if notice_id is None or ref is None or kind is None or kind not in NAMED_KINDS:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        view = await notices.toggle_audience(session, ctx.member, notice_id, kind, ref)
        options = await notices.choices(session, kind)
    if isinstance(view, Problem):
        await explain(update, ctx, view)
        return
    await answer_callback(update, ctx, "notices.selected", count=len(view.audience_ids))
    markup = _toggle_markup(ctx, notice_id, kind, options, set(view.audience_ids))
    try:
        await query.edit_message_reply_markup(markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def audience_done(update: Update, ctx: BotContext, data: Callback) -> None:
    """✅ under the tapped names: the selection becomes the recipients."""
    notice_id = data.int_arg(0)
    if notice_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        draft = await notices.get(session, ctx.member, notice_id)
        if isinstance(draft, Problem):
            await explain(update, ctx, draft)
            return
        if draft.audience_kind not in NAMED_KINDS or not draft.audience_ids:
            await explain(update, ctx, Problem.no_audience)
            return
        view = await notices.set_audience(
            session, ctx.member, notice_id, draft.audience_kind, draft.audience_ids
        )
    if isinstance(view, Problem):
        await explain(update, ctx, view)
        return
    await sending.ask_ack(update, ctx, notice_id)


async def take_names(
    update: Update, ctx: BotContext, notice_id: int, kind: AudienceKind, message: Message
) -> None:
    """Names typed instead of tapped ("经济界，农业界")."""
    if not (message.text or "").strip():
        await say(update, ctx, f"notices.choose_{kind.value}")
        return
    async with ctx.db.transaction() as session:
        ids, unknown = await notices.ids_for_names(session, kind, message.text or "")
        if unknown or not ids:
            names = "、".join(unknown) or message.text or ""
            await say(update, ctx, "notices.unknown_names", names=names)
            return
        view = await notices.set_audience(session, ctx.member, notice_id, kind, ids)
    if isinstance(view, Problem):
        await explain(update, ctx, view)
        return
    await say(update, ctx, "notices.selected", count=len(view.audience_ids))
    await sending.ask_ack(update, ctx, notice_id)


async def pick_activity(update: Update, ctx: BotContext, data: Callback) -> None:
    """An activity tapped: those signed up for it (checked in too) are the recipients."""
    notice_id, activity_id = data.int_arg(0), data.int_arg(1)
    if notice_id is None or activity_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        view = await notices.set_audience(
            session, ctx.member, notice_id, AudienceKind.activity, [activity_id]
        )
    if isinstance(view, Problem):
        await explain(update, ctx, view)
        return
    await sending.ask_ack(update, ctx, notice_id)


async def take_list(update: Update, ctx: BotContext, notice_id: int, message: Message) -> None:
    """An uploaded list of phone numbers: those bound to a member are the recipients."""
    document = message.document
    name = (document.file_name or "").lower() if document else ""
    if document is None or not name.endswith(notices.LIST_SUFFIXES):
        await say(update, ctx, "notices.list_wrong_type")
        return
    if (document.file_size or 0) > MAX_LIST_BYTES:
        await say(update, ctx, "notices.list_too_big", mb=MAX_LIST_BYTES // (1024 * 1024))
        return
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    try:
        cells = await asyncio.to_thread(notices.phone_cells, data, name)
    except notices.ListFileError:
        await say(update, ctx, "notices.list_unreadable_file")
        return
    async with ctx.db.transaction() as session:
        match = await notices.match_phones(session, cells)
        if not match.member_ids:
            await say(update, ctx, "notices.list_nobody")
            return
        view = await notices.set_audience(
            session, ctx.member, notice_id, AudienceKind.phones, match.member_ids
        )
    if isinstance(view, Problem):
        await explain(update, ctx, view)
        return
    lines = [ctx.t("notices.list_result", matched=len(match.member_ids))]
    if match.unknown:
        shown = "、".join(match.unknown[:10])
        more = "…" if len(match.unknown) > 10 else ""
        lines.append(ctx.t("notices.list_unknown", count=len(match.unknown), numbers=shown + more))
    if match.unreadable:
        lines.append(ctx.t("notices.list_unreadable", count=match.unreadable))
    await send_text(update, ctx, "\n".join(lines))
    await sending.ask_ack(update, ctx, notice_id)


async def change_audience(update: Update, ctx: BotContext, data: Callback) -> None:
    """👥 on the preview: back to choosing recipients (the text stays)."""
    notice_id = data.int_arg(0)
    if notice_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        draft = await notices.get(session, ctx.member, notice_id)
    if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
        await explain(update, ctx, Problem.not_draft)
        return
    await open_dialog(update, ctx, FLOW, "audience", {"id": notice_id})
    await ask_audience(update, ctx, notice_id)
