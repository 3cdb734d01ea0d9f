"""Activities for staff: the list of every activity (menu button, /activities) and the staff
card with its audience, counts and the buttons for what its status allows."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.i18n import Markup
from handlers import callbacks
from handlers.activities.common import (
    DEEPLINK,
    STAFF,
    count_text,
    details_text,
    refuse,
    staff_activity,
)
from handlers.callbacks import Callback
from handlers.replies import edit_or_send, inline, send_text
from storage import activities as acts
from storage.activities import ActivityView
from storage.models import ActivityStatus, TargetKind

PAGE_SIZE = 8
STATUS_ICON = {
    ActivityStatus.draft: "📝",
    ActivityStatus.published: "✅",
    ActivityStatus.postponed: "⏰",
    ActivityStatus.cancelled: "❌",
}


async def home(update: Update, ctx: BotContext) -> None:
    """Menu button and /activities: every activity, newest first, with create and import."""
    await show_home(update, ctx, 1)


async def home_page(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: a page of the list."""
    await show_home(update, ctx, cb.int_arg(0) or 1)


async def show_home(update: Update, ctx: BotContext, page: int) -> None:
    async with ctx.db.transaction() as session:
        found = await acts.staff_list(session, page=page, size=PAGE_SIZE)
    tz = ctx.settings.tz
    rows: list[list[tuple[str, str]]] = [
        [
            (ctx.t("activities.btn_new"), callbacks.make(STAFF, "new")),
            (ctx.t("activities.btn_import"), callbacks.make(STAFF, "import")),
        ]
    ]
    for a in found.items:
        start = a.starts_at.astimezone(tz).strftime("%m-%d") if a.starts_at else "--"
        title = a.title or ctx.t("activities.untitled")
        label = f"{STATUS_ICON[a.status]} {start} {title}"
        rows.append([(label[:60], callbacks.make(STAFF, "card", a.id))])
    nav: list[tuple[str, str]] = []
    if found.page > 1:
        nav.append((ctx.t("common.prev_page"), callbacks.make(STAFF, "home", found.page - 1)))
    if found.page < found.pages:
        nav.append((ctx.t("common.next_page"), callbacks.make(STAFF, "home", found.page + 1)))
    if nav:
        rows.append(nav)
    text = ctx.t("activities.staff_home", total=found.total, page=found.page, pages=found.pages)
    await edit_or_send(update, ctx, text, markup=inline(rows))


# -- the staff card ---------------------------------------------------------------------------


async def _audience_text(ctx: BotContext, activity_id: int) -> str:
    async with ctx.db.transaction() as session:
        targets = await acts.targets(session, activity_id)
        invited = await acts.invited_count(session, activity_id)
    if not targets:
        return ctx.t("activities.audience_none")
    parts: dict[TargetKind, list[str]] = {}
    for t in targets:
        parts.setdefault(t.kind, []).append(t.name)
    text = "；".join(
        ctx.t("activities.audience_everyone")
        if kind is TargetKind.everyone
        else ctx.t(f"activities.audience_{kind.value}", names="、".join(names))
        for kind, names in parts.items()
    )
    # text is joined from texts made by ctx.t just above (the names escaped there).
    return ctx.t("activities.audience_line", audience=Markup(text), count=invited)


async def render_staff_card(ctx: BotContext, a: ActivityView) -> tuple[str, InlineKeyboardMarkup]:
    lines = details_text(ctx, a) if a.title else [ctx.t("activities.untitled")]
    lines.append(await _audience_text(ctx, a.id))
    lines.append(ctx.t("activities.staff_status", status=ctx.t(f"activities.astatus_{a.status}")))
    if a.status is not ActivityStatus.draft:
        lines.append(
            ctx.t(
                "activities.staff_counts",
                count=count_text(ctx, a),
                leave=a.leave,
                checked_in=a.checked_in,
            )
        )
        lines.append(ctx.t("activities.card_link", link=ctx.deep_link(f"{DEEPLINK}{a.id}")))
    rows: list[list[tuple[str, str]]] = []
    if a.status is ActivityStatus.draft:
        async with ctx.db.transaction() as session:
            has_targets = bool(await acts.targets(session, a.id))
        missing = acts.missing_field(a, has_targets)
        if missing is not None:
            lines.append(
                ctx.t("activities.draft_missing", field=ctx.t(f"activities.field_{missing}"))
            )
            rows.append(
                [(ctx.t("activities.btn_continue"), callbacks.make(STAFF, "continue", a.id))]
            )
        else:
            rows.append(
                [
                    (
                        ctx.t("activities.btn_publish_notify"),
                        callbacks.make(STAFF, "publish", a.id, 1),
                    ),
                    (
                        ctx.t("activities.btn_publish_quiet"),
                        callbacks.make(STAFF, "publish", a.id, 0),
                    ),
                ]
            )
        rows.append(
            [
                (ctx.t("activities.btn_edit"), callbacks.make(STAFF, "edit", a.id)),
                (ctx.t("activities.btn_discard"), callbacks.make(STAFF, "cancel", a.id)),
            ]
        )
    elif a.is_open:
        rows.append(
            [
                (ctx.t("activities.btn_edit"), callbacks.make(STAFF, "edit", a.id)),
                (ctx.t("activities.btn_postpone"), callbacks.make(STAFF, "postpone", a.id)),
                (ctx.t("activities.btn_cancel_activity"), callbacks.make(STAFF, "cancel", a.id)),
            ]
        )
        rows.append(
            [
                (ctx.t("activities.btn_roster"), callbacks.make(STAFF, "roster", a.id)),
                (ctx.t("activities.btn_export"), callbacks.make(STAFF, "export", a.id)),
                (ctx.t("activities.btn_code"), callbacks.make(STAFF, "checkin_code", a.id)),
            ]
        )
    else:
        rows.append(
            [
                (ctx.t("activities.btn_roster"), callbacks.make(STAFF, "roster", a.id)),
                (ctx.t("activities.btn_export"), callbacks.make(STAFF, "export", a.id)),
            ]
        )
    rows.append([(ctx.t("activities.btn_back"), callbacks.make(STAFF, "home", 1))])
    return "\n".join(lines), inline(rows)


async def show_card(
    update: Update, ctx: BotContext, activity_id: int, *, new: bool = False
) -> None:
    """The staff card in place of the button's message, or (new) as a new message."""
    async with ctx.db.transaction() as session:
        a = await acts.view(session, activity_id)
    if a is None:
        await refuse(update, ctx, "common.stale_button")
        return
    text, markup = await render_staff_card(ctx, a)
    if new:
        await send_text(update, ctx, text, markup=markup)
    else:
        await edit_or_send(update, ctx, text, markup=markup)


async def open_card(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Button: the staff card of an activity."""
    a = await staff_activity(update, ctx, cb)
    if a is not None:
        await show_card(update, ctx, a.id)
