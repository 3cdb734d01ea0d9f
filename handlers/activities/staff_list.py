"""Activities for staff: the list of every activity (menu button, /activities) and the staff
card with its audience, counts and the buttons for what its status allows."""

from __future__ import annotations

from handlers.activities.common import (
    DEEPLINK,
    count_text,
    counted,
    details_text,
    refuse,
    staff_activity,
    staff_button,
)
from handlers.channel.turn import Turn
from handlers.channel.views import Button, Join, Line, Text, View
from storage import activities as acts
from storage.activities import ActivityView
from storage.models import ActivityStatus, TargetKind

PAGE_SIZE = 8
STATUS_ICON = {
    ActivityStatus.draft: "📝",
    ActivityStatus.published: "✅",
    ActivityStatus.postponed: "⏰",
    ActivityStatus.cancelled: "❌",
}


def _button(key: str, action: str, *args: object) -> Button:
    return staff_button(Text(key), action, *args)


async def home(turn: Turn) -> None:
    """Menu button and /activities: every activity, newest first, with create and import."""
    await show_home(turn, 1)


async def home_page(turn: Turn) -> None:
    """Button: a page of the list."""
    await show_home(turn, turn.int_arg(0) or 1)


async def show_home(turn: Turn, page: int) -> None:
    async with turn.db.transaction() as session:
        found = await acts.staff_list(session, page=page, size=PAGE_SIZE)
    tz = turn.settings.tz
    rows: list[list[Button]] = [
        [_button("activities.btn_new", "new"), _button("activities.btn_import", "import")]
    ]
    for a in found.items:
        start = a.starts_at.astimezone(tz).strftime("%m-%d") if a.starts_at else "--"
        title = a.title or turn.plain("activities.untitled")
        label = f"{STATUS_ICON[a.status]} {start} {title}"
        rows.append([staff_button(label[:60], "card", a.id)])
    nav: list[Button] = []
    if found.page > 1:
        nav.append(_button("common.prev_page", "home", found.page - 1))
    if found.page < found.pages:
        nav.append(_button("common.next_page", "home", found.page + 1))
    if nav:
        rows.append(nav)
    text = Text.of("activities.staff_home", total=found.total, page=found.page, pages=found.pages)
    await turn.edit(View([text], rows))


# -- the staff card ---------------------------------------------------------------------------


async def _audience_text(turn: Turn, activity_id: int) -> Text:
    async with turn.db.transaction() as session:
        targets = await acts.targets(session, activity_id)
        invited = await acts.invited_count(session, activity_id)
    if not targets:
        return Text("activities.audience_none")
    parts: dict[TargetKind, list[str]] = {}
    for t in targets:
        parts.setdefault(t.kind, []).append(t.name)
    audience = Join(
        "；",
        [
            Text("activities.audience_everyone")
            if kind is TargetKind.everyone
            else Text.of(f"activities.audience_{kind.value}", names="、".join(names))
            for kind, names in parts.items()
        ],
    )
    return counted("activities.audience_line", invited, audience=audience, count=invited)


async def staff_card_view(turn: Turn, a: ActivityView) -> View:
    lines: list[Line] = details_text(turn, a) if a.title else [Text("activities.untitled")]
    lines.append(await _audience_text(turn, a.id))
    status = Text(f"activities.astatus_{a.status}")
    lines.append(Text.of("activities.staff_status", status=status))
    if a.status is not ActivityStatus.draft:
        lines.append(
            Text.of(
                "activities.staff_counts",
                count=count_text(a),
                leave=a.leave,
                checked_in=a.checked_in,
            )
        )
        lines.append(Text.of("activities.card_link", link=turn.link(f"{DEEPLINK}{a.id}")))
    rows: list[list[Button]] = []
    if a.status is ActivityStatus.draft:
        async with turn.db.transaction() as session:
            has_targets = bool(await acts.targets(session, a.id))
        missing = acts.missing_field(a, has_targets)
        if missing is not None:
            field = Text(f"activities.field_{missing}")
            lines.append(Text.of("activities.draft_missing", field=field))
            rows.append([_button("activities.btn_continue", "continue", a.id)])
        else:
            rows.append(
                [
                    _button("activities.btn_publish_notify", "publish", a.id, 1),
                    _button("activities.btn_publish_quiet", "publish", a.id, 0),
                ]
            )
        rows.append(
            [
                _button("activities.btn_edit", "edit", a.id),
                _button("activities.btn_discard", "cancel", a.id),
            ]
        )
    elif a.is_open:
        rows.append(
            [
                _button("activities.btn_edit", "edit", a.id),
                _button("activities.btn_postpone", "postpone", a.id),
                _button("activities.btn_cancel_activity", "cancel", a.id),
            ]
        )
        rows.append(
            [
                _button("activities.btn_roster", "roster", a.id),
                _button("activities.btn_export", "export", a.id),
                _button("activities.btn_code", "checkin_code", a.id),
            ]
        )
    else:
        rows.append(
            [
                _button("activities.btn_roster", "roster", a.id),
                _button("activities.btn_export", "export", a.id),
            ]
        )
    rows.append([_button("activities.btn_back", "home", 1)])
    return View(lines, rows)


async def show_card(turn: Turn, activity_id: int, *, new: bool = False) -> None:
    """The staff card in place of the button's message, or (new) as a new message."""
    async with turn.db.transaction() as session:
        a = await acts.view(session, activity_id)
    if a is None:
        await refuse(turn, "common.stale_button")
        return
    view = await staff_card_view(turn, a)
    if new:
        await turn.reply(view)
    else:
        await turn.edit(view)


async def open_card(turn: Turn) -> None:
    """Button: the staff card of an activity."""
    a = await staff_activity(turn)
    if a is not None:
        await show_card(turn, a.id)
