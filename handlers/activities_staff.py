"""Activities for staff: create (guided, or a batch spreadsheet), edit, postpone, cancel,
publish with invitations, roster and its export, the check-in code."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.exports import activities as export
from bot.i18n import Markup, escape
from bot.telegram_text import MAX_TEXT_LENGTH, truncate_html, truncate_utf16
from handlers import callbacks
from handlers.activities import (
    DEEPLINK,
    count_text,
    details_text,
    notify,
    rules,
    type_name,
)
from handlers.guards import staff_only
from handlers.replies import edit_or_send, inline, say, send_text
from handlers.wiring import Wiring, close_dialog, open_dialog
from storage import activities as acts
from storage import activity_import as importer
from storage import audit
from storage.activities import ActivityView, Change, EditResult, Field, Problem, Roster
from storage.dialogs import Dialog
from storage.models import ActivityStatus, ActivityType, TargetKind

log = logging.getLogger(__name__)

FEATURE = "acs"
EDIT_FLOW = "acs_edit"
POSTPONE_FLOW = "acs_postpone"
CANCEL_FLOW = "acs_cancel"
IMPORT_FLOW = "acs_import"
PAGE_SIZE = 8
AUDIENCE = "audience"
AUDIENCE_NAMES = "audience_names"
# The guided creation asks these in order; an edit asks one of them.
STEPS = (
    Field.title.value,
    Field.description.value,
    Field.starts_at.value,
    Field.ends_at.value,
    Field.place.value,
    Field.capacity.value,
    Field.signup_deadline.value,
    AUDIENCE,
    Field.reply_required.value,
)
SKIPPABLE = {
    Field.description.value: "",
    Field.capacity.value: None,
    Field.signup_deadline.value: None,
}
EDITABLE_PUBLISHED = (
    Field.title.value,
    Field.description.value,
    Field.starts_at.value,
    Field.ends_at.value,
    Field.place.value,
    Field.capacity.value,
    Field.signup_deadline.value,
)
DATE_STEPS = (Field.starts_at.value, Field.ends_at.value, Field.signup_deadline.value)
MAX_IMPORT_BYTES = 5 * 1024 * 1024
ROSTER_NAMES = 30  # names per section in the roster message; the export has everyone
STATUS_ICON = {
    ActivityStatus.draft: "📝",
    ActivityStatus.published: "✅",
    ActivityStatus.postponed: "⏰",
    ActivityStatus.cancelled: "❌",
}


def _stale(ctx: BotContext) -> str:
    return ctx.t("common.stale_button")


async def _alert(update: Update, ctx: BotContext, key: str, **params: object) -> None:
    """An alert on the button; a message when there is no button or it was answered already."""
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(ctx.plain(key, **params), show_alert=True)
            return
        except BadRequest:
            pass  # "query is already answered": say it in the chat instead
    await say(update, ctx, key, **params)


# -- home and list --------------------------------------------------------------------------


@staff_only
async def home(update: Update, ctx: BotContext) -> None:
    """Menu button: every activity, newest first, with create and import."""
    await _home(update, ctx, 1)


async def _home(update: Update, ctx: BotContext, page: int) -> None:
    async with ctx.db.transaction() as session:
        found = await acts.staff_list(session, page=page, size=PAGE_SIZE)
    tz = ctx.settings.tz
    rows: list[list[tuple[str, str]]] = [
        [
            (ctx.t("activities.btn_new"), callbacks.make(FEATURE, "new")),
            (ctx.t("activities.btn_import"), callbacks.make(FEATURE, "imp")),
        ]
    ]
    for a in found.items:
        start = a.starts_at.astimezone(tz).strftime("%m-%d") if a.starts_at else "--"
        title = a.title or ctx.t("activities.untitled")
        label = f"{STATUS_ICON[a.status]} {start} {title}"
        rows.append([(label[:60], callbacks.make(FEATURE, "v", a.id))])
    nav: list[tuple[str, str]] = []
    if found.page > 1:
        nav.append((ctx.t("common.prev_page"), callbacks.make(FEATURE, "home", found.page - 1)))
    if found.page < found.pages:
        nav.append((ctx.t("common.next_page"), callbacks.make(FEATURE, "home", found.page + 1)))
    if nav:
        rows.append(nav)
    text = ctx.t("activities.staff_home", total=found.total, page=found.page, pages=found.pages)
    await edit_or_send(update, ctx, text, markup=inline(rows))


# -- the staff card ---------------------------------------------------------------------------


async def _audience_text(ctx: BotContext, activity_id: int) -> str:
    async with ctx.db.transaction() as session:
        targets = await acts.targets(session, activity_id)
        invited = await acts.invited_count(session, activity_id)
    if not targets:
        return ctx.t("activities.audience_none")
    parts: dict[TargetKind, list[str]] = {}
    for t in targets:
        parts.setdefault(t.kind, []).append(t.name)
    text = "；".join(
        ctx.t("activities.audience_everyone")
        if kind is TargetKind.everyone
        else ctx.t(f"activities.audience_{kind.value}", names="、".join(names))
        for kind, names in parts.items()
    )
    # text is joined from texts made by ctx.t just above (the names escaped there).
    return ctx.t("activities.audience_line", audience=Markup(text), count=invited)


async def render_staff_card(ctx: BotContext, a: ActivityView) -> tuple[str, InlineKeyboardMarkup]:
    lines = details_text(ctx, a) if a.title else [ctx.t("activities.untitled")]
    lines.append(await _audience_text(ctx, a.id))
    lines.append(ctx.t("activities.staff_status", status=ctx.t(f"activities.astatus_{a.status}")))
    if a.status is not ActivityStatus.draft:
        lines.append(
            ctx.t(
                "activities.staff_counts",
                count=count_text(ctx, a),
                leave=a.leave,
                checked_in=a.checked_in,
            )
        )
        lines.append(ctx.t("activities.card_link", link=ctx.deep_link(f"{DEEPLINK}{a.id}")))
    rows: list[list[tuple[str, str]]] = []
    if a.status is ActivityStatus.draft:
        async with ctx.db.transaction() as session:
            has_targets = bool(await acts.targets(session, a.id))
        missing = acts.missing_field(a, has_targets)
        if missing is not None:
            lines.append(
                ctx.t("activities.draft_missing", field=ctx.t(f"activities.field_{missing}"))
            )
            rows.append([(ctx.t("activities.btn_continue"), callbacks.make(FEATURE, "go", a.id))])
        else:
            rows.append(
                [
                    (
                        ctx.t("activities.btn_publish_notify"),
                        callbacks.make(FEATURE, "pub", a.id, 1),
                    ),
                    (
                        ctx.t("activities.btn_publish_quiet"),
                        callbacks.make(FEATURE, "pub", a.id, 0),
                    ),
                ]
            )
        rows.append(
            [
                (ctx.t("activities.btn_edit"), callbacks.make(FEATURE, "ed", a.id)),
                (ctx.t("activities.btn_discard"), callbacks.make(FEATURE, "cx", a.id)),
            ]
        )
    elif a.is_open:
        rows.append(
            [
                (ctx.t("activities.btn_edit"), callbacks.make(FEATURE, "ed", a.id)),
                (ctx.t("activities.btn_postpone"), callbacks.make(FEATURE, "pp", a.id)),
                (ctx.t("activities.btn_cancel_activity"), callbacks.make(FEATURE, "cx", a.id)),
            ]
        )
        rows.append(
            [
                (ctx.t("activities.btn_roster"), callbacks.make(FEATURE, "ro", a.id)),
                (ctx.t("activities.btn_export"), callbacks.make(FEATURE, "x", a.id)),
                (ctx.t("activities.btn_code"), callbacks.make(FEATURE, "code", a.id)),
            ]
        )
    else:
        rows.append(
            [
                (ctx.t("activities.btn_roster"), callbacks.make(FEATURE, "ro", a.id)),
                (ctx.t("activities.btn_export"), callbacks.make(FEATURE, "x", a.id)),
            ]
        )
    rows.append([(ctx.t("activities.btn_back"), callbacks.make(FEATURE, "home", 1))])
    return "\n".join(lines), inline(rows)


async def _card(update: Update, ctx: BotContext, activity_id: int, *, new: bool = False) -> None:
    async with ctx.db.transaction() as session:
        a = await acts.view(session, activity_id)
    if a is None:
        await _alert(update, ctx, "common.stale_button")
        return
    text, markup = await render_staff_card(ctx, a)
    if new:
        await send_text(update, ctx, text, markup=markup)
    else:
        await edit_or_send(update, ctx, text, markup=markup)


# -- buttons ------------------------------------------------------------------------------


@staff_only
async def on_button(update: Update, ctx: BotContext) -> None:
    """Every staff button of the feature; ids are re-checked on the server."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.parse(query.data)
    if cb is None:
        await query.answer(_stale(ctx), show_alert=True)
        return
    if cb.action == "home":
        await query.answer()
        await _home(update, ctx, cb.int_arg(0) or 1)
        return
    if cb.action == "new":
        await query.answer()
        rows = [[(type_name(ctx, t), callbacks.make(FEATURE, "nt", t.value))] for t in ActivityType]
        await say(update, ctx, "activities.ask_type", markup=inline(rows))
        return
    if cb.action == "nt":
        await _create(update, ctx, cb.arg(0) or "")
        return
    if cb.action == "imp":
        await _ask_import(update, ctx)
        return
    if cb.action == "pb":
        await _publish_batch(update, ctx, cb.arg(0) or "", cb.arg(1) == "1")
        return
    activity_id = cb.int_arg(0)
    if activity_id is None:
        await query.answer(_stale(ctx), show_alert=True)
        return
    async with ctx.db.transaction() as session:
        a = await acts.view(session, activity_id)
    if a is None:
        await query.answer(_stale(ctx), show_alert=True)
        return
    action = cb.action
    if action == "v":
        await query.answer()
        await _card(update, ctx, activity_id)
    elif action == "go":
        await query.answer()
        async with ctx.db.transaction() as session:
            has_targets = bool(await acts.targets(session, activity_id))
        missing = acts.missing_field(a, has_targets) or Field.title.value
        await _ask_step(update, ctx, activity_id, missing, mode="create")
    elif action == "ed":
        await query.answer()
        await _edit_menu(update, ctx, a)
    elif action == "ef":
        step = cb.arg(1) or ""
        allowed = STEPS if a.status is ActivityStatus.draft else EDITABLE_PUBLISHED
        if step not in allowed or not (a.is_open or a.status is ActivityStatus.draft):
            await query.answer(_stale(ctx), show_alert=True)
            return
        await query.answer()
        await _ask_step(update, ctx, activity_id, step, mode="edit")
    elif action in ("sk", "au", "rr"):
        await _step_button(update, ctx, activity_id, action, cb.arg(1) or "")
    elif action == "pub":
        await _publish(update, ctx, activity_id, cb.arg(1) == "1")
    elif action == "pp":
        if not a.is_open:
            await query.answer(_stale(ctx), show_alert=True)
            return
        await query.answer()
        await open_dialog(update, ctx, POSTPONE_FLOW, "start", {"id": activity_id})
        await say(update, ctx, "activities.ask_postpone", title=a.title)
    elif action == "cx":
        if a.status is ActivityStatus.cancelled:
            await query.answer(_stale(ctx), show_alert=True)
            return
        if a.status is ActivityStatus.draft:
            await _discard(update, ctx, activity_id)
            return
        await query.answer()
        await open_dialog(update, ctx, CANCEL_FLOW, "reason", {"id": activity_id})
        await say(update, ctx, "activities.ask_cancel_reason", title=a.title or "—")
    elif action == "ro":
        await query.answer()
        await _roster(update, ctx, activity_id)
    elif action == "x":
        await query.answer()
        await _export(update, ctx, activity_id)
    elif action == "code":
        await _code(update, ctx, a, renew=cb.arg(1) == "new")
    else:
        await query.answer(_stale(ctx), show_alert=True)


