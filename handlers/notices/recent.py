"""Staff looking back: 📋 / /notices lists the latest notices; each opens its statistics card
(delivery and acknowledgement counts, with buttons for the lists, the export, a reminder to
the silent ones, resending the failed and cancelling), which refreshes in place."""

from __future__ import annotations

from bot.i18n import Markup, escape
from handlers.channel.turn import Turn
from handlers.channel.views import Button, Text, View
from handlers.notices import messages
from handlers.notices.common import (
    button,
    explain,
    first_line,
    local,
    pressed,
    pressed_notice,
    stale,
)
from storage import notices
from storage.models import AckMode, NoticeStatus
from storage.notices import Category, Problem

# Names of audience members not on the bot shown on the card (the export lists them all).
NOT_ON_BOT_NAMES = 20


async def recent(turn: Turn) -> None:
    """📋 / /notices: the latest notices, each opening its statistics."""
    async with turn.db.transaction() as session:
        items = await notices.recent(session, turn.member)
    if not items:
        await turn.reply(View.of("notices.recent_empty"))
        return
    rows = []
    for view in items:
        when = local(turn, view.scheduled_at or view.queued_at)
        label = turn.plain(
            "notices.recent_line",
            id=view.id,
            when=when,
            status=turn.plain(f"notices.status_{view.status.value}"),
        )
        rows.append([button(f"{label} {first_line(view.body, 16)}", "stats", view.id)])
    await turn.reply(View([Text("notices.recent_title")], rows))


async def open_stats(turn: Turn) -> None:
    """The statistics card, as a new message."""
    await _stats(turn, edit=False)


async def refresh_stats(turn: Turn) -> None:
    """🔄 on the card: the same card, counted again, in place."""
    await _stats(turn, edit=True)


async def _stats(turn: Turn, *, edit: bool) -> None:
    async with turn.db.transaction() as session:
        view = await pressed_notice(turn, session)
        if view is None:
            return
        notice_id = view.id
        stats = await notices.stats(session, notice_id)
        missing = await notices.not_reached(session, notice_id)
    ack_part = ""
    if view.asks_ack:
        ack_part = turn.t("notices.stats_ack", acked=stats.acknowledged, silent=stats.silent)
        if view.ack_mode is AckMode.options:
            for index, label in enumerate(view.ack_options):
                n = stats.by_option[index] if index < len(stats.by_option) else 0
                ack_part += turn.t("notices.stats_option", label=label, n=n)
    if view.status is NoticeStatus.scheduled:
        when = turn.t("notices.stats_when_scheduled", at=local(turn, view.scheduled_at))
    else:
        at = local(turn, view.scheduled_at or view.queued_at)
        when = turn.t("notices.stats_when_sent", at=at)
    text = turn.t(
        "notices.stats",
        id=view.id,
        status=turn.t(f"notices.status_{view.status.value}"),
        when=when,
        total=stats.total,
        delivered=stats.delivered,
        waiting=stats.waiting,
        failed=stats.failed,
        unreachable=stats.unreachable,
        cancelled=stats.cancelled,
        ack_part=Markup(ack_part),  # joined from texts above
        first=first_line(view.body, 60),
    )
    if missing:  # not on the bot: staff tell them another way, so the card names them
        names = "、".join(escape(line.name) for line in missing[:NOT_ON_BOT_NAMES])
        if len(missing) > NOT_ON_BOT_NAMES:
            names += turn.t("notices.stats_not_on_bot_more")
        text += turn.t("notices.stats_not_on_bot", count=len(missing), names=Markup(names))
    categories = [Category.silent, Category.acknowledged] if view.asks_ack else []
    categories += [Category.delivered] if not view.asks_ack else []
    categories += [Category.unreachable, Category.failed, Category.waiting]
    buttons = [
        button(Text(f"notices.category_{c.value}"), "list", view.id, c.value) for c in categories
    ]
    rows: list[list[Button]] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([button(Text("notices.export_button"), "export", view.id)])
    if (
        view.asks_ack
        and (stats.silent or stats.failed)
        and view.status is not NoticeStatus.cancelled
    ):
        rows.append([button(Text("notices.remind_button"), "remind", view.id)])
    if stats.failed and view.status in (NoticeStatus.sending, NoticeStatus.done):
        resend = Text.of("notices.resend_failed_button", n=stats.failed)
        rows.append([button(resend, "resend_failed", view.id)])
    if view.status in notices.OPEN:
        rows.append([button(Text("notices.cancel_button"), "cancel", view.id)])
    rows.append([button(Text("notices.refresh_button"), "refresh_stats", view.id)])
    card = View([Markup(text)], rows)
    if edit:
        await turn.edit(card)
    else:
        await turn.reply(card)


async def remind(turn: Turn) -> None:
    """🔔 on the card: the silent recipients get the notice's buttons again."""
    notice_id = pressed(turn).int_arg(0)
    if notice_id is None:
        await stale(turn)
        return
    async with turn.db.transaction(bulk=True) as session:
        result = await notices.remind(
            session, turn.member, notice_id, now=turn.now(), message=messages.reminder
        )
    if isinstance(result, Problem):
        await explain(turn, result)
        return
    turn.runtime.outbox_signal()
    await turn.reply(View.of("notices.reminded", n=result))
