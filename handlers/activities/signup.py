"""A member's answer to an activity: sign up (or join the waiting list), cancel, and leave with
a reason (asked in a dialog; required when the activity requires replies)."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from handlers import callbacks
from handlers.activities.card import render_card, send_card
from handlers.activities.common import MEMBER, activity_id_arg, notify, refuse
from handlers.callbacks import Callback
from handlers.replies import answer_callback, edit_or_send, inline, say
from handlers.wiring import close_dialog, open_dialog
from storage import activities as acts
from storage.activities import Card, Outcome, Result
from storage.dialogs import Dialog
from storage.models import ActivityStatus, SignupStatus

LEAVE_FLOW = "act_leave"


async def sign_up(update: Update, ctx: BotContext, cb: Callback) -> None:
    activity_id = await activity_id_arg(update, ctx, cb)
    if activity_id is None:
        return
    async with ctx.db.transaction() as session:
        result = await acts.sign_up(session, activity_id, ctx.member.id, now=ctx.now())
    await _after(update, ctx, result)


async def cancel(update: Update, ctx: BotContext, cb: Callback) -> None:
    activity_id = await activity_id_arg(update, ctx, cb)
    if activity_id is None:
        return
    async with ctx.db.transaction() as session:
        result = await acts.cancel(
            session, activity_id, ctx.member.id, now=ctx.now(), notify=notify(ctx)
        )
    if result.outcome is Outcome.needs_leave:
        await _ask_leave_reason(update, ctx, activity_id, after_deadline=True)
        return
    await _after(update, ctx, result)


async def leave(update: Update, ctx: BotContext, cb: Callback) -> None:
    activity_id = await activity_id_arg(update, ctx, cb)
    if activity_id is None:
        return
    async with ctx.db.read() as session:
        card = await acts.card(session, activity_id, ctx.member.id)
    if card is None:
        await refuse(update, ctx, "common.stale_button")
        return
    await _ask_leave_reason(update, ctx, activity_id, after_deadline=False)


async def _ask_leave_reason(
    update: Update, ctx: BotContext, activity_id: int, *, after_deadline: bool
) -> None:
    """Open the leave dialog; a reason can be skipped unless the activity requires replies."""
    async with ctx.db.read() as session:
        card = await acts.card(session, activity_id, ctx.member.id)
    if card is None:
        await refuse(update, ctx, "common.stale_button")
        return
    refusal = _leave_refusal(ctx, card)
    if refusal is not None:
        await refuse(update, ctx, refusal)
        return
    await open_dialog(update, ctx, LEAVE_FLOW, "reason", {"id": activity_id})
    key = "activities.leave_after_deadline" if after_deadline else "activities.leave_ask"
    markup = None
    if not card.activity.reply_required:
        markup = inline(
            [
                [
                    (
                        ctx.t("activities.btn_leave_no_reason"),
                        callbacks.make(MEMBER, "leave_no_reason", activity_id),
                    )
                ]
            ]
        )
    else:
        key += "_required"
    await say(update, ctx, key, title=card.activity.title, markup=markup)


def _leave_refusal(ctx: BotContext, card: Card) -> str | None:
    """Why leave is not possible right now (checked again in storage)."""
    a = card.activity
    if a.status is ActivityStatus.cancelled:
        return "activities.outcome_activity_cancelled"
    if not card.invited and card.me.status is None:
        return "activities.outcome_not_invited"
    if a.starts_at is not None and ctx.now() >= a.starts_at:
        return "activities.outcome_started"
    if card.me.status is SignupStatus.leave:
        return "activities.outcome_on_leave"
    if card.me.status is SignupStatus.checked_in:
        return "activities.outcome_already_checked_in"
    return None


async def leave_without_reason(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button under the leave question: leave without giving a reason."""
    activity_id = await activity_id_arg(update, ctx, cb)
    if activity_id is None:
        return
    dialog = ctx.dialog
    if dialog is None or dialog.flow != LEAVE_FLOW or dialog.data.get("id") != activity_id:
        await refuse(update, ctx, "common.stale_button")
        return
    await _do_leave(update, ctx, activity_id, "")


async def leave_reason(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """The leave dialog: the reason the member typed."""
    message = update.effective_message
    activity_id = int(dialog.data.get("id", 0))
    if ctx.viewer is None:
        await close_dialog(update, ctx)
        await say(update, ctx, "common.not_bound")
        return
    text = (message.text or "").strip() if message else ""
    if not text:
        await say(update, ctx, "activities.leave_need_text")
        return
    if len(text) > acts.REASON_MAX:
        await say(update, ctx, "common.text_too_long", length=len(text), limit=acts.REASON_MAX)
        return
    await _do_leave(update, ctx, activity_id, text)


async def _do_leave(update: Update, ctx: BotContext, activity_id: int, reason: str) -> None:
    async with ctx.db.transaction() as session:
        result = await acts.leave(
            session, activity_id, ctx.member.id, reason=reason, now=ctx.now(), notify=notify(ctx)
        )
    if result.outcome is Outcome.reason_required:
        await refuse(update, ctx, "activities.outcome_reason_required")
        return
    await close_dialog(update, ctx)
    if result.promoted:
        ctx.runtime.outbox_signal()
    await say(update, ctx, f"activities.outcome_{result.outcome.value}")
    if result.outcome is Outcome.left:
        await send_card(update, ctx, activity_id)


async def _after(update: Update, ctx: BotContext, result: Result) -> None:
    """Answer a sign-up or cancel: a toast for success, an alert for a refusal; refresh card."""
    if result.promoted:
        ctx.runtime.outbox_signal()
    key = f"activities.outcome_{result.outcome.value}"
    if result.outcome is Outcome.not_found and update.callback_query is not None:
        key = "common.stale_button"  # a forged or outdated id on a button
    params: dict[str, object] = {"position": result.queue_position or "?"}
    if result.ok or result.outcome in (Outcome.already_signed_up, Outcome.already_waiting):
        await answer_callback(update, ctx, key, alert=not result.ok, **params)
        if result.card is not None:
            text, markup = render_card(ctx, result.card)
            await edit_or_send(update, ctx, text, markup=markup)
        return
    await refuse(update, ctx, key, **params)
