"""A member's answer to an activity: sign up (or join the waiting list), cancel (asked once: a
place given away may be gone when they sign up again), and leave with a reason (asked in a
dialog; required when the activity requires replies)."""

from __future__ import annotations

from collections.abc import Callable

from handlers.activities import messages
from handlers.activities.card import card_view, send_card
from handlers.activities.common import (
    activity_id_arg,
    member_button,
    refuse,
    typed,
)
from handlers.channel.turn import Turn
from handlers.channel.views import Button, Text, View
from storage import activities as acts
from storage.activities import Card, Outcome, Result
from storage.dialogs import Dialog
from storage.models import ActivityStatus, SignupStatus

LEAVE_FLOW = "act_leave"


async def sign_up(turn: Turn) -> None:
    activity_id = await activity_id_arg(turn)
    if activity_id is None:
        return
    async with turn.db.transaction() as session:
        result = await acts.sign_up(session, activity_id, turn.member.id, now=turn.now())
    await _after(turn, result)


async def cancel(turn: Turn) -> None:
    """Button "cancel sign-up": ask to confirm, in place of the card (nothing changes yet).

    After the deadline a place cannot simply be given back: that is the leave question, as
    before, which changes nothing until the member answers it."""
    activity_id = await activity_id_arg(turn)
    if activity_id is None:
        return
    card = await _actionable_card(turn, activity_id, _cancel_refusal)
    if card is None:
        return
    a, me = card.activity, card.me
    if me.status is SignupStatus.signed_up and a.deadline is not None and turn.now() >= a.deadline:
        await _ask_leave_reason(turn, activity_id, after_deadline=True)
        return
    if me.status is SignupStatus.waiting:
        question = Text.of(
            "activities.cancel_confirm_waiting", title=a.title, position=me.queue_position or "?"
        )
    else:
        question = Text.of("activities.cancel_confirm", title=a.title)
    yes = member_button("activities.btn_cancel_yes", "cancel_yes", activity_id)
    back = member_button("activities.btn_cancel_no", "open", activity_id)
    await turn.edit(View([question], [[yes, back]]))


async def _actionable_card(
    turn: Turn, activity_id: int, refusal_of: Callable[[Turn, Card], str | None]
) -> Card | None:
    """The member's card when the step may go ahead; else the refusal is shown and None."""
    async with turn.db.read() as session:
        card = await acts.card(session, activity_id, turn.member.id)
    refusal = "common.stale_button" if card is None else refusal_of(turn, card)
    if refusal is not None:
        await refuse(turn, refusal)
        return None
    return card


def _cancel_refusal(turn: Turn, card: Card) -> str | None:
    """Why there is nothing to cancel right now (checked again in storage)."""
    a, status = card.activity, card.me.status
    if status is SignupStatus.checked_in:
        return "activities.outcome_already_checked_in"
    if status not in (SignupStatus.signed_up, SignupStatus.waiting):
        return "activities.outcome_not_signed_up"
    if a.status is ActivityStatus.cancelled:
        return "activities.outcome_activity_cancelled"
    if a.starts_at is not None and turn.now() >= a.starts_at:
        return "activities.outcome_started"
    return None


async def confirm_cancel(turn: Turn) -> None:
    """Button "confirm" under the question: give the place up (the first waiting moves up)."""
    activity_id = await activity_id_arg(turn)
    if activity_id is None:
        return
    async with turn.db.transaction() as session:
        result = await acts.cancel(session, activity_id, turn.member.id, now=turn.now())
        await messages.tell(session, result.news, turn.settings.tz)
    if result.outcome is Outcome.needs_leave:
        await _ask_leave_reason(turn, activity_id, after_deadline=True)
        return
    await _after(turn, result)


async def leave(turn: Turn) -> None:
    activity_id = await activity_id_arg(turn)
    if activity_id is None:
        return
    await _ask_leave_reason(turn, activity_id, after_deadline=False)


