"""The last steps of composing and what follows: the acknowledgement question (received,
options, none), the preview with the recipient count, send now or at a typed time, discard;
then cancelling a notice being sent or scheduled, and resending the failed messages."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import Markup
from handlers.channel.turn import Posted, Turn
from handlers.channel.views import Button, Text, View
from handlers.notices import messages, progress
from handlers.notices.common import (
    FLOW,
    body_of,
    button,
    cb,
    enum_arg,
    explain,
    local,
    member_buttons,
    notice_copy,
    pressed,
    pressed_draft,
    stale,
    typed,
)
from storage import notices
from storage.models import AckMode, NoticeStatus
from storage.notices import NoticeView, Problem
from storage.typed_time import parse_when

# -- acknowledgement and preview --------------------------------------------------------------


async def ask_ack(turn: Turn, notice_id: int) -> None:
    await turn.open_dialog(FLOW, "ack", {"id": notice_id})
    rows = [
        [button(Text(f"notices.ack_{mode.value}"), "ack_mode", notice_id, mode.value)]
        for mode in AckMode
    ]
    await turn.reply(View([Text("notices.ask_ack")], rows))


async def choose_ack(turn: Turn) -> None:
    """How members answer: "received", options (typed next), or no acknowledgement."""
    data = pressed(turn)
    notice_id, mode = data.int_arg(0), enum_arg(data, 1, AckMode)
    if notice_id is None or mode is None:
        await stale(turn)
        return
    if mode is AckMode.options:
        async with turn.db.transaction() as session:
            draft = await notices.get(session, turn.member, notice_id)
        if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
            await explain(turn, Problem.not_draft)
            return
        await turn.open_dialog(FLOW, "options", {"id": notice_id})
        await turn.reply(View.of("notices.ask_options", max=notices.MAX_OPTION_CHARS))
        return
    async with turn.db.transaction() as session:
        view = await notices.set_ack(session, turn.member, notice_id, mode)
    if isinstance(view, Problem):
        await explain(turn, view)
        return
    await _preview(turn, view)


async def take_options(turn: Turn, notice_id: int) -> None:
    lines = (typed(turn) or "").splitlines()
    async with turn.db.transaction() as session:
        view = await notices.set_ack(session, turn.member, notice_id, AckMode.options, lines)
    if isinstance(view, Problem):
        await explain(turn, view)
        return
    await _preview(turn, view)


async def _preview(turn: Turn, view: NoticeView) -> None:
    await turn.close_dialog()
    async with turn.db.transaction() as session:
        count = await notices.count_audience(session, view.id)
    await turn.reply(View.of("notices.preview_header"))
    copy = Text.of(messages.template(view), body=body_of(view))
    buttons = member_buttons(view, lambda n, o: cb("preview", n))
    await turn.reply(notice_copy(view, [copy], buttons))
    if view.ack_mode is AckMode.options:
        ack = Text.of("notices.ack_desc_options", options=" / ".join(view.ack_options))
    else:
        ack = Text(f"notices.ack_desc_{view.ack_mode.value}")
    not_bound = Text.of("notices.not_bound_part", count=count.not_bound) if count.not_bound else ""
    rows = [
        [
            button(Text("notices.send_now_button"), "send_now", view.id),
            button(Text("notices.schedule_button"), "schedule", view.id),
        ],
        [button(Text("notices.change_audience_button"), "change_audience", view.id)],
        [button(Text("notices.discard_button"), "discard", view.id)],
    ]
    summary = Text.of(
        "notices.preview_summary", count=count.recipients, not_bound=not_bound, ack=ack
    )
    await turn.reply(View([summary], rows))


async def preview_only(turn: Turn) -> None:
    """An acknowledgement button on the preview: it does nothing, and says so."""
    await turn.notify("notices.preview_only")


# -- send now, later, or discard ----------------------------------------------------------------


async def send_now(turn: Turn) -> None:
    """🚀: every recipient's message goes into the outbox; a progress message follows it."""
    notice_id = pressed(turn).int_arg(0)
    if notice_id is None:
        await stale(turn)
        return
    async with turn.db.transaction(bulk=True) as session:
        view = await notices.queue(
            session, turn.member, notice_id, now=turn.now(), message=messages.message
        )
    if isinstance(view, Problem):
        await explain(turn, view)
        return
    await turn.close_dialog()
    turn.runtime.outbox_signal()
    text = progress.render_starting(turn.texts, turn.locale, view)
    posted = await turn.reply(View([Markup(text)], _cancel_buttons(view.id)))
    await _keep_progress_message(turn, view.id, posted)


