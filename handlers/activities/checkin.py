"""Checking in as a member: the check-in button and its dialog (the venue's code or a shared
location), a bare code or a location sent outside any dialog, and the code in a deep link."""

from __future__ import annotations

import re

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update

from bot.context import BotContext
from handlers.activities.card import may_see, send_card
from handlers.activities.common import activity_id_arg, refuse, rules
from handlers.callbacks import Callback
from handlers.replies import say
from handlers.wiring import close_dialog, open_dialog
from storage import activities as acts
from storage.activities import Outcome, Result
from storage.dialogs import Dialog

CHECKIN_FLOW = "act_checkin"
CODE_RE = re.compile(rf"^\d{{{acts.CODE_DIGITS}}}$")


async def ask_checkin(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: ask for the venue's code (or the location)."""
    activity_id = await activity_id_arg(update, ctx, cb)
    if activity_id is None:
        return
    async with ctx.db.read() as session:
        card = await acts.card(session, activity_id, ctx.member.id)
    if card is None or not card.activity.is_open:
        await refuse(update, ctx, "common.stale_button")
        return
    if not may_see(ctx, card):
        await refuse(update, ctx, "activities.not_invited")
        return
    await open_dialog(update, ctx, CHECKIN_FLOW, "code", {"id": activity_id})
    location = KeyboardButton(ctx.t("activities.btn_send_location"), request_location=True)
    markup = ReplyKeyboardMarkup([[location]], resize_keyboard=True, one_time_keyboard=True)
    await say(update, ctx, "activities.checkin_ask", title=card.activity.title, markup=markup)


async def checkin_input(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """The check-in dialog: the code from the venue, or a shared location."""
    message = update.effective_message
    activity_id = int(dialog.data.get("id", 0))
    if ctx.viewer is None or message is None:
        await close_dialog(update, ctx)
        return
    now = ctx.now()
    async with ctx.db.transaction() as session:
        if message.location is not None:
            result = await acts.check_in_by_location(
                session,
                ctx.viewer.id,
                message.location.latitude,
                message.location.longitude,
                now=now,
                rules=rules(ctx),
                activity_id=activity_id,
            )
        elif message.text and message.text.strip():
            result = await acts.check_in_by_code(
                session,
                ctx.viewer.id,
                message.text,
                now=now,
                rules=rules(ctx),
                activity_id=activity_id,
            )
        else:
            result = None
    if result is None:
        await say(update, ctx, "activities.checkin_need_input")
        return
    await _checkin_answer(update, ctx, result)
    if result.outcome not in (Outcome.wrong_code, Outcome.too_far):
        await close_dialog(update, ctx)


async def _checkin_answer(update: Update, ctx: BotContext, result: Result) -> None:
    key = f"activities.outcome_{result.outcome.value}"
    tz = ctx.settings.tz
    params = {
        "distance": round(result.distance_m or 0),
        "radius": ctx.settings.activity_checkin_radius_meters,
        "opens": acts.format_local(result.opens_at, tz),
    }
    done = result.outcome in (Outcome.checked_in, Outcome.already_checked_in)
    retry = result.outcome in (Outcome.wrong_code, Outcome.too_far)
    markup = None if retry else ctx.wiring.keyboard(ctx)
    await say(update, ctx, key, markup=markup, **params)
    if done and result.activity_id is not None:
        await send_card(update, ctx, result.activity_id)


async def free_message(update: Update, ctx: BotContext) -> bool:
    """Outside a dialog: a bare check-in code, or a location near a venue, checks the member in."""
    message = update.effective_message
    if ctx.viewer is None or message is None:
        return False
    now = ctx.now()
    if message.text is not None and CODE_RE.match(message.text.strip()):
        async with ctx.db.transaction() as session:
            result: Result | None = await acts.check_in_by_code(
                session, ctx.viewer.id, message.text, now=now, rules=rules(ctx)
            )
    elif message.location is not None:
        async with ctx.db.transaction() as session:
            result = await acts.check_in_by_location(
                session,
                ctx.viewer.id,
                message.location.latitude,
                message.location.longitude,
                now=now,
                rules=rules(ctx),
            )
    else:
        return False
    if result is None:
        return False
    await _checkin_answer(update, ctx, result)
    return True


async def link_check_in(update: Update, ctx: BotContext, activity_id: int, code: str) -> None:
    """/start act_<id>_<code>: the check-in link the staff show at the venue."""
    async with ctx.db.transaction() as session:
        result = await acts.check_in_by_code(
            session,
            ctx.member.id,
            code,
            now=ctx.now(),
            rules=rules(ctx),
            activity_id=activity_id,
        )
    if result.outcome is Outcome.not_found:
        await say(update, ctx, "activities.not_found")
        return
    await _checkin_answer(update, ctx, result)