async def _ask_leave_reason(turn: Turn, activity_id: int, *, after_deadline: bool) -> None:
    """Open the leave dialog; a reason can be skipped unless the activity requires replies."""
    card = await _actionable_card(turn, activity_id, _leave_refusal)
    if card is None:
        return
    await turn.open_dialog(LEAVE_FLOW, "reason", {"id": activity_id})
    key = "activities.leave_after_deadline" if after_deadline else "activities.leave_ask"
    buttons: list[list[Button]] = []
    if not card.activity.reply_required:
        no_reason = member_button("activities.btn_leave_no_reason", "leave_no_reason", activity_id)
        buttons = [[no_reason]]
    else:
        key += "_required"
    await turn.reply(View([Text.of(key, title=card.activity.title)], buttons))


def _leave_refusal(turn: Turn, card: Card) -> str | None:
    """Why leave is not possible right now (checked again in storage)."""
    a = card.activity
    if a.status is ActivityStatus.cancelled:
        return "activities.outcome_activity_cancelled"
    if not card.invited and card.me.status is None:
        return "activities.outcome_not_invited"
    if a.starts_at is not None and turn.now() >= a.starts_at:
        return "activities.outcome_started"
    if card.me.status is SignupStatus.leave:
        return "activities.outcome_on_leave"
    if card.me.status is SignupStatus.checked_in:
        return "activities.outcome_already_checked_in"
    return None


async def leave_without_reason(turn: Turn) -> None:
    """Button under the leave question: leave without giving a reason."""
    activity_id = await activity_id_arg(turn)
    if activity_id is None:
        return
    dialog = turn.dialog
    if dialog is None or dialog.flow != LEAVE_FLOW or dialog.data.get("id") != activity_id:
        await refuse(turn, "common.stale_button")
        return
    await _do_leave(turn, activity_id, "")


async def leave_reason(turn: Turn, dialog: Dialog) -> None:
    """The leave dialog: the reason the member typed."""
    activity_id = int(dialog.data.get("id", 0))
    if turn.viewer is None:
        await turn.close_dialog()
        await turn.reply(View.of("common.not_bound"))
        return
    text = (typed(turn) or "").strip()
    if not text:
        await turn.reply(View.of("activities.leave_need_text"))
        return
    if len(text) > acts.REASON_MAX:
        await turn.reply(View.of("common.text_too_long", length=len(text), limit=acts.REASON_MAX))
        return
    await _do_leave(turn, activity_id, text)


async def _do_leave(turn: Turn, activity_id: int, reason: str) -> None:
    async with turn.db.transaction() as session:
        result = await acts.leave(
            session, activity_id, turn.member.id, reason=reason, now=turn.now()
        )
        await messages.tell(session, result.news, turn.settings.tz)
    if result.outcome is Outcome.reason_required:
        await refuse(turn, "activities.outcome_reason_required")
        return
    await turn.close_dialog()
    if result.news:
        turn.runtime.outbox_signal()
    await turn.reply(View.of(f"activities.outcome_{result.outcome.value}"))
    if result.outcome is Outcome.left:
        await send_card(turn, activity_id)


async def _after(turn: Turn, result: Result) -> None:
    """Answer a sign-up or cancel: a toast for success, an alert for a refusal; refresh card."""
    if result.news:
        turn.runtime.outbox_signal()
    key = f"activities.outcome_{result.outcome.value}"
    if result.outcome is Outcome.not_found and turn.action is not None:
        key = "common.stale_button"  # a forged or outdated id on a button
    params: dict[str, object] = {"position": result.queue_position or "?"}
    if result.ok or result.outcome in (Outcome.already_signed_up, Outcome.already_waiting):
        await turn.notify(key, alert=not result.ok, **params)
        if result.card is not None:
            await turn.edit(card_view(turn, result.card))
        return
    await refuse(turn, key, **params)
