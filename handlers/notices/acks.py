"""Acknowledgements: a member's "received" (or option) button and the label it turns into,
📬 the notices a member received (each opened again, with its buttons while unanswered), and
the staff lists of recipients by category (silent, acknowledged, failed...)."""

from __future__ import annotations

from datetime import datetime

from bot.exports.sheets import display_phone
from bot.i18n import Markup, escape
from bot.telegram_text import split_html_lines
from handlers.channel.turn import Turn
from handlers.channel.views import Button, Text, View
from handlers.notices.common import (
    answer_label,
    body_of,
    button,
    enum_arg,
    explain,
    first_line,
    local,
    member_buttons,
    notice_copy,
    pressed,
    stale,
)
from storage import notices
from storage.notices import Category, NoticeView, Problem

LIST_LINES = 40  # names shown in a chat list; the xlsx has everyone


# -- members ----------------------------------------------------------------------------------


def _acked_buttons(
    turn: Turn, view: NoticeView, option: int, at: datetime | None
) -> list[list[Button]]:
    label = Text.of(
        "notices.acked_label", answer=answer_label(turn, view, option), at=local(turn, at)
    )
    return [[button(label, "acknowledged", view.id)]]


async def acknowledge(turn: Turn) -> None:
    """A member presses "received" (or an option): recorded once, the button shows it."""
    data = pressed(turn)
    notice_id, option = data.int_arg(0), data.arg(1)
    if notice_id is None or option is None or not option.isdigit():
        await stale(turn)
        return
    member = turn.member
    # Only in the member's own conversation, where the notice was delivered to them.
    account = member.account
    if account is None or account.address != turn.account.address:
        await stale(turn)
        return
    async with turn.db.transaction() as session:
        result = await notices.acknowledge(
            session, notice_id, member.id, int(option), now=turn.now()
        )
    if result.outcome is notices.AckOutcome.not_recipient or result.notice is None:
        await stale(turn)
        return
    answer = answer_label(turn, result.notice, result.option or 0)
    if result.outcome is notices.AckOutcome.recorded:
        await turn.notify("notices.ack_recorded")
    else:
        await turn.notify("notices.ack_already", answer=answer)
    await turn.edit_buttons(_acked_buttons(turn, result.notice, result.option or 0, result.at))


async def acknowledged(turn: Turn) -> None:
    """The "acknowledged" label was pressed: say what is on record, change nothing."""
    notice_id = pressed(turn).int_arg(0)
    if notice_id is None:
        await stale(turn)
        return
    async with turn.db.transaction() as session:
        result = await notices.answer(session, notice_id, turn.member.id)
    if result.notice is None or result.option is None:
        await stale(turn)
        return
    answer = answer_label(turn, result.notice, result.option)
    await turn.notify("notices.ack_already", answer=answer)


async def my_notices(turn: Turn) -> None:
    """📬: the notices this member received, newest first."""
    async with turn.db.transaction() as session:
        items = await notices.received_by(session, turn.member.id)
    if not items:
        await turn.reply(View.of("notices.my_empty"))
        return
    rows = []
    for item in items:
        mark = ""
        if item.notice.asks_ack:
            mark = turn.plain("notices.my_acked" if item.acked_at else "notices.my_needs_ack") + " "
        label = turn.plain(
            "notices.my_line",
            when=local(turn, item.sent_at)[5:10],
            first=first_line(item.notice.body) or "📎",
        )
        rows.append([button(mark + label, "mine", item.notice.id)])
    await turn.reply(View([Text("notices.my_title")], rows))


async def show_mine(turn: Turn) -> None:
    """One of 📬: the notice again, with its buttons while unanswered."""
    notice_id = pressed(turn).int_arg(0)
    if notice_id is None:
        await stale(turn)
        return
    async with turn.db.transaction() as session:
        item = await notices.received_one(session, turn.member.id, notice_id)
    if item is None:
        await stale(turn)
        return
    view = item.notice
    text = Text.of("notices.my_notice", when=local(turn, item.sent_at), body=body_of(view))
    buttons: list[list[Button]] = []
    if view.asks_ack:
        if item.ack_option is not None:
            buttons = _acked_buttons(turn, view, item.ack_option, item.acked_at)
        else:
            buttons = member_buttons(view)
    await turn.reply(notice_copy(view, [text], buttons))


# -- staff: who is in which category ------------------------------------------------------------

# The lists staff work through by phone: the number comes with the name.
PHONE_CATEGORIES = (Category.silent, Category.unreachable, Category.failed)


async def recipients(turn: Turn) -> None:
    """A category on the statistics card: the names in it (the first LIST_LINES)."""
    data = pressed(turn)
    notice_id, category = data.int_arg(0), enum_arg(data, 1, Category)
    if notice_id is None or category is None:
        await stale(turn)
        return
    async with turn.db.transaction() as session:
        view = await notices.get(session, turn.member, notice_id)
        if isinstance(view, Problem):
            await explain(turn, view)
            return
        lines = await notices.recipients(session, notice_id, category)
    label = Text(f"notices.category_{category.value}")
    if not lines:
        await turn.reply(View.of("notices.list_none", id=notice_id, category=label))
        return
    out = [turn.t("notices.list_title", id=notice_id, category=turn.t(label.key), count=len(lines))]
    for line in lines[:LIST_LINES]:
        extra = f"（{escape(line.sector)}）" if line.sector else ""
        if category in PHONE_CATEGORIES and line.phone:
            extra += f" {escape(display_phone(line.phone))}"
        if line.ack_option is not None and view.asks_ack:
            extra += " · " + escape(answer_label(turn, view, line.ack_option))
        if category in (Category.failed, Category.unreachable) and line.error:
            extra += f" · {escape(line.error[:60])}"
        out.append(f"· {escape(line.name)}{extra}")
    if len(lines) > LIST_LINES:
        out.append(turn.t("notices.list_more", n=len(lines) - LIST_LINES))
    for text in split_html_lines(out):  # long names and errors can outgrow one message
        await turn.reply(View([Markup(text)]))
