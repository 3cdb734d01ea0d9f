"""The quick report: a free message outside any dialog (text, photo or voice) becomes a draft;
more messages right after it are added; with a draft already open, the member is asked first.

Written against the channel seam (handlers/channel): it runs unchanged on every channel.
"""

from __future__ import annotations

from typing import Any

from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, Join, Text, View
from handlers.reports.cards import FEATURE
from handlers.reports.drafts import FLOW, QUICK_FLOW
from handlers.reports.files import acknowledge, counted, file_accepted, limits_of, store_file
from handlers.reports.small_talk import small_talk
from handlers.wiring import TurnButtonHandler
from storage import dialogs, reports
from storage.control_chars import without_control_chars
from storage.dialogs import Dialog
from storage.models import ReportSource
from storage.reports import FIELDS, SECTIONS, Outcome, ReportView

# Shorter free texts are no report either (small talk is answered before: small_talk.py).
QUICK_MIN_CHARS = 6
# Free messages waiting for the "add to your draft?" answer live in the dialog state, which is
# rewritten on every message: 200 long messages once made it 1.6 MB and each reply took over a
# second. Past this many (or past what the draft's fields could hold at all, see
# _pending_fits) a message is refused with a request to answer first; what waits is kept.
PENDING_MAX_MESSAGES = 10


def looks_like_prose(text: str) -> bool:
    """Enough words to be a report: not small talk ("ok", "谢谢") and not a bare code or number
    (which another feature, e.g. a check-in code, may be waiting for)."""
    stripped = text.strip()
    letters = sum(1 for ch in stripped if ch.isalpha())
    return len(stripped) >= QUICK_MIN_CHARS and letters >= QUICK_MIN_CHARS // 2


async def quick_message(turn: Turn) -> bool:
    """A free message outside any dialog: turned into a report draft (text, photo or voice)."""
    if turn.viewer is None or (turn.text is None and turn.media is None):
        return False
    text = turn.text or ""
    media = turn.media
    if media is not None and media["kind"] == "unsupported":
        return False
    if await _answered_small_talk(turn):
        return True
    if media is not None and small_talk(text, turn.texts):
        text = ""  # "谢谢" under a photo: the photo is the message
    if media is None and not looks_like_prose(text):
        return False
    view = await _open_draft(turn)
    if view is not None:
        # Never mix a free message into an existing draft without asking; the message waits
        # in the dialog state (in the database) until the member decides.
        kept = without_control_chars(text)  # as the draft would keep it (JSON refuses \x00)
        pending = {"texts": [kept] if kept.strip() else [], "files": [media] if media else []}
        await _offer_merge(turn, view, {"pending": pending})
        return True
    await _into_draft(turn, [text] if text.strip() else [], [media] if media else [])
    return True


async def _answered_small_talk(turn: Turn) -> bool:
    """ "谢谢", "好的", "👍" on their own: a friendly line (and the menu), never a draft."""
    kind = small_talk(turn.text, turn.texts) if turn.media is None else None
    if kind is None:
        return False
    await turn.reply(View([Text(f"reports.small_talk_{kind}")], menu=True))
    return True


def _button(key: str, action: str, *args: object) -> Button:
    return Button(Text(key), Action.of(FEATURE, action, *args))


MERGE_BUTTONS = [
    [
        _button("reports.btn.add_to_draft", "add_to_draft"),
        _button("reports.btn.not_now", "not_now"),
    ]
]


def _title(view: ReportView) -> str | Text:
    return view.title if view.title else Text("reports.untitled")


def _labels(fields: list[str]) -> Join:
    return Join(Text("reports.list_sep"), [Text(f"reports.label.{f}") for f in fields])


async def _open_draft(turn: Turn) -> ReportView | None:
    async with turn.runtime.db.read() as session:
        return await reports.open_draft(session, turn.member.id)


async def _offer_merge(turn: Turn, view: ReportView, data: dict[str, Any]) -> None:
    """Keep what waits (data["pending"]) in the dialog, then ask whether to add it to the
    draft: one question for a burst of messages (an album), counting them as they come."""
    await turn.open_dialog(QUICK_FLOW, "merge", data)  # first: it waits whatever the reply does
    pending = data.get("pending") or {}
    count = len(pending.get("texts", [])) + len(pending.get("files", []))
    line = counted("reports.quick_offer_merge", count, title=_title(view))
    await _acknowledged(turn, View([line], MERGE_BUTTONS), "merge", data)


async def _acknowledged(turn: Turn, view: View, step: str, data: dict[str, Any]) -> None:
    """view as the running acknowledgement (files.acknowledge), its place kept in the dialog."""
    await acknowledge(turn, view, data)
    await turn.open_dialog(QUICK_FLOW, step, data)


