"""Creating and editing an activity as staff: the guided dialog that asks each field in turn
(a draft continues where it stopped), the edit menu for one field, and the dialog's buttons
(skip, audience kind, yes / no)."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.telegram_text import truncate_utf16
from handlers import callbacks
from handlers.activities.common import (
    STAFF,
    example_date,
    notify,
    problem,
    refuse,
    staff_activity,
    type_name,
)
from handlers.activities.staff_list import show_card
from handlers.callbacks import Callback
from handlers.replies import edit_or_send, inline, say, send_text
from handlers.wiring import close_dialog, open_dialog
from storage import activities as acts
from storage.activities import ActivityView, Change, Field, Problem, importer
from storage.dialogs import Dialog
from storage.models import ActivityStatus, ActivityType, TargetKind

EDIT_FLOW = "acs_edit"
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


# -- buttons that start or move the dialog ----------------------------------------------------


async def choose_type(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button "new activity": which type."""
    rows = [[(type_name(ctx, t), callbacks.make(STAFF, "new_type", t.value))] for t in ActivityType]
    await say(update, ctx, "activities.ask_type", markup=inline(rows))


async def create(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: the type chosen; a draft is created and the first question asked."""
    kind = cb.arg(0) or ""
    if kind not in ActivityType.__members__:
        await refuse(update, ctx, "common.stale_button")
        return
    async with ctx.db.transaction() as session:
        activity_id = await acts.create_draft(session, ActivityType(kind), ctx.member.actor)
    await _ask_step(update, ctx, activity_id, STEPS[0], mode="create")


async def resume(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button on a draft's card: ask the first field still missing."""
    a = await staff_activity(update, ctx, cb)
    if a is None:
        return
    async with ctx.db.transaction() as session:
        has_targets = bool(await acts.targets(session, a.id))
    missing = acts.missing_field(a, has_targets) or Field.title.value
    await _ask_step(update, ctx, a.id, missing, mode="create")


async def edit_menu(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: which field to change (every field of a draft, fewer once published)."""
    a = await staff_activity(update, ctx, cb)
    if a is None:
        return
    if not (a.is_open or a.status is ActivityStatus.draft):
        await say(update, ctx, "activities.problem_not_editable")
        return
    fields = STEPS if a.status is ActivityStatus.draft else EDITABLE_PUBLISHED
    buttons = [
        (ctx.t(f"activities.field_{f}"), callbacks.make(STAFF, "edit_field", a.id, f))
        for f in fields
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([(ctx.t("activities.btn_back"), callbacks.make(STAFF, "card", a.id))])
    key = (
        "activities.edit_which"
        if a.status is ActivityStatus.draft
        else "activities.edit_which_published"
    )
    await edit_or_send(update, ctx, ctx.t(key, title=a.title or "—"), markup=inline(rows))


async def edit_field(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button in the edit menu: ask that field, showing its current value."""
    a = await staff_activity(update, ctx, cb)
    if a is None:
        return
    step = cb.arg(1) or ""
    allowed = STEPS if a.status is ActivityStatus.draft else EDITABLE_PUBLISHED
    if step not in allowed or not (a.is_open or a.status is ActivityStatus.draft):
        await refuse(update, ctx, "common.stale_button")
        return
    await _ask_step(update, ctx, a.id, step, mode="edit")


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
                    callbacks.make(STAFF, "skip", activity_id, step),
                )
            ]
        )
    if step == AUDIENCE:
        rows += [
            [
                (
                    ctx.t(f"activities.kind_{k.value}"),
                    callbacks.make(STAFF, "audience", activity_id, k.value),
                )
            ]
            for k in TargetKind
        ]
    if step == Field.reply_required.value:
        rows.append(
            [
                (ctx.t("common.yes"), callbacks.make(STAFF, "reply_required", activity_id, 1)),
                (ctx.t("common.no"), callbacks.make(STAFF, "reply_required", activity_id, 0)),
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


# -- the dialog -------------------------------------------------------------------------------


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
            await say(update, ctx, key, example=example_date(ctx))
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


async def _apply_change(update: Update, ctx: BotContext, dialog: Dialog, change: Change) -> None:
    activity_id = int(dialog.data.get("id", 0))
    async with ctx.db.transaction() as session:
        result = await acts.update_field(
            session, activity_id, change, actor=ctx.member.actor, now=ctx.now(), notify=notify(ctx)
        )
    if not result.ok:
        await problem(update, ctx, result)
        if result.problem in (Problem.not_found, Problem.not_editable):
            await close_dialog(update, ctx)
        return
    if result.notified or result.promoted:
        ctx.runtime.outbox_signal()
    if dialog.data.get("mode") == "edit":
        await close_dialog(update, ctx)
        await say(update, ctx, "activities.edited", notified=result.notified)
        await show_card(update, ctx, activity_id, new=True)
        return
    await _next(update, ctx, dialog, dialog.step)


async def _next(update: Update, ctx: BotContext, dialog: Dialog, done_step: str) -> None:
    """After a step: the next question when creating; the card when editing or finished."""
    activity_id = int(dialog.data.get("id", 0))
    if dialog.data.get("mode") != "create" or done_step not in STEPS:
        await close_dialog(update, ctx)
        await say(update, ctx, "activities.edited", notified=0)
        await show_card(update, ctx, activity_id, new=True)
        return
    index = STEPS.index(done_step)
    if index + 1 < len(STEPS):
        await _ask_step(update, ctx, activity_id, STEPS[index + 1], mode="create")
        return
    await close_dialog(update, ctx)
    await say(update, ctx, "activities.draft_ready")
    await show_card(update, ctx, activity_id, new=True)


# -- the dialog's buttons: only for the step the dialog is on -------------------------------


async def _on_step(
    update: Update, ctx: BotContext, cb: Callback, expected: str
) -> tuple[ActivityView, Dialog] | None:
    """The activity and the open dialog when it is on step expected; else a stale button."""
    a = await staff_activity(update, ctx, cb)
    if a is None:
        return None
    dialog = ctx.dialog
    if (
        dialog is None
        or dialog.flow != EDIT_FLOW
        or dialog.data.get("id") != a.id
        or dialog.step != expected
    ):
        await refuse(update, ctx, "common.stale_button")
        return None
    return a, dialog


async def skip(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: leave an optional field empty."""
    value = cb.arg(1) or ""
    found = await _on_step(update, ctx, cb, value)
    if found is None:
        return
    if value not in SKIPPABLE:
        await refuse(update, ctx, "common.stale_button")
        return
    await _apply_change(update, ctx, found[1], Change(Field(value), SKIPPABLE[value]))


async def reply_required(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: yes / no, must members reply."""
    value = cb.arg(1) or ""
    found = await _on_step(update, ctx, cb, Field.reply_required.value)
    if found is None:
        return
    if value not in ("0", "1"):
        await refuse(update, ctx, "common.stale_button")
        return
    await _apply_change(update, ctx, found[1], Change(Field.reply_required, value == "1"))


async def audience(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: who is invited; everyone at once, else ask for the names of that kind."""
    value = cb.arg(1) or ""
    found = await _on_step(update, ctx, cb, AUDIENCE)
    if found is None:
        return
    if value not in TargetKind.__members__:
        await refuse(update, ctx, "common.stale_button")
        return
    a, dialog = found
    kind = TargetKind(value)
    if kind is TargetKind.everyone:
        async with ctx.db.transaction() as session:
            await acts.set_targets(session, a.id, [acts.TargetSpec(kind)], actor=ctx.member.actor)
        await _next(update, ctx, dialog, AUDIENCE)
        return
    await _ask_step(
        update,
        ctx,
        a.id,
        AUDIENCE_NAMES,
        mode=str(dialog.data.get("mode", "create")),
        kind=kind.value,
    )
