"""Activities for members: browse, card with live count, sign up / cancel / waiting list, leave,
check-in (code, deep link or location), calendar file, and "My activities"."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from telegram import (
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler

from bot import ics
from bot.context import BotContext
from bot.i18n import escape
from bot.telegram_text import truncate_utf16
from handlers import callbacks
from handlers.guards import member_only
from handlers.replies import edit_or_send, inline, say, send_text
from handlers.wiring import Wiring, close_dialog, open_dialog
from storage import activities as acts
from storage.activities import (
    ActivityView,
    Card,
    CheckinRules,
    NoticeKind,
    Notify,
    Outcome,
    Result,
    Standing,
)
from storage.dialogs import Dialog
from storage.models import ActivityStatus, ActivityType, SignupStatus
from storage.outbox import Button, button

log = logging.getLogger(__name__)

FEATURE = "act"
DEEPLINK = "act_"
LEAVE_FLOW = "act_leave"
CHECKIN_FLOW = "act_checkin"
PAGE_SIZE = 5
ALL = "all"
CODE_RE = re.compile(rf"^\d{{{acts.CODE_DIGITS}}}$")
DESCRIPTION_PREVIEW = 800


# -- shared with the staff module ------------------------------------------------------------


def notice_buttons(activity_id: int, kind: NoticeKind) -> list[list[Button]]:
    """Buttons on messages about an activity: sign up / leave on the invitation, else open."""
    open_card = button("activities.btn_open", callbacks.make(FEATURE, "v", activity_id))
    if kind is NoticeKind.published:
        return [
            [
                button("activities.btn_signup", callbacks.make(FEATURE, "j", activity_id)),
                button("activities.btn_leave", callbacks.make(FEATURE, "l", activity_id)),
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


def may_see(ctx: BotContext, card: Card) -> bool:
    """An activity's details are for its invited members, staff, and whoever is on its list."""
    assert ctx.viewer is not None
    return card.invited or ctx.viewer.is_staff or card.me.status is not None


async def show_activity(
    update: Update, ctx: BotContext, activity_id: int, *, missing: str = "activities.not_found"
) -> None:
    """The member card, replacing the message a button sits on (or as a new message).

    missing: what to say for an unknown id or a draft (a button's id is a stale button)."""
    assert ctx.viewer is not None
    async with ctx.db.read() as session:
        card = await acts.card(session, activity_id, ctx.viewer.id)
    if card is None:
        await _refuse(update, ctx, missing)
        return
    if not may_see(ctx, card):
        await _refuse(update, ctx, "activities.not_invited")
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    text, markup = render_card(ctx, card)
    await edit_or_send(update, ctx, text, markup=markup)


def render_card(ctx: BotContext, card: Card) -> tuple[str, InlineKeyboardMarkup]:
    a, me = card.activity, card.me
    now = ctx.now()
    lines = details_text(ctx, a)
    lines += ["", ctx.t("activities.card_me", status=standing_text(ctx, me))]
    lines.append(ctx.t("activities.card_link", link=ctx.deep_link(f"{DEEPLINK}{a.id}")))
    rows: list[list[tuple[str, str]]] = []
    started = a.starts_at is not None and now >= a.starts_at
    ended = a.ends_at is not None and now >= a.ends_at
    holds = me.status in (SignupStatus.signed_up, SignupStatus.waiting)
    if a.is_open and not started:
        first: list[tuple[str, str]] = []
        if not holds and me.status is not SignupStatus.checked_in and a.signup_open(now):
            key = "activities.btn_waitlist" if a.full else "activities.btn_signup"
            first.append((ctx.t(key), callbacks.make(FEATURE, "j", a.id)))
        if holds:
            first.append((ctx.t("activities.btn_cancel"), callbacks.make(FEATURE, "c", a.id)))
        if me.status not in (SignupStatus.leave, SignupStatus.checked_in):
            first.append((ctx.t("activities.btn_leave"), callbacks.make(FEATURE, "l", a.id)))
        if first:
            rows.append(first)
    if a.is_open and not ended and a.starts_at is not None:
        opens, closes = rules(ctx).window(a.starts_at)
        if opens <= now <= closes and me.status is not SignupStatus.checked_in:
            rows.append([(ctx.t("activities.btn_checkin"), callbacks.make(FEATURE, "ci", a.id))])
    rows.append(
        [
            (ctx.t("activities.btn_calendar"), callbacks.make(FEATURE, "ics", a.id)),
            (ctx.t("activities.btn_back"), callbacks.make(FEATURE, "ls", ALL, 1)),
        ]
    )
    return "\n".join(lines), inline(rows)


