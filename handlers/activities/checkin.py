"""Checking in as a member: the check-in button and its dialog (the venue's code or a shared
location), a bare code or a location sent outside any dialog, and the code in a deep link."""

from __future__ import annotations

import re

from handlers.activities.card import may_see, send_card
from handlers.activities.common import activity_id_arg, refuse, rules, typed
from handlers.channel.turn import Turn
from handlers.channel.views import Request, Text, View
from storage import activities as acts
from storage.activities import Outcome, Result
from storage.dialogs import Dialog

CHECKIN_FLOW = "act_checkin"
CODE_RE = re.compile(rf"^\d{{{acts.CODE_DIGITS}}}$")


async def ask_checkin(turn: Turn) -> None:
    """Button: ask for the venue's code (or the location)."""
    activity_id = await activity_id_arg(turn)
    if activity_id is None:
        return
    async with turn.db.read() as session:
        card = await acts.card(session, activity_id, turn.member.id)
    if card is None or not card.activity.is_open:
        await refuse(turn, "common.stale_button")
        return
    if not may_see(turn, card):
        await refuse(turn, "activities.not_invited")
        return
    await turn.open_dialog(CHECKIN_FLOW, "code", {"id": activity_id})
    ask = Text.of("activities.checkin_ask", title=card.activity.title)
    location = Request("location", Text("activities.btn_send_location"))
    await turn.reply(View([ask], request=location))


async def checkin_input(turn: Turn, dialog: Dialog) -> None:
    """The check-in dialog: the code from the venue, or a shared location."""
    activity_id = int(dialog.data.get("id", 0))
    if turn.viewer is None:
        await turn.close_dialog()
        return
    now = turn.now()
    text = typed(turn)
    async with turn.db.transaction() as session:
        if turn.location is not None:
            latitude, longitude = turn.location
            result = await acts.check_in_by_location(
                session,
                turn.viewer.id,
                latitude,
                longitude,
                now=now,
                rules=rules(turn.settings),
                activity_id=activity_id,
            )
        elif text and text.strip():
            result = await acts.check_in_by_code(
                session,
                turn.viewer.id,
                text,
                now=now,
                rules=rules(turn.settings),
                activity_id=activity_id,
            )
        else:
            result = None
    if result is None:
        await turn.reply(View.of("activities.checkin_need_input"))
        return
    await _checkin_answer(turn, result)
    if result.outcome not in (Outcome.wrong_code, Outcome.too_far):
        await turn.close_dialog()


async def _checkin_answer(turn: Turn, result: Result) -> None:
    key = f"activities.outcome_{result.outcome.value}"
    tz = turn.settings.tz
    params = {
        "distance": round(result.distance_m or 0),
        "radius": turn.settings.activity_checkin_radius_meters,
        "opens": acts.format_local(result.opens_at, tz),
    }
    done = result.outcome in (Outcome.checked_in, Outcome.already_checked_in)
    retry = result.outcome in (Outcome.wrong_code, Outcome.too_far)
    # A retry keeps the location request; otherwise the main menu replaces it.
    await turn.reply(View([Text(key, params)], menu=not retry))
    if done and result.activity_id is not None:
        await send_card(turn, result.activity_id)


async def free_message(turn: Turn) -> bool:
    """Outside a dialog: a bare check-in code, or a location near a venue, checks the member in."""
    if turn.viewer is None:
        return False
    now = turn.now()
    text = typed(turn)
    if text is not None and CODE_RE.match(text.strip()):
        async with turn.db.transaction() as session:
            result: Result | None = await acts.check_in_by_code(
                session, turn.viewer.id, text, now=now, rules=rules(turn.settings)
            )
    elif turn.location is not None:
        latitude, longitude = turn.location
        async with turn.db.transaction() as session:
            result = await acts.check_in_by_location(
                session,
                turn.viewer.id,
                latitude,
                longitude,
                now=now,
                rules=rules(turn.settings),
            )
    else:
        return False
    if result is None:
        return False
    await _checkin_answer(turn, result)
    return True


async def link_check_in(turn: Turn, activity_id: int, code: str) -> None:
    """/start act_<id>_<code>: the check-in link the staff show at the venue."""
    async with turn.db.transaction() as session:
        result = await acts.check_in_by_code(
            session,
            turn.member.id,
            code,
            now=turn.now(),
            rules=rules(turn.settings),
            activity_id=activity_id,
        )
    if result.outcome is Outcome.not_found:
        await turn.reply(View.of("activities.not_found"))
        return
    await _checkin_answer(turn, result)
