"""Finding activities as a member: the paged list with its type filter, "My activities", and the
deep link /start act_<id> (the card) or act_<id>_<code> (check in with the venue's code)."""

from __future__ import annotations

import re

from telegram import Update

from bot.context import BotContext
from handlers import callbacks
from handlers.activities.card import ALL, show_activity
from handlers.activities.checkin import link_check_in
from handlers.activities.common import MEMBER, refuse, standing_text, type_name
from handlers.callbacks import Callback
from handlers.replies import edit_or_send, inline, say
from storage import activities as acts
from storage.activities import Card
from storage.models import ActivityStatus, ActivityType, SignupStatus

PAGE_SIZE = 5


async def browse(update: Update, ctx: BotContext) -> None:
    """Menu button: upcoming activities open to me, newest first."""
    await _list(update, ctx, None, 1)


async def list_page(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: a page of the list, of one type or all."""
    kind_arg = cb.arg(0) or ALL
    page = cb.int_arg(1) or 1
    kind = None
    if kind_arg != ALL:
        if kind_arg not in ActivityType.__members__:
            await refuse(update, ctx, "common.stale_button")
            return
        kind = ActivityType(kind_arg)
    await _list(update, ctx, kind, page)


async def _list(update: Update, ctx: BotContext, kind: ActivityType | None, page: int) -> None:
    async with ctx.db.read() as session:
        found = await acts.browse(
            session, ctx.member.id, now=ctx.now(), type=kind, page=page, size=PAGE_SIZE
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
        rows.append([(f"{label} ({count})", callbacks.make(MEMBER, "open", a.id))])
    key = kind.value if kind else ALL
    nav: list[tuple[str, str]] = []
    if found.page > 1:
        nav.append((ctx.t("common.prev_page"), callbacks.make(MEMBER, "list", key, found.page - 1)))
    if found.page < found.pages:
        nav.append((ctx.t("common.next_page"), callbacks.make(MEMBER, "list", key, found.page + 1)))
    if nav:
        rows.append(nav)
    filters = [(ALL, ctx.t("activities.filter_all"))] + [
        (t.value, type_name(ctx, t)) for t in ActivityType
    ]
    buttons = [
        (("• " if value == key else "") + label, callbacks.make(MEMBER, "list", value, 1))
        for value, label in filters
    ]
    rows += [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    await edit_or_send(update, ctx, text, markup=inline(rows))


async def my_activities(update: Update, ctx: BotContext) -> None:
    """Menu button: my upcoming and past activities with my status."""
    now = ctx.now()
    async with ctx.db.read() as session:
        upcoming, past = await acts.my_activities(session, ctx.member.id, now=now)
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
        [(f"{c.activity.title[:30]}", callbacks.make(MEMBER, "open", c.activity.id))]
        for c in upcoming
    ]
    rows.append([(ctx.t("activities.btn_browse"), callbacks.make(MEMBER, "list", ALL, 1))])
    await edit_or_send(update, ctx, "\n".join(lines), markup=inline(rows))


async def mine(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: "My activities"."""
    await my_activities(update, ctx)


def _my_status(ctx: BotContext, card: Card, *, past: bool = False) -> str:
    if card.activity.status is ActivityStatus.cancelled:
        return ctx.t("activities.my_activity_cancelled")
    if past and card.me.status is SignupStatus.signed_up:
        return ctx.t("activities.my_absent")
    if past and card.me.status is SignupStatus.waiting:
        return ctx.t("activities.my_not_moved_up")
    return standing_text(ctx, card.me)


async def deep_link(update: Update, ctx: BotContext, rest: str) -> None:
    """/start act_<id> opens the card; act_<id>_<code> checks in with the venue's code."""
    match = re.fullmatch(r"(\d{1,12})(?:_(\d{1,12}))?", rest)
    if match is None or int(match[1]) == 0:
        await say(update, ctx, "activities.not_found")
        return
    activity_id = int(match[1])
    if match[2] is not None:
        await link_check_in(update, ctx, activity_id, match[2])
        return
    await show_activity(update, ctx, activity_id)
