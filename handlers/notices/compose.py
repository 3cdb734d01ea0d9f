"""The staff compose dialog: 📢 / /notice opens a draft (or offers the unsent one), the text
step, and the dialog's router that hands each typed answer to its step.

The steps after the text: recipients (audience.py), then acknowledgement, preview and sending
(sending.py).
"""

from __future__ import annotations

from typing import Any

from bot.i18n import Markup
from bot.telegram_text import utf16_len
from handlers.channel.turn import Turn
from handlers.channel.views import Text, View
from handlers.notices import audience, sending
from handlers.notices.common import FLOW, button, explain, formatted, pressed, stale
from storage import notices
from storage.dialogs import Dialog
from storage.models import AudienceKind, NoticeStatus
from storage.notices import Problem


async def compose(turn: Turn) -> None:
    """📢 / /notice: start a notice, or offer the unsent draft."""
    async with turn.db.transaction() as session:
        view = await notices.open_draft(session, turn.member)
    if isinstance(view, Problem):
        await explain(turn, view)
        return
    if view.body or view.attachment:
        kind = (view.attachment or {}).get("type")
        body = view.body or ""
        if kind:
            label = turn.t(f"notices.attachment_{'photo' if kind == 'photo' else 'document'}")
            body = f"{body}\n{turn.t('notices.draft_attachment', kind=label)}".strip()
        # The body is the staff member's own formatting (Telegram HTML), shown as it is.
        buttons = [
            [button(Text("notices.resume_button"), "resume", view.id)],
            [button(Text("notices.new_button"), "start_over")],
        ]
        await turn.reply(View([Text.of("notices.draft_found", body=Markup(body))], buttons))
        return
    await turn.open_dialog(FLOW, "text", {"id": view.id})
    await turn.reply(View.of("notices.ask_text"))


async def resume(turn: Turn) -> None:
    """Continue the unsent draft: on to choosing recipients."""
    notice_id = pressed(turn).int_arg(0)
    if notice_id is None:
        await stale(turn)
        return
    async with turn.db.transaction() as session:
        draft = await notices.get(session, turn.member, notice_id)
    if (
        isinstance(draft, Problem)
        or draft.status is not NoticeStatus.draft
        or draft.author_id != turn.member.id
    ):
        await explain(turn, Problem.not_draft)
        return
    await turn.open_dialog(FLOW, "audience", {"id": notice_id})
    await audience.ask_audience(turn, notice_id)


async def start_over(turn: Turn) -> None:
    """Drop the unsent draft's content and ask for the text again."""
    async with turn.db.transaction() as session:
        view = await notices.start_over(session, turn.member)
    if isinstance(view, Problem):
        await explain(turn, view)
        return
    await turn.open_dialog(FLOW, "text", {"id": view.id})
    await turn.reply(View.of("notices.ask_text"))


async def flow(turn: Turn, dialog: Dialog) -> None:
    """Messages during composing: the text, typed names, a list file, options, a time."""
    if turn.viewer is None or not turn.viewer.is_staff:
        await turn.close_dialog()
        await turn.reply(View.of("common.staff_only"))
        return
    notice_id = int(dialog.data.get("id", 0))
    step = dialog.step
    if step == "text":
        await take_text(turn, notice_id)
    elif step == "names":
        kind = AudienceKind(dialog.data["kind"])
        await audience.take_names(turn, notice_id, kind)
    elif step == "file":
        await audience.take_list(turn, notice_id)
    elif step == "options":
        await sending.take_options(turn, notice_id)
    elif step == "time":
        await sending.take_time(turn, notice_id)
    else:
        await turn.reply(View.of("common.not_understood"))


async def take_text(turn: Turn, notice_id: int) -> None:
    """The notice itself: formatted text, or a photo or file with its caption."""
    media = turn.media
    attachment: dict[str, Any] | None = None
    if media is not None and media["kind"] == "photo":
        attachment = {"type": "photo", "file_id": media["file_id"]}
    elif media is not None and media["kind"] == "document":
        attachment = {"type": "document", "file_id": media["file_id"], "filename": media["name"]}
    if attachment is not None:
        # Telegram limits the visible text in UTF-16 units (an emoji counts 2).
        html, visible = formatted(turn), utf16_len(turn.text or "")
    elif media is None and turn.text is not None:
        html, visible = formatted(turn), utf16_len(turn.text.strip())
    else:
        await turn.reply(View.of("notices.need_content"))
        return
    async with turn.db.transaction() as session:
        view = await notices.set_body(
            session,
            turn.member,
            notice_id,
            html=html,
            visible_length=visible,
            attachment=attachment,
        )
    if isinstance(view, Problem):
        await explain(turn, view, length=visible)
        return
    await turn.open_dialog(FLOW, "audience", {"id": notice_id})
    await audience.ask_audience(turn, notice_id)
