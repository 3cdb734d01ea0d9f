"""An activity's status as staff change it: publish (with or without invitations), postpone to
a new start time, cancel with a reason sent to those signed up, or discard a draft."""

from __future__ import annotations

from handlers.activities import messages
from handlers.activities.common import (
    counted,
    example_date,
    problem,
    refuse,
    staff_activity,
    typed,
)
from handlers.activities.staff_list import show_card, show_home
from handlers.channel.turn import Turn
from handlers.channel.views import View
from storage import activities as acts
from storage.activities import Problem, importer
from storage.dialogs import Dialog
from storage.models import ActivityStatus

POSTPONE_FLOW = "acs_postpone"
CANCEL_FLOW = "acs_cancel"


async def publish(turn: Turn) -> None:
    """Button on a complete draft: publish, inviting the audience (1) or quietly (0)."""
    a = await staff_activity(turn)
    if a is None:
        return
    notify_members = turn.arg(1) == "1"
    async with turn.db.transaction() as session:
        result = await acts.publish(
            session,
            a.id,
            actor=turn.member.actor,
            now=turn.now(),
            notify_members=notify_members,
        )
        notified = await messages.tell(session, result.news, turn.settings.tz)
    if not result.ok:
        await problem(turn, result)
        return
    if notified:
        turn.runtime.outbox_signal()
    if notify_members:
        told = counted("activities.published_notified", notified, notified=notified)
        await turn.reply(View([told]))
    else:
        await turn.reply(View.of("activities.published_quiet"))
    await show_card(turn, a.id, new=True)


async def postpone(turn: Turn) -> None:
    """Button: ask for the new start time."""
    a = await staff_activity(turn)
    if a is None:
        return
    if not a.is_open:
        await refuse(turn, "common.stale_button")
        return
    await turn.open_dialog(POSTPONE_FLOW, "start", {"id": a.id})
    await turn.reply(View.of("activities.ask_postpone", title=a.title))


async def cancel(turn: Turn) -> None:
    """Button: discard a draft at once; for a published activity, ask the reason."""
    a = await staff_activity(turn)
    if a is None:
        return
    if a.status is ActivityStatus.cancelled:
        await refuse(turn, "common.stale_button")
        return
    if a.status is ActivityStatus.draft:
        await _discard(turn, a.id)
        return
    await turn.open_dialog(CANCEL_FLOW, "reason", {"id": a.id})
    await turn.reply(View.of("activities.ask_cancel_reason", title=a.title or "—"))


async def _discard(turn: Turn, activity_id: int) -> None:
    """A draft nobody has seen is dropped without asking for a reason."""
    async with turn.db.transaction() as session:
        result = await acts.cancel_activity(
            session,
            activity_id,
            reason="",
            actor=turn.member.actor,
            now=turn.now(),
        )
    if not result.ok:
        await problem(turn, result)
        return
    await turn.reply(View.of("activities.draft_discarded"))
    await show_home(turn, 1)


async def postpone_input(turn: Turn, dialog: Dialog) -> None:
    """The postpone dialog: the new start time."""
    if turn.viewer is None or not turn.viewer.is_staff:
        await turn.close_dialog()
        await turn.reply(View.of("common.staff_only"))
        return
    activity_id = int(dialog.data.get("id", 0))
    text = (typed(turn) or "").strip()
    moment = importer.parse_when(text, tz=turn.settings.tz, now=turn.now())
    if moment is None:
        await turn.reply(View.of("activities.bad_date", example=example_date(turn)))
        return
    async with turn.db.transaction() as session:
        result = await acts.postpone(
            session,
            activity_id,
            moment,
            actor=turn.viewer.actor,
            now=turn.now(),
            tz=turn.settings.tz,
        )
        notified = await messages.tell(session, result.news, turn.settings.tz)
    if not result.ok:
        await problem(turn, result)
        if result.problem in (Problem.not_found, Problem.not_editable):
            await turn.close_dialog()
        return
    await turn.close_dialog()
    turn.runtime.outbox_signal()
    await turn.reply(View([counted("activities.postponed", notified, notified=notified)]))
    await show_card(turn, activity_id, new=True)


async def cancel_input(turn: Turn, dialog: Dialog) -> None:
    """The cancel dialog: the reason, sent to everyone signed up."""
    if turn.viewer is None or not turn.viewer.is_staff:
        await turn.close_dialog()
        await turn.reply(View.of("common.staff_only"))
        return
    activity_id = int(dialog.data.get("id", 0))
    text = (typed(turn) or "").strip()
    if not text:
        await turn.reply(View.of("activities.need_text"))
        return
    if len(text) > acts.REASON_MAX:
        await turn.reply(View.of("common.text_too_long", length=len(text), limit=acts.REASON_MAX))
        return
    async with turn.db.transaction() as session:
        result = await acts.cancel_activity(
            session,
            activity_id,
            reason=text,
            actor=turn.viewer.actor,
            now=turn.now(),
        )
        notified = await messages.tell(session, result.news, turn.settings.tz)
    await turn.close_dialog()
    if not result.ok:
        await problem(turn, result)
        return
    turn.runtime.outbox_signal()
    await turn.reply(View([counted("activities.cancelled_activity", notified, notified=notified)]))
    await show_card(turn, activity_id, new=True)