async def _refuse(update: Update, ctx: BotContext, key: str, **params: object) -> None:
    """A refusal as an alert on a button, or as a message (also when the button was answered)."""
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(ctx.plain(key, **params), show_alert=True)
            return
        except BadRequest:
            pass  # "query is already answered": say it in the chat instead
    await say(update, ctx, key, **params)


# -- browsing -----------------------------------------------------------------------------


@member_only
async def browse(update: Update, ctx: BotContext) -> None:
    """Menu button: upcoming activities open to me, newest first."""
    await _list(update, ctx, None, 1)


async def _list(update: Update, ctx: BotContext, kind: ActivityType | None, page: int) -> None:
    assert ctx.viewer is not None
    async with ctx.db.read() as session:
        found = await acts.browse(
            session, ctx.viewer.id, now=ctx.now(), type=kind, page=page, size=PAGE_SIZE
        )
    tz = ctx.settings.tz
    filter_name = type_name(ctx, kind) if kind else ctx.t("activities.filter_all")
    if found.total:
        text = ctx.t(
            "activities.list_title",
            filter=filter_name,
            total=found.total,
            page=found.page,
            pages=found.pages,
        )
    else:
        text = ctx.t("activities.list_empty", filter=filter_name)
    rows: list[list[tuple[str, str]]] = []
    for a in found.items:
        start = a.starts_at.astimezone(tz).strftime("%m-%d %H:%M") if a.starts_at else ""
        label = f"{start} {a.title}"
        if len(label) > 40:
            label = label[:39] + "…"
        count = f"{a.signed_up}/{a.capacity}" if a.capacity is not None else str(a.signed_up)
        rows.append([(f"{label} ({count})", callbacks.make(FEATURE, "v", a.id))])
    key = kind.value if kind else ALL
    nav: list[tuple[str, str]] = []
    if found.page > 1:
        nav.append((ctx.t("common.prev_page"), callbacks.make(FEATURE, "ls", key, found.page - 1)))
    if found.page < found.pages:
        nav.append((ctx.t("common.next_page"), callbacks.make(FEATURE, "ls", key, found.page + 1)))
    if nav:
        rows.append(nav)
    filters = [(ALL, ctx.t("activities.filter_all"))] + [
        (t.value, type_name(ctx, t)) for t in ActivityType
    ]
    buttons = [
        (("• " if value == key else "") + label, callbacks.make(FEATURE, "ls", value, 1))
        for value, label in filters
    ]
    rows += [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    await edit_or_send(update, ctx, text, markup=inline(rows))


@member_only
async def my_activities(update: Update, ctx: BotContext) -> None:
    """Menu button: my upcoming and past activities with my status."""
    assert ctx.viewer is not None
    now = ctx.now()
    async with ctx.db.read() as session:
        upcoming, past = await acts.my_activities(session, ctx.viewer.id, now=now)
    tz = ctx.settings.tz
    lines = [ctx.t("activities.my_title")]
    if not upcoming and not past:
        lines.append(ctx.t("activities.my_empty"))
    if upcoming:
        lines += ["", ctx.t("activities.my_upcoming")]
    for card in upcoming:
        a = card.activity
        lines.append(
            ctx.t(
                "activities.my_line",
                when=acts.format_local(a.starts_at, tz),
                title=a.title,
                status=_my_status(ctx, card),
            )
        )
    if past:
        lines += ["", ctx.t("activities.my_past")]
    for card in past:
        a = card.activity
        lines.append(
            ctx.t(
                "activities.my_line",
                when=acts.format_local(a.starts_at, tz),
                title=a.title,
                status=_my_status(ctx, card, past=True),
            )
        )
    rows = [
        [(f"{c.activity.title[:30]}", callbacks.make(FEATURE, "v", c.activity.id))]
        for c in upcoming
    ]
    rows.append([(ctx.t("activities.btn_browse"), callbacks.make(FEATURE, "ls", ALL, 1))])
    await edit_or_send(update, ctx, "\n".join(lines), markup=inline(rows))


def _my_status(ctx: BotContext, card: Card, *, past: bool = False) -> str:
    if card.activity.status is ActivityStatus.cancelled:
        return ctx.t("activities.my_activity_cancelled")
    if past and card.me.status is SignupStatus.signed_up:
        return ctx.t("activities.my_absent")
    if past and card.me.status is SignupStatus.waiting:
        return ctx.t("activities.my_not_moved_up")
    return standing_text(ctx, card.me)


# -- buttons ------------------------------------------------------------------------------


@member_only
async def on_button(update: Update, ctx: BotContext) -> None:
    """Every member button of the feature; ids are re-checked in storage."""
    query = update.callback_query
    assert query is not None and ctx.viewer is not None
    cb = callbacks.parse(query.data)
    if cb is None:
        await query.answer(ctx.t("common.stale_button"), show_alert=True)
        return
    if cb.action == "ls":
        kind_arg = cb.arg(0) or ALL
        page = cb.int_arg(1) or 1
        kind = None
        if kind_arg != ALL:
            if kind_arg not in ActivityType.__members__:
                await query.answer(ctx.t("common.stale_button"), show_alert=True)
                return
            kind = ActivityType(kind_arg)
        await query.answer()
        await _list(update, ctx, kind, page)
        return
    if cb.action == "my":
        await query.answer()
        await my_activities(update, ctx)
        return
    activity_id = cb.int_arg(0)
    handler = _ACTIONS.get(cb.action)
    if activity_id is None or handler is None:
        await query.answer(ctx.t("common.stale_button"), show_alert=True)
        return
    await handler(update, ctx, activity_id)


async def _open(update: Update, ctx: BotContext, activity_id: int) -> None:
    await show_activity(update, ctx, activity_id, missing="common.stale_button")


async def _sign_up(update: Update, ctx: BotContext, activity_id: int) -> None:
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        result = await acts.sign_up(session, activity_id, ctx.viewer.id, now=ctx.now())
    await _after(update, ctx, result)


async def _cancel(update: Update, ctx: BotContext, activity_id: int) -> None:
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        result = await acts.cancel(
            session, activity_id, ctx.viewer.id, now=ctx.now(), notify=notify(ctx)
        )
    if result.outcome is Outcome.needs_leave:
        await _ask_leave_reason(update, ctx, activity_id, after_deadline=True)
        return
    await _after(update, ctx, result)


async def _leave(update: Update, ctx: BotContext, activity_id: int) -> None:
    assert ctx.viewer is not None
    async with ctx.db.read() as session:
        card = await acts.card(session, activity_id, ctx.viewer.id)
    if card is None:
        await _refuse(update, ctx, "common.stale_button")
        return
    await _ask_leave_reason(update, ctx, activity_id, after_deadline=False)


async def _ask_leave_reason(
    update: Update, ctx: BotContext, activity_id: int, *, after_deadline: bool
) -> None:
    """Open the leave dialog; a reason can be skipped unless the activity requires replies."""
    assert ctx.viewer is not None
    async with ctx.db.read() as session:
        card = await acts.card(session, activity_id, ctx.viewer.id)
    if card is None:
        await _refuse(update, ctx, "common.stale_button")
        return
    refusal = _leave_refusal(ctx, card)
    if refusal is not None:
        await _refuse(update, ctx, refusal)
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    await open_dialog(update, ctx, LEAVE_FLOW, "reason", {"id": activity_id})
    key = "activities.leave_after_deadline" if after_deadline else "activities.leave_ask"
    markup = None
    if not card.activity.reply_required:
        markup = inline(
            [
                [
                    (
                        ctx.t("activities.btn_leave_no_reason"),
                        callbacks.make(FEATURE, "lx", activity_id),
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


async def _leave_without_reason(update: Update, ctx: BotContext, activity_id: int) -> None:
    dialog = ctx.dialog
    if dialog is None or dialog.flow != LEAVE_FLOW or dialog.data.get("id") != activity_id:
        await _refuse(update, ctx, "common.stale_button")
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
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        result = await acts.leave(
            session, activity_id, ctx.viewer.id, reason=reason, now=ctx.now(), notify=notify(ctx)
        )
    if result.outcome is Outcome.reason_required:
        await _refuse(update, ctx, "activities.outcome_reason_required")
        return
    await close_dialog(update, ctx)
    if result.promoted:
        ctx.runtime.outbox_signal()
    if update.callback_query is not None:
        await update.callback_query.answer()
    await say(update, ctx, f"activities.outcome_{result.outcome.value}")
    if result.outcome is Outcome.left:
        await _send_card(update, ctx, activity_id)


async def _send_card(update: Update, ctx: BotContext, activity_id: int) -> None:
    """The card as a new message (after a typed answer there is no button message to edit)."""
    assert ctx.viewer is not None
    async with ctx.db.read() as session:
        card = await acts.card(session, activity_id, ctx.viewer.id)
    if card is not None:
        text, markup = render_card(ctx, card)
        await send_text(update, ctx, text, markup=markup)


async def _after(update: Update, ctx: BotContext, result: Result) -> None:
    """Answer a sign-up or cancel: a toast for success, an alert for a refusal; refresh card."""
    if result.promoted:
        ctx.runtime.outbox_signal()
    key = f"activities.outcome_{result.outcome.value}"
    if result.outcome is Outcome.not_found and update.callback_query is not None:
        key = "common.stale_button"  # a forged or outdated id on a button
    params: dict[str, object] = {"position": result.queue_position or "?"}
    if result.ok or result.outcome in (Outcome.already_signed_up, Outcome.already_waiting):
        if update.callback_query is not None:
            await update.callback_query.answer(ctx.plain(key, **params), show_alert=not result.ok)
        if result.card is not None:
            text, markup = render_card(ctx, result.card)
            await edit_or_send(update, ctx, text, markup=markup)
        return
    await _refuse(update, ctx, key, **params)


# -- check-in -----------------------------------------------------------------------------


async def _ask_checkin(update: Update, ctx: BotContext, activity_id: int) -> None:
    assert ctx.viewer is not None
    async with ctx.db.read() as session:
        card = await acts.card(session, activity_id, ctx.viewer.id)
    if card is None or not card.activity.is_open:
        await _refuse(update, ctx, "common.stale_button")
        return
    if not may_see(ctx, card):
        await _refuse(update, ctx, "activities.not_invited")
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
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
        await _send_card(update, ctx, result.activity_id)


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


# -- calendar file and deep link ----------------------------------------------------------


async def _calendar(update: Update, ctx: BotContext, activity_id: int) -> None:
    assert ctx.viewer is not None
    async with ctx.db.read() as session:
        card = await acts.card(session, activity_id, ctx.viewer.id)
    if card is None or card.activity.starts_at is None or card.activity.ends_at is None:
        await _refuse(update, ctx, "common.stale_button")
        return
    if not may_see(ctx, card):
        await _refuse(update, ctx, "activities.not_invited")
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    a = card.activity
    data = ics.activity_ics(
        a,
        timezone=ctx.settings.timezone,
        url=ctx.deep_link(f"{DEEPLINK}{a.id}"),
        now=ctx.now(),
    )
    chat = update.effective_chat
    assert chat is not None
    await ctx.bot.send_document(
        chat.id,
        InputFile(data, filename=f"activity-{a.id}.ics"),
        caption=ctx.t("activities.ics_caption", title=a.title),
        parse_mode="HTML",
    )


async def deep_link(update: Update, ctx: BotContext, rest: str) -> None:
    """/start act_<id> opens the card; act_<id>_<code> checks in with the venue's code."""
    match = re.fullmatch(r"(\d{1,12})(?:_(\d{1,12}))?", rest)
    if match is None or int(match[1]) == 0:
        await say(update, ctx, "activities.not_found")
        return
    activity_id = int(match[1])
    if match[2] is not None:
        assert ctx.viewer is not None
        async with ctx.db.transaction() as session:
            result = await acts.check_in_by_code(
                session,
                ctx.viewer.id,
                match[2],
                now=ctx.now(),
                rules=rules(ctx),
                activity_id=activity_id,
            )
        if result.outcome is Outcome.not_found:
            await say(update, ctx, "activities.not_found")
            return
        await _checkin_answer(update, ctx, result)
        return
    await show_activity(update, ctx, activity_id)


_ACTIONS = {
    "v": _open,
    "open": _open,  # the reminders' button (storage/reminders.py)
    "j": _sign_up,
    "c": _cancel,
    "l": _leave,
    "lx": _leave_without_reason,
    "ci": _ask_checkin,
    "ics": _calendar,
}


def register(app: Application, wiring: Wiring) -> None:  # type: ignore[type-arg]
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(FEATURE)))
    wiring.add_menu("activities.menu_browse", browse, order=20)
    wiring.add_menu("activities.menu_mine", my_activities, order=21)
    wiring.add_flow(LEAVE_FLOW, leave_reason)
    wiring.add_flow(CHECKIN_FLOW, checkin_input)
    wiring.add_deeplink(DEEPLINK, deep_link)
    wiring.add_free_message(free_message)
