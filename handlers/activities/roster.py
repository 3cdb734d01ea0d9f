"""Who is coming, for staff: the sign-up list of an activity as a message (names per standing,
the export has everyone), and the check-in code with its link for the venue."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import Markup, escape
from bot.telegram_text import MAX_TEXT_LENGTH, truncate_html
from handlers import callbacks
from handlers.activities.common import DEEPLINK, STAFF, count_text, refuse, rules, staff_activity
from handlers.callbacks import Callback
from handlers.replies import inline, send_text
from storage import activities as acts
from storage.activities import Roster

ROSTER_NAMES = 30  # names per section in the roster message; the export has everyone


def _names(ctx: BotContext, entries: list[acts.RosterEntry], *, reasons: bool = False) -> str:
    shown = []
    for e in entries[:ROSTER_NAMES]:
        name: str = escape(e.name)
        if reasons:
            name += f"（{escape(e.leave_reason or '—')}）"
        if e.checked_in_at is not None:
            name += " ✅"
        shown.append(name)
    text = "、".join(shown) or "—"
    if len(entries) > ROSTER_NAMES:
        text += ctx.t("activities.roster_more", count=len(entries) - ROSTER_NAMES)
    return Markup(text)  # names escaped above; it goes into a text as it is


def render_roster(ctx: BotContext, roster: Roster) -> str:
    a = roster.activity
    lines = [
        ctx.t("activities.roster_title", title=a.title),
        ctx.t(
            "activities.card_when", when=acts.format_span(a.starts_at, a.ends_at, ctx.settings.tz)
        ),
        ctx.t("activities.card_count", count=count_text(ctx, a)),
        "",
        ctx.t(
            "activities.roster_signed_up",
            n=len(roster.signed_up),
            names=_names(ctx, roster.signed_up),
        ),
        ctx.t(
            "activities.roster_waiting", n=len(roster.waiting), names=_names(ctx, roster.waiting)
        ),
        ctx.t(
            "activities.roster_leave",
            n=len(roster.leave),
            names=_names(ctx, roster.leave, reasons=True),
        ),
        ctx.t(
            "activities.roster_checked_in",
            n=len(roster.checked_in),
            names=_names(ctx, roster.checked_in),
        ),
        ctx.t(
            "activities.roster_not_replied",
            n=len(roster.not_replied),
            names=_names(ctx, roster.not_replied),
        ),
    ]
    return truncate_html("\n".join(lines), MAX_TEXT_LENGTH)


async def show_roster(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: the sign-up list as a message."""
    a = await staff_activity(update, ctx, cb)
    if a is None:
        return
    async with ctx.db.transaction() as session:
        roster = await acts.roster(session, a.id)
    if roster is None:
        await refuse(update, ctx, "common.stale_button")
        return
    rows = [
        [
            (ctx.t("activities.btn_export"), callbacks.make(STAFF, "export", a.id)),
            (ctx.t("activities.btn_back"), callbacks.make(STAFF, "card", a.id)),
        ]
    ]
    await send_text(update, ctx, render_roster(ctx, roster), markup=inline(rows))


async def checkin_code(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: the check-in code (":new" for a fresh one), its window and its link."""
    a = await staff_activity(update, ctx, cb)
    if a is None:
        return
    renew = cb.arg(1) == "new"
    async with ctx.db.transaction() as session:
        code = await acts.checkin_code(session, a.id, actor=ctx.member.actor, renew=renew)
    if code is None or a.starts_at is None:
        await refuse(update, ctx, "common.stale_button")
        return
    opens, closes = rules(ctx).window(a.starts_at)
    tz = ctx.settings.tz
    text = ctx.t(
        "activities.code_text",
        code=code,
        title=a.title,
        opens=acts.format_local(opens, tz),
        closes=acts.format_local(closes, tz),
        link=ctx.deep_link(f"{DEEPLINK}{a.id}_{code}"),
        radius=ctx.settings.activity_checkin_radius_meters,
    )
    rows = [
        [
            (ctx.t("activities.btn_new_code"), callbacks.make(STAFF, "checkin_code", a.id, "new")),
            (ctx.t("activities.btn_back"), callbacks.make(STAFF, "card", a.id)),
        ]
    ]
    await send_text(update, ctx, text, markup=inline(rows))