# -- creating and editing -------------------------------------------------------------------


async def _create(update: Update, ctx: BotContext, kind: str) -> None:
    assert ctx.viewer is not None
    if kind not in ActivityType.__members__:
        await _alert(update, ctx, "common.stale_button")
        return
    async with ctx.db.transaction() as session:
        activity_id = await acts.create_draft(session, ActivityType(kind), ctx.viewer.actor)
    if update.callback_query is not None:
        await update.callback_query.answer()
    await _ask_step(update, ctx, activity_id, STEPS[0], mode="create")


async def _ask_step(
    update: Update, ctx: BotContext, activity_id: int, step: str, *, mode: str, **data: str
) -> None:
    """Open the dialog on one step and ask its question (with the current value when editing)."""
    await open_dialog(update, ctx, EDIT_FLOW, step, {"id": activity_id, "mode": mode, **data})
    rows: list[list[tuple[str, str]]] = []
    if step in SKIPPABLE:
        rows.append(
            [
                (
                    ctx.t(f"activities.btn_skip_{step}"),
                    callbacks.make(FEATURE, "sk", activity_id, step),
                )
            ]
        )
    if step == AUDIENCE:
        rows += [
            [
                (
                    ctx.t(f"activities.kind_{k.value}"),
                    callbacks.make(FEATURE, "au", activity_id, k.value),
                )
            ]
            for k in TargetKind
        ]
    if step == Field.reply_required.value:
        rows.append(
            [
                (ctx.t("common.yes"), callbacks.make(FEATURE, "rr", activity_id, 1)),
                (ctx.t("common.no"), callbacks.make(FEATURE, "rr", activity_id, 0)),
            ]
        )
    key = f"activities.ask_{step}"
    if step == AUDIENCE_NAMES:
        key = f"activities.ask_names_{data.get('kind', 'member')}"
    text = ctx.t(key)
    if mode == "edit" and step in EDITABLE_PUBLISHED:
        async with ctx.db.transaction() as session:
            activity = await acts.get(session, activity_id)
            current = acts.field_text(activity, Field(step), ctx.settings.tz) if activity else ""
        # A long description is shortened so the question around it still fits a message.
        value = truncate_utf16(current or "—", 3000)
        text += "\n" + ctx.t("activities.current_value", value=value)
    if mode == "create":
        number = STEPS.index(AUDIENCE if step == AUDIENCE_NAMES else step) + 1
        text = ctx.t("activities.step", n=number, total=len(STEPS)) + "\n" + text
    await send_text(update, ctx, text, markup=inline(rows) if rows else None)


