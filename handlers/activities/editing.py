"""Creating and editing an activity as staff: the guided dialog that asks each field in turn
(a draft continues where it stopped), the edit menu for one field, and the dialog's buttons
(skip, audience kind, the sectors, committees or liaison points to tap, yes / no)."""

from __future__ import annotations

from bot.telegram_text import truncate_utf16
from handlers.activities import messages
from handlers.activities.common import (
    counted,
    example_date,
    problem,
    refuse,
    staff_activity,
    staff_button,
    type_name,
    typed,
)
from handlers.activities.staff_list import show_card
from handlers.channel.turn import Turn
from handlers.channel.views import Button, Line, Text, View
from storage import activities as acts
from storage.activities import ActivityView, Change, EditResult, Field, Problem, importer
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


async def choose_type(turn: Turn) -> None:
    """Button "new activity": which type."""
    rows = [[staff_button(type_name(t), "new_type", t.value)] for t in ActivityType]
    await turn.reply(View([Text("activities.ask_type")], rows))


async def create(turn: Turn) -> None:
    """Button: the type chosen; a draft is created and the first question asked."""
    kind = turn.arg(0) or ""
    if kind not in ActivityType.__members__:
        await refuse(turn, "common.stale_button")
        return
    async with turn.db.transaction() as session:
        activity_id = await acts.create_draft(session, ActivityType(kind), turn.member.actor)
    await _ask_step(turn, activity_id, STEPS[0], mode="create")


async def resume(turn: Turn) -> None:
    """Button on a draft's card: ask the first field still missing."""
    a = await staff_activity(turn)
    if a is None:
        return
    async with turn.db.transaction() as session:
        has_targets = bool(await acts.targets(session, a.id))
    missing = acts.missing_field(a, has_targets) or Field.title.value
    await _ask_step(turn, a.id, missing, mode="create")


async def edit_menu(turn: Turn) -> None:
    """Button: which field to change (every field of a draft, fewer once published)."""
    a = await staff_activity(turn)
    if a is None:
        return
    if not (a.is_open or a.status is ActivityStatus.draft):
        await turn.reply(View.of("activities.problem_not_editable"))
        return
    fields = STEPS if a.status is ActivityStatus.draft else EDITABLE_PUBLISHED
    buttons = [staff_button(Text(f"activities.field_{f}"), "edit_field", a.id, f) for f in fields]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([staff_button(Text("activities.btn_back"), "card", a.id)])
    key = (
        "activities.edit_which"
        if a.status is ActivityStatus.draft
        else "activities.edit_which_published"
    )
    await turn.edit(View([Text.of(key, title=a.title or "—")], rows))


async def edit_field(turn: Turn) -> None:
    """Button in the edit menu: ask that field, showing its current value."""
    a = await staff_activity(turn)
    if a is None:
        return
    step = turn.arg(1) or ""
    allowed = STEPS if a.status is ActivityStatus.draft else EDITABLE_PUBLISHED
    if step not in allowed or not (a.is_open or a.status is ActivityStatus.draft):
        await refuse(turn, "common.stale_button")
        return
    await _ask_step(turn, a.id, step, mode="edit")


async def _ask_step(turn: Turn, activity_id: int, step: str, *, mode: str, **data: str) -> None:
    """Open the dialog on one step and ask its question (with the current value when editing)."""
    await turn.open_dialog(EDIT_FLOW, step, {"id": activity_id, "mode": mode, **data})
    rows: list[list[Button]] = []
    if step in SKIPPABLE:
        rows.append([staff_button(Text(f"activities.btn_skip_{step}"), "skip", activity_id, step)])
    if step == AUDIENCE:
        rows += [
            [staff_button(Text(f"activities.kind_{k.value}"), "audience", activity_id, k.value)]
            for k in TargetKind
        ]
    if step == Field.reply_required.value:
        rows.append(
            [
                staff_button(Text("common.yes"), "reply_required", activity_id, 1),
                staff_button(Text("common.no"), "reply_required", activity_id, 0),
            ]
        )
    key = f"activities.ask_{step}"
    if step == AUDIENCE_NAMES:
        key = f"activities.ask_names_{data.get('kind', 'member')}"
        kind = TargetKind(data.get("kind", TargetKind.member.value))
        if kind in acts.PICKABLE:
            picks = await _pick_buttons(turn, activity_id, kind)
            if picks:
                rows += picks
                key = f"activities.pick_{kind.value}"
    lines: list[Line] = [Text(key)]
    if mode == "edit" and step in EDITABLE_PUBLISHED:
        async with turn.db.transaction() as session:
            activity = await acts.get(session, activity_id)
            current = acts.field_text(activity, Field(step), turn.settings.tz) if activity else ""
        # A long description is shortened so the question around it still fits a message.
        value = truncate_utf16(current or "—", 3000)
        lines.append(Text.of("activities.current_value", value=value))
    if mode == "create":
        number = STEPS.index(AUDIENCE if step == AUDIENCE_NAMES else step) + 1
        lines.insert(0, Text.of("activities.step", n=number, total=len(STEPS)))
    await turn.reply(View(lines, rows))


