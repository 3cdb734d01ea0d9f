"""The member's activity card: who may see it, its text and buttons (what the member can do
right now), shown in place of the message a button sits on or as a new message."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.context import BotContext
from handlers import callbacks
from handlers.activities.common import (
    DEEPLINK,
    MEMBER,
    activity_id_arg,
    details_text,
    refuse,
    rules,
    standing_text,
)
from handlers.callbacks import Callback
from handlers.replies import edit_or_send, inline, send_text
from storage import activities as acts
from storage.activities import Card
from storage.models import SignupStatus

ALL = "all"  # the type filter of the list meaning every type


def may_see(ctx: BotContext, card: Card) -> bool:
    """An activity's details are for its invited members, staff, and whoever is on its list."""
    return card.invited or ctx.member.is_staff or card.me.status is not None


async def show_activity(
    update: Update, ctx: BotContext, activity_id: int, *, missing: str = "activities.not_found"
) -> None:
    """The member card, replacing the message a button sits on (or as a new message).

    missing: what to say for an unknown id or a draft (a button's id is a stale button)."""
    async with ctx.db.read() as session:
        card = await acts.card(session, activity_id, ctx.member.id)
    if card is None:
        await refuse(update, ctx, missing)
        return
    if not may_see(ctx, card):
        await refuse(update, ctx, "activities.not_invited")
        return
    text, markup = render_card(ctx, card)
    await edit_or_send(update, ctx, text, markup=markup)


async def open_card(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: the card of an activity (from a list, an invitation or a reminder)."""
    activity_id = await activity_id_arg(update, ctx, cb)
    if activity_id is not None:
        await show_activity(update, ctx, activity_id, missing="common.stale_button")


async def send_card(update: Update, ctx: BotContext, activity_id: int) -> None:
    """The card as a new message (after a typed answer there is no button message to edit)."""
    async with ctx.db.read() as session:
        card = await acts.card(session, activity_id, ctx.member.id)
    if card is not None:
        text, markup = render_card(ctx, card)
        await send_text(update, ctx, text, markup=markup)


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
            first.append((ctx.t(key), callbacks.make(MEMBER, "signup", a.id)))
        if holds:
            first.append((ctx.t("activities.btn_cancel"), callbacks.make(MEMBER, "cancel", a.id)))
        if me.status not in (SignupStatus.leave, SignupStatus.checked_in):
            first.append((ctx.t("activities.btn_leave"), callbacks.make(MEMBER, "leave", a.id)))
        if first:
            rows.append(first)
    if a.is_open and not ended and a.starts_at is not None:
        opens, closes = rules(ctx).window(a.starts_at)
        if opens <= now <= closes and me.status is not SignupStatus.checked_in:
            rows.append(
                [(ctx.t("activities.btn_checkin"), callbacks.make(MEMBER, "checkin", a.id))]
            )
    rows.append(
        [
            (ctx.t("activities.btn_calendar"), callbacks.make(MEMBER, "calendar", a.id)),
            (ctx.t("activities.btn_back"), callbacks.make(MEMBER, "list", ALL, 1)),
        ]
    )
    return "\n".join(lines), inline(rows)
