"""What the member and staff sides of activities share: button prefixes, the check-in rules and
notice buttons from settings, the lines every card shows, refusals, and staff problem answers."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.i18n import escape
from bot.telegram_text import truncate_utf16
from handlers import callbacks
from handlers.callbacks import Callback
from handlers.replies import answer_callback, say
from storage import activities as acts
from storage.activities import (
    ActivityView,
    CheckinRules,
    EditResult,
    NoticeKind,
    Notify,
    Problem,
    Standing,
)
from storage.models import ActivityStatus, ActivityType, SignupStatus
from storage.outbox import Button, button

MEMBER = "act"  # callback prefix of the members' buttons
STAFF = "acs"  # ... and of the staff's
DEEPLINK = "act_"
DESCRIPTION_PREVIEW = 800


def notice_buttons(activity_id: int, kind: NoticeKind) -> list[list[Button]]:
    """Buttons on messages about an activity: sign up / leave on the invitation, else open."""
    open_card = button("activities.btn_open", callbacks.make(MEMBER, "open", activity_id))
    if kind is NoticeKind.published:
        return [
            [
                button("activities.btn_signup", callbacks.make(MEMBER, "signup", activity_id)),
                button("activities.btn_leave", callbacks.make(MEMBER, "leave", activity_id)),
            ],
            [open_card],
        ]
    return [[open_card]]


def notify(ctx: BotContext) -> Notify:
    return Notify(ctx.settings.tz, notice_buttons)


def rules(ctx: BotContext) -> CheckinRules:
    s = ctx.settings
    return CheckinRules(
        timedelta(minutes=s.activity_checkin_before_minutes),
        timedelta(minutes=s.activity_checkin_after_minutes),
        float(s.activity_checkin_radius_meters),
    )


def type_name(ctx: BotContext, kind: ActivityType) -> str:
    return ctx.t(f"activities.type_{kind.value}")


def when_text(ctx: BotContext, a: ActivityView) -> str:
    return acts.format_span(a.starts_at, a.ends_at, ctx.settings.tz)


def count_text(ctx: BotContext, a: ActivityView) -> str:
    """The live count: 23/30, 4 waiting (or the number signed up when places are unlimited)."""
    if a.capacity is None:
        return ctx.t("activities.count_unlimited", signed=a.signed_up)
    if a.waiting:
        return ctx.t(
            "activities.count_waiting", signed=a.signed_up, capacity=a.capacity, waiting=a.waiting
        )
    return ctx.t("activities.count", signed=a.signed_up, capacity=a.capacity)


def details_text(ctx: BotContext, a: ActivityView) -> list[str]:
    """The lines every card shows, for members and staff alike."""
    tz = ctx.settings.tz
    lines = [
        f"📅 <b>{escape(a.title)}</b>",
        ctx.t("activities.card_type", type=type_name(ctx, a.type)),
        ctx.t("activities.card_when", when=when_text(ctx, a)),
    ]
    if a.venue:
        lines.append(ctx.t("activities.card_place", place=a.venue))
    lines.append(ctx.t("activities.card_count", count=count_text(ctx, a)))
    if a.deadline is not None:
        lines.append(ctx.t("activities.card_deadline", deadline=acts.format_local(a.deadline, tz)))
    if a.reply_required:
        lines.append(ctx.t("activities.card_reply_required"))
    if a.status is ActivityStatus.postponed:
        lines.append(ctx.t("activities.card_postponed"))
    if a.status is ActivityStatus.cancelled:
        lines.append(ctx.t("activities.card_cancelled", reason=a.cancel_reason or "—"))
    if a.description:
        text = a.description
        text = truncate_utf16(text, DESCRIPTION_PREVIEW)
        lines.append("")
        lines.append(escape(text))
    return lines


def standing_text(ctx: BotContext, me: Standing) -> str:
    if me.status is SignupStatus.waiting:
        return ctx.t("activities.me_waiting", position=me.queue_position or "?")
    if me.status is SignupStatus.leave:
        return ctx.t("activities.me_leave", reason=me.leave_reason or "—")
    if me.status is None or me.status is SignupStatus.cancelled:
        return ctx.t("activities.me_none")
    return ctx.t(f"activities.me_{me.status.value}")


async def refuse(update: Update, ctx: BotContext, key: str, **params: object) -> None:
    """A refusal as a pop-up on a button, or as a message (no button, or it was answered)."""
    if update.callback_query is not None and not ctx.callback_answered:
        try:
            await answer_callback(update, ctx, key, alert=True, **params)
            return
        except BadRequest:
            pass  # the press can no longer be answered: say it in the chat instead
    await say(update, ctx, key, **params)


async def activity_id_arg(update: Update, ctx: BotContext, cb: Callback) -> int | None:
    """The activity id a button carries; a missing or malformed one is a stale button."""
    activity_id = cb.int_arg(0)
    if activity_id is None:
        await refuse(update, ctx, "common.stale_button")
    return activity_id


async def staff_activity(update: Update, ctx: BotContext, cb: Callback) -> ActivityView | None:
    """The activity a staff button is about; an unknown id is a stale button."""
    activity_id = await activity_id_arg(update, ctx, cb)
    if activity_id is None:
        return None
    async with ctx.db.transaction() as session:
        a = await acts.view(session, activity_id)
    if a is None:
        await refuse(update, ctx, "common.stale_button")
    return a


def example_date(ctx: BotContext) -> str:
    """An example date a week ahead, in the format the bot asks for."""
    sample = (ctx.now() + timedelta(days=7)).astimezone(ctx.settings.tz)
    return sample.replace(hour=14, minute=30).strftime("%Y-%m-%d %H:%M")


async def problem(update: Update, ctx: BotContext, result: EditResult) -> None:
    """Why a staff change was refused (checked in storage)."""
    assert result.problem is not None
    params: dict[str, object] = {"detail": result.detail, "example": example_date(ctx)}
    if result.problem is Problem.incomplete:
        params["detail"] = ctx.t(f"activities.field_{result.detail}")
    await refuse(update, ctx, f"activities.problem_{result.problem.value}", **params)