def _pending_fits(turn: Turn, pending: dict[str, Any]) -> bool:
    """Whether the messages waiting for the merge answer stay within bounds: at most
    PENDING_MAX_MESSAGES, and no more text (in UTF-16 units, as Telegram counts) than a draft's
    title and three sections can hold; more could never be added to the draft anyway."""
    texts: list[str] = pending.get("texts", [])
    files: list[Any] = pending.get("files", [])
    if len(texts) + len(files) > PENDING_MAX_MESSAGES:
        return False
    lim = limits_of(turn.runtime.settings)
    room = lim.title + len(SECTIONS) * lim.section
    return sum(len(t.encode("utf-16-le")) // 2 for t in texts) <= room


async def _into_draft(turn: Turn, texts: list[str], files: list[dict[str, Any]]) -> None:
    """Fill the draft from free messages, store their files, and say what is still missing."""
    member_id = turn.member.id
    if not texts:
        # Only files: one that is refused (type, size) must not leave an empty "(untitled)"
        # draft behind, so they are checked before a draft exists.
        files = [media for media in files if await file_accepted(turn, media)]
        if not files:
            return
    created = False
    lim = limits_of(turn.runtime.settings)
    # A burst of messages (an album, a long text Telegram cut in parts) shares one summary;
    # the answer to a button is a message of its own.
    dialog = turn.dialog
    burst = dialog is not None and dialog.flow == QUICK_FLOW and turn.action is None
    ack = dialog.data.get("ack") if dialog is not None and burst else None
    async with turn.runtime.db.transaction() as session:
        if texts:
            result = await reports.merge_quick(session, member_id, "\n".join(texts), lim)
        else:
            created = await reports.open_draft(session, member_id) is None
            result = reports.Result(
                Outcome.ok,
                await reports.ensure_draft(session, member_id, ReportSource.quick),
            )
        if result.ok and result.report is not None:
            # The dialog moves in the same transaction as the draft it points at.
            turn.dialog = await dialogs.set(
                session,
                turn.account.key,
                QUICK_FLOW,
                "created",
                {"report_id": result.report.id, "ack": ack},
                now=turn.now(),
            )
    if not result.ok:
        field = Text(f"reports.label.{result.field}")
        await turn.reply(
            View.of("reports.quick_too_long", field=field, length=result.length, limit=result.limit)
        )
        return
    for media in files:
        await store_file(turn, media)
    view = await _open_draft(turn) if files else result.report
    assert view is not None
    if created and not view.attachments:
        # The draft made for these files got none of them (download failed...; store_file
        # said why): an empty draft would only be in the way.
        async with turn.runtime.db.transaction() as session:
            await reports.discard(session, member_id, view.id)
        await turn.close_dialog()
        return
    filled = [f for f in FIELDS if view.value(f)]
    lines = [Text.of("reports.quick_saved", title=_title(view))]
    if filled:
        lines.append(Text.of("reports.quick_filled", fields=_labels(filled)))
    if view.attachments:
        lines.append(Text.of("reports.quick_files", count=len(view.attachments)))
    if view.missing:
        lines.append(Text.of("reports.quick_missing", fields=_labels(list(view.missing))))
    else:
        lines.append(Text("reports.quick_complete"))
    buttons = [
        [
            _button("reports.btn.complete_now", "continue", view.id),
            _button("reports.btn.later", "later"),
        ],
        [_button("reports.btn.discard", "discard", view.id)],
    ]
    data = dict(turn.dialog.data) if turn.dialog is not None else {"report_id": view.id}
    await _acknowledged(turn, View(lines, buttons), "created", data)


async def on_quick(turn: Turn, dialog: Dialog) -> None:
    """More free messages right after a quick draft: added to it (or to what waits to be)."""
    if turn.viewer is None:
        await turn.close_dialog()
        return
    text = turn.text or ""
    media = turn.media
    if await _answered_small_talk(turn):
        return  # not added to the draft; the buttons above still stand
    if media is not None and small_talk(text, turn.texts):
        text = ""
    if media is None and not looks_like_prose(text):
        view = await _open_draft(turn)
        if dialog.step == "merge" and view is not None:
            await _offer_merge(turn, view, {"pending": dialog.data.get("pending") or {}})
        else:
            await turn.reply(View.of("reports.quick_use_buttons"))
        return
    if dialog.step == "merge":
        pending = dict(dialog.data.get("pending") or {"texts": [], "files": []})
        waiting = len(pending.get("texts", [])) + len(pending.get("files", []))
        text = without_control_chars(text)  # kept in the state as the draft would keep it
        if text.strip():
            pending["texts"] = [*pending.get("texts", []), text]
        if media is not None:
            pending["files"] = [*pending.get("files", []), media]
        view = await _open_draft(turn)
        if view is not None and not _pending_fits(turn, pending):
            # The state is not rewritten: what already waits stays exactly as it was.
            full = counted("reports.quick_pending_full", waiting)
            await turn.reply(View([full], MERGE_BUTTONS))
            return
        if view is None:
            await turn.open_dialog(QUICK_FLOW, "merge", {"pending": pending})
            await _into_draft(turn, pending.get("texts", []), pending.get("files", []))
            return
        await _offer_merge(turn, view, {"pending": pending, "ack": dialog.data.get("ack")})
        return
    await _into_draft(turn, [text] if text.strip() else [], [media] if media else [])


# -- buttons ----------------------------------------------------------------------------------


async def later(turn: Turn) -> None:
    if turn.dialog is not None and turn.dialog.flow in (FLOW, QUICK_FLOW):
        await turn.close_dialog()
    await turn.reply(View([Text("reports.later")], menu=True))


async def add_to_draft(turn: Turn) -> None:
    dialog = turn.dialog
    if dialog is None or dialog.flow != QUICK_FLOW or dialog.step != "merge":
        await turn.notify("common.stale_button", alert=True)
        return
    pending = dict(dialog.data.get("pending") or {})
    await _into_draft(turn, list(pending.get("texts", [])), list(pending.get("files", [])))


async def not_now(turn: Turn) -> None:
    dialog = turn.dialog
    if dialog is None or dialog.flow != QUICK_FLOW:
        await turn.notify("common.stale_button", alert=True)
        return
    await turn.close_dialog()
    await turn.reply(View.of("reports.quick_not_added"))


BUTTONS: dict[str, TurnButtonHandler] = {
    "later": later,
    "add_to_draft": add_to_draft,
    "not_now": not_now,
}