# -- the dialog -------------------------------------------------------------------------------


async def edit_input(turn: Turn, dialog: Dialog) -> None:
    """The creation / edit dialog: what the staff member typed for the open step."""
    if turn.viewer is None or not turn.viewer.is_staff:
        await turn.close_dialog()
        await turn.reply(View.of("common.staff_only"))
        return
    activity_id = int(dialog.data.get("id", 0))
    step = dialog.step
    text = (typed(turn) or "").strip()
    if step in (AUDIENCE, Field.reply_required.value):
        await turn.reply(View.of("activities.use_buttons"))
        return
    if not text:
        await turn.reply(View.of("activities.need_text"))
        return
    now = turn.now()
    tz = turn.settings.tz
    if step == AUDIENCE_NAMES:
        kind = TargetKind(str(dialog.data.get("kind", TargetKind.member.value)))
        async with turn.db.transaction() as session:
            found = await acts.resolve_targets(session, kind, text)
            if found.unknown or not found.targets:
                names = "、".join(found.unknown) or text
                await turn.reply(View.of("activities.unknown_names", names=names))
                return
            await acts.set_targets(session, activity_id, found.targets, actor=turn.viewer.actor)
        await _next(turn, dialog, AUDIENCE)
        return
    field = Field(step)
    change: Change
    if step in DATE_STEPS:
        base = None
        if field is Field.ends_at:
            async with turn.db.transaction() as session:
                activity = await acts.get(session, activity_id)
                base = activity.starts_at if activity else None
        moment = importer.parse_when(text, tz=tz, now=now, base=base)
        if moment is None:
            key = "activities.bad_end_date" if field is Field.ends_at else "activities.bad_date"
            await turn.reply(View.of(key, example=example_date(turn)))
            return
        change = Change(field, moment)
    elif field is Field.capacity:
        capacity = importer.parse_capacity(text)
        if capacity is importer.CapacityError.zero:
            await turn.reply(View.of("activities.capacity_zero"))
            return
        if isinstance(capacity, importer.CapacityError):
            await turn.reply(View.of("activities.bad_capacity"))
            return
        change = Change(field, capacity)
    elif field is Field.place:
        async with turn.db.transaction() as session:
            point = await acts.find_liaison_point(session, text)
        change = Change(field, text, point)
    else:
        change = Change(field, text)
    await _apply_change(turn, dialog, change)


async def _apply_change(turn: Turn, dialog: Dialog, change: Change) -> None:
    activity_id = int(dialog.data.get("id", 0))
    async with turn.db.transaction() as session:
        result = await acts.update_field(
            session,
            activity_id,
            change,
            actor=turn.member.actor,
            now=turn.now(),
            tz=turn.settings.tz,
        )
        notified = await messages.tell(session, result.news, turn.settings.tz)
    if not result.ok:
        await problem(turn, result)
        if result.problem in (Problem.not_found, Problem.not_editable):
            await turn.close_dialog()
        return
    if notified:
        turn.runtime.outbox_signal()
    if dialog.data.get("mode") == "edit":
        await turn.close_dialog()
        # "Told 0 members" would suggest someone could have been: a draft has nobody to tell.
        if notified:
            await turn.reply(View([counted("activities.edited", notified, notified=notified)]))
        else:
            await turn.reply(View.of("activities.saved"))
        await show_card(turn, activity_id, new=True)
        return
    await _next(turn, dialog, dialog.step)


async def _next(turn: Turn, dialog: Dialog, done_step: str) -> None:
    """After a step: the next question when creating; the card when editing or finished."""
    activity_id = int(dialog.data.get("id", 0))
    if dialog.data.get("mode") != "create" or done_step not in STEPS:
        await turn.close_dialog()
        await turn.reply(View.of("activities.saved"))
        await show_card(turn, activity_id, new=True)
        return
    index = STEPS.index(done_step)
    if index + 1 < len(STEPS):
        await _ask_step(turn, activity_id, STEPS[index + 1], mode="create")
        return
    await turn.close_dialog()
    await turn.reply(View.of("activities.draft_ready"))
    await show_card(turn, activity_id, new=True)


