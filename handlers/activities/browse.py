"""Finding activities as a member: the paged list with its type filter, "My activities", and the
deep link /start act_<id> (the card) or act_<id>_<code> (check in with the venue's code)."""

from __future__ import annotations

import re

from handlers.activities.card import ALL, show_activity
from handlers.activities.checkin import link_check_in
from handlers.activities.common import (
    MEMBER,
    member_button,
    refuse,
    standing_text,
    type_name,
)
from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, Line, Text, View
from storage import activities as acts
from storage.activities import Card
from storage.models import ActivityStatus, ActivityType, SignupStatus

PAGE_SIZE = 5


async def browse(turn: Turn) -> None:
    """Menu button: upcoming activities open to me, newest first."""
    await _list(turn, None, 1)


async def list_page(turn: Turn) -> None:
    """Button: a page of the list, of one type or all."""
    kind_arg = turn.arg(0) or ALL
    page = turn.int_arg(1) or 1
    kind = None
    if kind_arg != ALL:
        if kind_arg not in ActivityType.__members__:
            await refuse(turn, "common.stale_button")
            return
        kind = ActivityType(kind_arg)
    await _list(turn, kind, page)


def _list_button(label: Text | str, *args: object) -> Button:
    return Button(label, Action.of(MEMBER, "list", *args))


async def _list(turn: Turn, kind: ActivityType | None, page: int) -> None:
    async with turn.db.read() as session:
        found = await acts.browse(
            session, turn.member.id, now=turn.now(), type=kind, page=page, size=PAGE_SIZE
        )
    tz = turn.settings.tz
    filter_name = type_name(kind) if kind else Text("activities.filter_all")
    if found.total:
        text = Text.of(
            "activities.list_title",
            filter=filter_name,
            total=found.total,
            page=found.page,
            pages=found.pages,
        )
    else:
        text = Text.of("activities.list_empty", filter=filter_name)
    rows: list[list[Button]] = []
    for a in found.items:
        start = a.starts_at.astimezone(tz).strftime("%m-%d %H:%M") if a.starts_at else ""
        label = f"{start} {a.title}"
        if len(label) > 40:
            label = label[:39] + "…"
        count = f"{a.signed_up}/{a.capacity}" if a.capacity is not None else str(a.signed_up)
        rows.append([Button(f"{label} ({count})", Action.of(MEMBER, "open", a.id))])
    key = kind.value if kind else ALL
    nav: list[Button] = []
    if found.page > 1:
        nav.append(_list_button(Text("common.prev_page"), key, found.page - 1))
    if found.page < found.pages:
        nav.append(_list_button(Text("common.next_page"), key, found.page + 1))
    if nav:
        rows.append(nav)
    filters = [(ALL, turn.plain("activities.filter_all"))] + [
        (t.value, turn.plain(f"activities.type_{t.value}")) for t in ActivityType
    ]
    buttons = [
        _list_button(("• " if value == key else "") + label, value, 1) for value, label in filters
    ]
    rows += [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    await turn.edit(View([text], rows))


async def my_activities(turn: Turn) -> None:
    """Menu button: my upcoming and past activities with my status."""
    now = turn.now()
    async with turn.db.read() as session:
        upcoming, past = await acts.my_activities(session, turn.member.id, now=now)
    tz = turn.settings.tz
    lines: list[Line] = [Text("activities.my_title")]
    if not upcoming and not past:
        lines.append(Text("activities.my_empty"))
    if upcoming:
        lines += ["", Text("activities.my_upcoming")]
    for card in upcoming:
        a = card.activity
        lines.append(
            Text.of(
                "activities.my_line",
                when=acts.format_local(a.starts_at, tz),
                title=a.title,
                status=_my_status(card),
            )
        )
    if past:
        lines += ["", Text("activities.my_past")]
    for card in past:
        a = card.activity
        lines.append(
            Text.of(
                "activities.my_line",
                when=acts.format_local(a.starts_at, tz),
                title=a.title,
                status=_my_status(card, past=True),
            )
        )
    rows = [
        [Button(f"{c.activity.title[:30]}", Action.of(MEMBER, "open", c.activity.id))]
        for c in upcoming
    ]
    rows.append([member_button("activities.btn_browse", "list", ALL, 1)])
    await turn.edit(View(lines, rows))


async def mine(turn: Turn) -> None:
    """Button: "My activities"."""
    await my_activities(turn)


def _my_status(card: Card, *, past: bool = False) -> Text:
    if card.activity.status is ActivityStatus.cancelled:
        return Text("activities.my_activity_cancelled")
    if past and card.me.status is SignupStatus.signed_up:
        return Text("activities.my_absent")
    if past and card.me.status is SignupStatus.waiting:
        return Text("activities.my_not_moved_up")
    return standing_text(card.me)


async def deep_link(turn: Turn, rest: str) -> None:
    """/start act_<id> opens the card; act_<id>_<code> checks in with the venue's code."""
    match = re.fullmatch(r"(\d{1,12})(?:_(\d{1,12}))?", rest)
    if match is None or int(match[1]) == 0:
        await turn.reply(View.of("activities.not_found"))
        return
    activity_id = int(match[1])
    if match[2] is not None:
        await link_check_in(turn, activity_id, match[2])
        return
    await show_activity(turn, activity_id)