async def edit_input(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """The creation / edit dialog: what the staff member typed for the open step."""
    message = update.effective_message
    if ctx.viewer is None or not ctx.viewer.is_staff:
        await close_dialog(update, ctx)
        await say(update, ctx, "common.staff_only")
        return
    activity_id = int(dialog.data.get("id", 0))
    step = dialog.step
    text = (message.text or "").strip() if message is not None else ""
    if step in (AUDIENCE, Field.reply_required.value):
        await say(update, ctx, "activities.use_buttons")
        return
    if not text:
        await say(update, ctx, "activities.need_text")
        return
    now = ctx.now()
    tz = ctx.settings.tz
    if step == AUDIENCE_NAMES:
        kind = TargetKind(str(dialog.data.get("kind", TargetKind.member.value)))
        async with ctx.db.transaction() as session:
            found = await acts.resolve_targets(session, kind, text)
            if found.unknown or not found.targets:
                await say(
                    update,
                    ctx,
                    "activities.unknown_names",
                    names="、".join(found.unknown) or text,
                )
                return
            await acts.set_targets(session, activity_id, found.targets, actor=ctx.viewer.actor)
        await _next(update, ctx, dialog, AUDIENCE)
        return
    field = Field(step)
    change: Change
    if step in DATE_STEPS:
        base = None
        if field is Field.ends_at:
            async with ctx.db.transaction() as session:
                activity = await acts.get(session, activity_id)
                base = activity.starts_at if activity else None
        moment = importer.parse_when(text, tz=tz, now=now, base=base)
        if moment is None:
            key = "activities.bad_end_date" if field is Field.ends_at else "activities.bad_date"
            await say(update, ctx, key, example=_example(ctx))
            return
        change = Change(field, moment)
    elif field is Field.capacity:
        capacity = importer.parse_capacity(text)
        if isinstance(capacity, importer.CapacityError):
            await say(update, ctx, "activities.bad_capacity")
            return
        change = Change(field, capacity)
    elif field is Field.place:
        async with ctx.db.transaction() as session:
            point = await acts.find_liaison_point(session, text)
        change = Change(field, text, point)
    else:
        change = Change(field, text)
    await _apply_change(update, ctx, dialog, change)


def _example(ctx: BotContext) -> str:
    """An example date a week ahead, in the format the bot asks for."""
    sample = (ctx.now() + timedelta(days=7)).astimezone(ctx.settings.tz)
    return sample.replace(hour=14, minute=30).strftime("%Y-%m-%d %H:%M")


async def _apply_change(update: Update, ctx: BotContext, dialog: Dialog, change: Change) -> None:
    assert ctx.viewer is not None
    activity_id = int(dialog.data.get("id", 0))
    async with ctx.db.transaction() as session:
        result = await acts.update_field(
            session, activity_id, change, actor=ctx.viewer.actor, now=ctx.now(), notify=notify(ctx)
        )
    if not result.ok:
        await _problem(update, ctx, result)
        if result.problem in (Problem.not_found, Problem.not_editable):
            await close_dialog(update, ctx)
        return
    if result.notified or result.promoted:
        ctx.runtime.outbox_signal()
    if dialog.data.get("mode") == "edit":
        await close_dialog(update, ctx)
        await say(update, ctx, "activities.edited", notified=result.notified)
        await _card(update, ctx, activity_id, new=True)
        return
    await _next(update, ctx, dialog, dialog.step)


async def _next(update: Update, ctx: BotContext, dialog: Dialog, done_step: str) -> None:
    """After a step: the next question when creating; the card when editing or finished."""
    activity_id = int(dialog.data.get("id", 0))
    if dialog.data.get("mode") != "create" or done_step not in STEPS:
        await close_dialog(update, ctx)
        await say(update, ctx, "activities.edited", notified=0)
        await _card(update, ctx, activity_id, new=True)
        return
    index = STEPS.index(done_step)
    if index + 1 < len(STEPS):
        await _ask_step(update, ctx, activity_id, STEPS[index + 1], mode="create")
        return
    await close_dialog(update, ctx)
    await say(update, ctx, "activities.draft_ready")
    await _card(update, ctx, activity_id, new=True)


async def _problem(update: Update, ctx: BotContext, result: EditResult) -> None:
    assert result.problem is not None
    params: dict[str, object] = {"detail": result.detail, "example": _example(ctx)}
    if result.problem is Problem.incomplete:
        params["detail"] = ctx.t(f"activities.field_{result.detail}")
    await _alert(update, ctx, f"activities.problem_{result.problem.value}", **params)


async def _step_button(
    update: Update, ctx: BotContext, activity_id: int, action: str, value: str
) -> None:
    """Skip / audience kind / yes-no buttons: only for the step the dialog is on."""
    assert ctx.viewer is not None
    dialog = ctx.dialog
    expected = {"sk": value, "au": AUDIENCE, "rr": Field.reply_required.value}[action]
    if (
        dialog is None
        or dialog.flow != EDIT_FLOW
        or dialog.data.get("id") != activity_id
        or dialog.step != expected
    ):
        await _alert(update, ctx, "common.stale_button")
        return
    query = update.callback_query
    assert query is not None
    if action == "sk" and value in SKIPPABLE:
        await query.answer()
        await _apply_change(update, ctx, dialog, Change(Field(value), SKIPPABLE[value]))
    elif action == "rr" and value in ("0", "1"):
        await query.answer()
        await _apply_change(update, ctx, dialog, Change(Field.reply_required, value == "1"))
    elif action == "au" and value in TargetKind.__members__:
        await query.answer()
        kind = TargetKind(value)
        if kind is TargetKind.everyone:
            async with ctx.db.transaction() as session:
                await acts.set_targets(
                    session, activity_id, [acts.TargetSpec(kind)], actor=ctx.viewer.actor
                )
            await _next(update, ctx, dialog, AUDIENCE)
            return
        await _ask_step(
            update,
            ctx,
            activity_id,
            AUDIENCE_NAMES,
            mode=str(dialog.data.get("mode", "create")),
            kind=kind.value,
        )
    else:
        await query.answer(_stale(ctx), show_alert=True)


async def _edit_menu(update: Update, ctx: BotContext, a: ActivityView) -> None:
    if not (a.is_open or a.status is ActivityStatus.draft):
        await say(update, ctx, "activities.problem_not_editable")
        return
    fields = STEPS if a.status is ActivityStatus.draft else EDITABLE_PUBLISHED
    buttons = [
        (ctx.t(f"activities.field_{f}"), callbacks.make(FEATURE, "ef", a.id, f)) for f in fields
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([(ctx.t("activities.btn_back"), callbacks.make(FEATURE, "v", a.id))])
    key = (
        "activities.edit_which"
        if a.status is ActivityStatus.draft
        else "activities.edit_which_published"
    )
    await edit_or_send(update, ctx, ctx.t(key, title=a.title or "—"), markup=inline(rows))


# -- publish, postpone, cancel --------------------------------------------------------------


async def _publish(update: Update, ctx: BotContext, activity_id: int, notify_members: bool) -> None:
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        result = await acts.publish(
            session,
            activity_id,
            actor=ctx.viewer.actor,
            now=ctx.now(),
            notify_members=notify_members,
            notify=notify(ctx),
        )
    if not result.ok:
        await _problem(update, ctx, result)
        return
    if result.notified:
        ctx.runtime.outbox_signal()
    if update.callback_query is not None:
        await update.callback_query.answer()
    key = "activities.published_notified" if notify_members else "activities.published_quiet"
    await say(update, ctx, key, notified=result.notified)
    await _card(update, ctx, activity_id, new=True)


async def _discard(update: Update, ctx: BotContext, activity_id: int) -> None:
    """A draft nobody has seen is dropped without asking for a reason."""
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        result = await acts.cancel_activity(
            session,
            activity_id,
            reason="",
            actor=ctx.viewer.actor,
            now=ctx.now(),
            notify=notify(ctx),
        )
    if not result.ok:
        await _problem(update, ctx, result)
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    await say(update, ctx, "activities.draft_discarded")
    await _home(update, ctx, 1)


async def postpone_input(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """The postpone dialog: the new start time."""
    message = update.effective_message
    if ctx.viewer is None or not ctx.viewer.is_staff:
        await close_dialog(update, ctx)
        await say(update, ctx, "common.staff_only")
        return
    activity_id = int(dialog.data.get("id", 0))
    text = (message.text or "").strip() if message else ""
    moment = importer.parse_when(text, tz=ctx.settings.tz, now=ctx.now())
    if moment is None:
        await say(update, ctx, "activities.bad_date", example=_example(ctx))
        return
    async with ctx.db.transaction() as session:
        result = await acts.postpone(
            session, activity_id, moment, actor=ctx.viewer.actor, now=ctx.now(), notify=notify(ctx)
        )
    if not result.ok:
        await _problem(update, ctx, result)
        if result.problem in (Problem.not_found, Problem.not_editable):
            await close_dialog(update, ctx)
        return
    await close_dialog(update, ctx)
    ctx.runtime.outbox_signal()
    await say(update, ctx, "activities.postponed", notified=result.notified)
    await _card(update, ctx, activity_id, new=True)


async def cancel_input(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """The cancel dialog: the reason, sent to everyone signed up."""
    message = update.effective_message
    if ctx.viewer is None or not ctx.viewer.is_staff:
        await close_dialog(update, ctx)
        await say(update, ctx, "common.staff_only")
        return
    activity_id = int(dialog.data.get("id", 0))
    text = (message.text or "").strip() if message else ""
    if not text:
        await say(update, ctx, "activities.need_text")
        return
    if len(text) > acts.REASON_MAX:
        await say(update, ctx, "common.text_too_long", length=len(text), limit=acts.REASON_MAX)
        return
    async with ctx.db.transaction() as session:
        result = await acts.cancel_activity(
            session,
            activity_id,
            reason=text,
            actor=ctx.viewer.actor,
            now=ctx.now(),
            notify=notify(ctx),
        )
    await close_dialog(update, ctx)
    if not result.ok:
        await _problem(update, ctx, result)
        return
    ctx.runtime.outbox_signal()
    await say(update, ctx, "activities.cancelled_activity", notified=result.notified)
    await _card(update, ctx, activity_id, new=True)


# -- roster, export, check-in code ----------------------------------------------------------


def _names(ctx: BotContext, entries: list[acts.RosterEntry], *, reasons: bool = False) -> str:
    shown = []
    for e in entries[:ROSTER_NAMES]:
        name: str = escape(e.name)
        if reasons:
            name += f"（{escape(e.leave_reason or '—')}）"
        if e.checked_in_at is not None:
            name += " ✅"
        shown.append(name)
    text = "、".join(shown) or "—"
    if len(entries) > ROSTER_NAMES:
        text += ctx.t("activities.roster_more", count=len(entries) - ROSTER_NAMES)
    return Markup(text)  # names escaped above; it goes into a text as it is


def render_roster(ctx: BotContext, roster: Roster) -> str:
    a = roster.activity
    lines = [
        ctx.t("activities.roster_title", title=a.title),
        ctx.t(
            "activities.card_when", when=acts.format_span(a.starts_at, a.ends_at, ctx.settings.tz)
        ),
        ctx.t("activities.card_count", count=count_text(ctx, a)),
        "",
        ctx.t(
            "activities.roster_signed_up",
            n=len(roster.signed_up),
            names=_names(ctx, roster.signed_up),
        ),
        ctx.t(
            "activities.roster_waiting", n=len(roster.waiting), names=_names(ctx, roster.waiting)
        ),
        ctx.t(
            "activities.roster_leave",
            n=len(roster.leave),
            names=_names(ctx, roster.leave, reasons=True),
        ),
        ctx.t(
            "activities.roster_checked_in",
            n=len(roster.checked_in),
            names=_names(ctx, roster.checked_in),
        ),
        ctx.t(
            "activities.roster_not_replied",
            n=len(roster.not_replied),
            names=_names(ctx, roster.not_replied),
        ),
    ]
    return truncate_html("\n".join(lines), MAX_TEXT_LENGTH)


async def _roster(update: Update, ctx: BotContext, activity_id: int) -> None:
    async with ctx.db.transaction() as session:
        roster = await acts.roster(session, activity_id)
    if roster is None:
        await _alert(update, ctx, "common.stale_button")
        return
    rows = [
        [
            (ctx.t("activities.btn_export"), callbacks.make(FEATURE, "x", activity_id)),
            (ctx.t("activities.btn_back"), callbacks.make(FEATURE, "v", activity_id)),
        ]
    ]
    await send_text(update, ctx, render_roster(ctx, roster), markup=inline(rows))


async def _export(update: Update, ctx: BotContext, activity_id: int) -> None:
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        roster = await acts.roster(session, activity_id)
        if roster is not None:
            # The roster carries names and phone numbers: who took it out is on record.
            rows = len(roster.signed_up) + len(roster.waiting) + len(roster.leave)
            rows += len(roster.not_replied) + len(roster.cancelled)
            await audit.record(
                session,
                ctx.viewer.actor,
                "activity.export",
                object_type="activity",
                object_id=activity_id,
                rows=rows,
            )
    chat = update.effective_chat
    if roster is None or chat is None:
        await _alert(update, ctx, "common.stale_button")
        return
    labels = export.Labels(ctx.t, ctx.settings.tz)
    data = await asyncio.to_thread(export.roster_xlsx, roster, labels)
    await ctx.bot.send_document(
        chat.id,
        InputFile(data, filename=f"activity-{activity_id}-roster.xlsx"),
        caption=ctx.t("activities.export_caption", title=roster.activity.title),
        parse_mode="HTML",
    )


async def _code(update: Update, ctx: BotContext, a: ActivityView, *, renew: bool) -> None:
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        code = await acts.checkin_code(session, a.id, actor=ctx.viewer.actor, renew=renew)
    if code is None or a.starts_at is None:
        await _alert(update, ctx, "common.stale_button")
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    opens, closes = rules(ctx).window(a.starts_at)
    tz = ctx.settings.tz
    text = ctx.t(
        "activities.code_text",
        code=code,
        title=a.title,
        opens=acts.format_local(opens, tz),
        closes=acts.format_local(closes, tz),
        link=ctx.deep_link(f"{DEEPLINK}{a.id}_{code}"),
        radius=ctx.settings.activity_checkin_radius_meters,
    )
    rows = [
        [
            (ctx.t("activities.btn_new_code"), callbacks.make(FEATURE, "code", a.id, "new")),
            (ctx.t("activities.btn_back"), callbacks.make(FEATURE, "v", a.id)),
        ]
    ]
    await send_text(update, ctx, text, markup=inline(rows))


# -- batch import ---------------------------------------------------------------------------


async def _ask_import(update: Update, ctx: BotContext) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()
    await open_dialog(update, ctx, IMPORT_FLOW, "file")
    sample_start = _example(ctx)
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
                    callbacks.make(FEATURE, "pb", report.batch, 1),
                )
            ],
            [
                (
                    ctx.t("activities.btn_publish_all_quiet"),
                    callbacks.make(FEATURE, "pb", report.batch, 0),
                )
            ],
            [(ctx.t("activities.btn_manage"), callbacks.make(FEATURE, "home", 1))],
        ]
    )
    await say(update, ctx, "activities.import_done", count=len(report.created), markup=markup)