# -- the dialog's buttons: only for the step the dialog is on -------------------------------


async def _pick_buttons(turn: Turn, activity_id: int, kind: TargetKind) -> list[list[Button]]:
    """The sectors, committees or liaison points as buttons, the chosen ones ticked, and
    "done"; none when there is nothing to pick (then the names are typed)."""
    async with turn.db.read() as session:
        options = await acts.target_choices(session, kind)
        chosen = {t.ref_id for t in await acts.targets(session, activity_id) if t.kind is kind}
    if not options:
        return []
    if kind is TargetKind.sector:
        options = turn.settings.in_sector_order(options, lambda o: o.name)
    buttons = [
        staff_button(
            ("✅ " if o.ref_id in chosen else "") + o.name,
            "pick",
            activity_id,
            kind.value,
            o.ref_id,
        )
        for o in options
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([staff_button(Text("activities.btn_pick_done"), "pick_done", activity_id)])
    return rows


async def pick(turn: Turn) -> None:
    """Button: a sector, committee or liaison point tapped on or off the audience."""
    found = await _on_step(turn, AUDIENCE_NAMES)
    if found is None:
        return
    a, dialog = found
    kind_value, ref = turn.arg(1) or "", turn.int_arg(2)
    if kind_value != dialog.data.get("kind") or ref is None:
        await refuse(turn, "common.stale_button")
        return
    kind = TargetKind(kind_value)
    if kind not in acts.PICKABLE:
        await refuse(turn, "common.stale_button")
        return
    async with turn.db.transaction() as session:
        chosen = await acts.toggle_target(session, a.id, kind, ref, actor=turn.member.actor)
    if isinstance(chosen, Problem):
        await problem(turn, EditResult(chosen))
        return
    await turn.notify("activities.picked", count=len(chosen))
    await turn.edit_buttons(await _pick_buttons(turn, a.id, kind))


async def pick_done(turn: Turn) -> None:
    """Button under the tapped names: they are the audience; on to the next step."""
    found = await _on_step(turn, AUDIENCE_NAMES)
    if found is None:
        return
    a, dialog = found
    async with turn.db.read() as session:
        kinds = {t.kind.value for t in await acts.targets(session, a.id)}
    # The audience must be of the kind this step picks: an earlier "everyone" is no choice here.
    if kinds != {str(dialog.data.get("kind", ""))}:
        await refuse(turn, "activities.pick_none")
        return
    await _next(turn, dialog, AUDIENCE)


async def _on_step(turn: Turn, expected: str) -> tuple[ActivityView, Dialog] | None:
    """The activity and the open dialog when it is on step expected; else a stale button."""
    a = await staff_activity(turn)
    if a is None:
        return None
    dialog = turn.dialog
    if (
        dialog is None
        or dialog.flow != EDIT_FLOW
        or dialog.data.get("id") != a.id
        or dialog.step != expected
    ):
        await refuse(turn, "common.stale_button")
        return None
    return a, dialog


async def skip(turn: Turn) -> None:
    """Button: leave an optional field empty."""
    value = turn.arg(1) or ""
    found = await _on_step(turn, value)
    if found is None:
        return
    if value not in SKIPPABLE:
        await refuse(turn, "common.stale_button")
        return
    await _apply_change(turn, found[1], Change(Field(value), SKIPPABLE[value]))


async def reply_required(turn: Turn) -> None:
    """Button: yes / no, must members reply."""
    value = turn.arg(1) or ""
    found = await _on_step(turn, Field.reply_required.value)
    if found is None:
        return
    if value not in ("0", "1"):
        await refuse(turn, "common.stale_button")
        return
    await _apply_change(turn, found[1], Change(Field.reply_required, value == "1"))


async def audience(turn: Turn) -> None:
    """Button: who is invited; everyone at once, else ask for the names of that kind."""
    value = turn.arg(1) or ""
    found = await _on_step(turn, AUDIENCE)
    if found is None:
        return
    if value not in TargetKind.__members__:
        await refuse(turn, "common.stale_button")
        return
    a, dialog = found
    kind = TargetKind(value)
    if kind is TargetKind.everyone:
        async with turn.db.transaction() as session:
            await acts.set_targets(session, a.id, [acts.TargetSpec(kind)], actor=turn.member.actor)
        await _next(turn, dialog, AUDIENCE)
        return
    await _ask_step(
        turn, a.id, AUDIENCE_NAMES, mode=str(dialog.data.get("mode", "create")), kind=kind.value
    )