async def _keep_progress_message(turn: Turn, notice_id: int, posted: Posted | None) -> None:
    """Where the progress message is, so the progress service can keep it current."""
    if posted is not None:
        async with turn.db.transaction() as session:
            await notices.set_progress_message(session, notice_id, posted.at, posted.message_id)


def _cancel_buttons(notice_id: int) -> list[list[Button]]:
    return [[button(Text("notices.cancel_button"), "cancel", notice_id)]]


def _example_time(turn: Turn) -> str:
    local_now = turn.now().astimezone(turn.settings.tz)
    tomorrow = (local_now + timedelta(days=1)).replace(hour=9, minute=0)
    return tomorrow.strftime("%Y-%m-%d %H:%M")


async def ask_time(turn: Turn) -> None:
    """🕘: ask when to send."""
    draft = await pressed_draft(turn)
    if draft is None:
        return
    await turn.open_dialog(FLOW, "time", {"id": draft.id})
    example = _example_time(turn)
    await turn.reply(View.of("notices.ask_time", tz=turn.settings.timezone, example=example))


async def take_time(turn: Turn, notice_id: int) -> None:
    # Read as staff type times everywhere (明天上午9点, 周五 14:00, 12月5日 9:00 ...).
    at = parse_when(typed(turn) or "", tz=turn.settings.tz, now=turn.now())
    if at is None:
        await turn.reply(View.of("notices.bad_time", example=_example_time(turn)))
        return
    async with turn.db.transaction(bulk=True) as session:
        view = await notices.queue(
            session, turn.member, notice_id, now=turn.now(), message=messages.message, at=at
        )
    if isinstance(view, Problem):
        await explain(turn, view)
        return
    await turn.close_dialog()
    turn.runtime.outbox_signal()
    scheduled = Text.of(
        "notices.scheduled", id=view.id, at=local(turn, at), count=view.recipient_count
    )
    posted = await turn.reply(View([scheduled], _cancel_buttons(view.id)))
    await _keep_progress_message(turn, view.id, posted)


async def discard(turn: Turn) -> None:
    """🗑: the draft is deleted."""
    notice_id = pressed(turn).int_arg(0)
    if notice_id is None:
        await stale(turn)
        return
    async with turn.db.transaction() as session:
        problem = await notices.discard_draft(session, turn.member, notice_id)
    if problem is not None:
        await explain(turn, problem)
        return
    await turn.close_dialog()
    await turn.reply(View.of("notices.discarded"))


# -- after sending: cancel, resend the failed -------------------------------------------------


async def cancel(turn: Turn) -> None:
    """Stop a notice being sent or scheduled: what has not gone out yet never will."""
    notice_id = pressed(turn).int_arg(0)
    if notice_id is None:
        await stale(turn)
        return
    async with turn.db.transaction() as session:
        result = await notices.cancel(session, turn.member, notice_id, now=turn.now())
    if isinstance(result, Problem):
        await explain(turn, result)
        return
    view, stopped = result
    turn.runtime.outbox_signal()  # the worker drops rows it already holds for this notice
    at, message_id = view.progress_at, view.progress_message_id
    if at is not None and message_id:
        # The progress message says so, and loses its cancel button.
        done = View.of("notices.progress_cancelled", id=view.id, stopped=stopped)
        await turn.edit_posted(Posted(at, message_id), done)
    await turn.reply(View.of("notices.cancelled", id=view.id, n=stopped))


async def resend_failed(turn: Turn) -> None:
    """🔁 on the statistics card: the failed messages are queued again."""
    notice_id = pressed(turn).int_arg(0)
    if notice_id is None:
        await stale(turn)
        return
    async with turn.db.transaction() as session:
        result = await notices.resend_failed(session, turn.member, notice_id, now=turn.now())
    if isinstance(result, Problem):
        await explain(turn, result)
        return
    turn.runtime.outbox_signal()
    await turn.reply(View.of("notices.resent_failed", id=notice_id, n=result))