async def _publish_batch(update: Update, ctx: BotContext, batch: str, notify_members: bool) -> None:
    assert ctx.viewer is not None
    published = notified = 0
    async with ctx.db.transaction() as session:
        ids = await acts.batch_ids(session, batch)
        for activity_id in ids:
            result = await acts.publish(
                session,
                activity_id,
                actor=ctx.viewer.actor,
                now=ctx.now(),
                notify_members=notify_members,
                notify=notify(ctx),
            )
            if result.ok:
                published += 1
                notified += result.notified
    if not ids:
        await _alert(update, ctx, "common.stale_button")
        return
    if notified:
        ctx.runtime.outbox_signal()
    if update.callback_query is not None:
        await update.callback_query.answer()
    await say(update, ctx, "activities.batch_published", count=published, notified=notified)


@staff_only
async def command(update: Update, ctx: BotContext) -> None:
    """/activities: the staff activity list."""
    await _home(update, ctx, 1)


def register(app: Application, wiring: Wiring) -> None:  # type: ignore[type-arg]
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(FEATURE)))
    app.add_handler(CommandHandler("activities", command))
    wiring.add_flow(EDIT_FLOW, edit_input)
    wiring.add_flow(POSTPONE_FLOW, postpone_input)
    wiring.add_flow(CANCEL_FLOW, cancel_input)
    wiring.add_flow(IMPORT_FLOW, import_file)
    wiring.add_menu("activities.menu_staff", home, staff=True, order=950)
