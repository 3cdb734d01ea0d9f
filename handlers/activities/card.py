"""The member's activity card: who may see it, its text and buttons (what the member can do
right now), shown in place of the message a button sits on or as a new message."""

from __future__ import annotations

from handlers.activities.common import (
    DEEPLINK,
    activity_id_arg,
    details_text,
    member_button,
    refuse,
    rules,
    standing_text,
)
from handlers.channel.turn import Turn
from handlers.channel.views import Button, Line, Text, View
from storage import activities as acts
from storage.activities import Card
from storage.models import SignupStatus

ALL = "all"  # the type filter of the list meaning every type


def may_see(turn: Turn, card: Card) -> bool:
    """An activity's details are for its invited members, staff, and whoever is on its list."""
    return card.invited or turn.member.is_staff or card.me.status is not None


async def show_activity(
    turn: Turn, activity_id: int, *, missing: str = "activities.not_found"
) -> None:
    """The member card, replacing the message a button sits on (or as a new message).

    missing: what to say for an unknown id or a draft (a button's id is a stale button)."""
    async with turn.db.read() as session:
        card = await acts.card(session, activity_id, turn.member.id)
    if card is None:
        await refuse(turn, missing)
        return
    if not may_see(turn, card):
        await refuse(turn, "activities.not_invited")
        return
    await turn.edit(card_view(turn, card))


async def open_card(turn: Turn) -> None:
    """Button: the card of an activity (from a list, an invitation or a reminder)."""
    activity_id = await activity_id_arg(turn)
    if activity_id is not None:
        await show_activity(turn, activity_id, missing="common.stale_button")


async def send_card(turn: Turn, activity_id: int) -> None:
    """The card as a new message (after a typed answer there is no button message to edit)."""
    async with turn.db.read() as session:
        card = await acts.card(session, activity_id, turn.member.id)
    if card is not None:
        await turn.reply(card_view(turn, card))


def card_view(turn: Turn, card: Card) -> View:
    a, me = card.activity, card.me
    now = turn.now()
    lines: list[Line] = details_text(turn, a)
    lines += ["", Text.of("activities.card_me", status=standing_text(me))]
    lines.append(Text.of("activities.card_link", link=turn.link(f"{DEEPLINK}{a.id}")))
    rows: list[list[Button]] = []
    started = a.starts_at is not None and now >= a.starts_at
    ended = a.ends_at is not None and now >= a.ends_at
    holds = me.status in (SignupStatus.signed_up, SignupStatus.waiting)
    if a.is_open and not started:
        first: list[Button] = []
        if not holds and me.status is not SignupStatus.checked_in and a.signup_open(now):
            key = "activities.btn_waitlist" if a.full else "activities.btn_signup"
            first.append(member_button(key, "signup", a.id))
        if holds:
            first.append(member_button("activities.btn_cancel", "cancel", a.id))
        if me.status not in (SignupStatus.leave, SignupStatus.checked_in):
            first.append(member_button("activities.btn_leave", "leave", a.id))
        if first:
            rows.append(first)
    if a.is_open and not ended and a.starts_at is not None:
        opens, closes = rules(turn.settings).window(a.starts_at)
        if opens <= now <= closes and me.status is not SignupStatus.checked_in:
            rows.append([member_button("activities.btn_checkin", "checkin", a.id)])
    rows.append(
        [
            member_button("activities.btn_calendar", "calendar", a.id),
            member_button("activities.btn_back", "list", ALL, 1),
        ]
    )
    return View(lines, rows)
