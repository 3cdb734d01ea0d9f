"""An activity's status as staff change it: publish (with or without invitations), postpone to
a new start time, cancel with a reason sent to those signed up, or discard a draft."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from handlers.activities.common import (
    example_date,
    notify,
    problem,
    refuse,
    staff_activity,
)
from handlers.activities.staff_list import show_card, show_home
from handlers.callbacks import Callback
from handlers.replies import say
from handlers.wiring import close_dialog, open_dialog
from storage import activities as acts
from storage.activities import Problem, importer
from storage.dialogs import Dialog
from storage.models import ActivityStatus

POSTPONE_FLOW = "acs_postpone"
CANCEL_FLOW = "acs_cancel"


async def publish(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button on a complete draft: publish, inviting the audience (1) or quietly (0)."""
    a = await staff_activity(update, ctx, cb)
    if a is None:
        return
    notify_members = cb.arg(1) == "1"
    async with ctx.db.transaction() as session:
        result = await acts.publish(
            session,
            a.id,
            actor=ctx.member.actor,
            now=ctx.now(),
            notify_members=notify_members,
            notify=notify(ctx),
        )
    if not result.ok:
        await problem(update, ctx, result)
        return
    if result.notified:
        ctx.runtime.outbox_signal()
    key = "activities.published_notified" if notify_members else "activities.published_quiet"
    await say(update, ctx, key, notified=result.notified)
    await show_card(update, ctx, a.id, new=True)


async def postpone(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: ask for the new start time."""
    a = await staff_activity(update, ctx, cb)
    if a is None:
        return
    if not a.is_open:
        await refuse(update, ctx, "common.stale_button")
        return
    await open_dialog(update, ctx, POSTPONE_FLOW, "start", {"id": a.id})
    await say(update, ctx, "activities.ask_postpone", title=a.title)


async def cancel(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: discard a draft at once; for a published activity, ask the reason."""
    a = await staff_activity(update, ctx, cb)
    if a is None:
        return
    if a.status is ActivityStatus.cancelled:
        await refuse(update, ctx, "common.stale_button")
        return
    if a.status is ActivityStatus.draft:
        await _discard(update, ctx, a.id)
        return
    await open_dialog(update, ctx, CANCEL_FLOW, "reason", {"id": a.id})
    await say(update, ctx, "activities.ask_cancel_reason", title=a.title or "—")


async def _discard(update: Update, ctx: BotContext, activity_id: int) -> None:
    """A draft nobody has seen is dropped without asking for a reason."""
    async with ctx.db.transaction() as session:
        result = await acts.cancel_activity(
            session,
            activity_id,
            reason="",
            actor=ctx.member.actor,
            now=ctx.now(),
            notify=notify(ctx),
        )
    if not result.ok:
        await problem(update, ctx, result)
        return
    await say(update, ctx, "activities.draft_discarded")
    await show_home(update, ctx, 1)


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
        await say(update, ctx, "activities.bad_date", example=example_date(ctx))
        return
    async with ctx.db.transaction() as session:
        result = await acts.postpone(
            session, activity_id, moment, actor=ctx.viewer.actor, now=ctx.now(), notify=notify(ctx)
        )
    if not result.ok:
        await problem(update, ctx, result)
        if result.problem in (Problem.not_found, Problem.not_editable):
            await close_dialog(update, ctx)
        return
    await close_dialog(update, ctx)
    ctx.runtime.outbox_signal()
    await say(update, ctx, "activities.postponed", notified=result.notified)
    await show_card(update, ctx, activity_id, new=True)


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
        await problem(update, ctx, result)
        return
    ctx.runtime.outbox_signal()
    await say(update, ctx, "activities.cancelled_activity", notified=result.notified)
    await show_card(update, ctx, activity_id, new=True)
