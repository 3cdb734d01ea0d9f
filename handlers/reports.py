"""Opinion reports (社情民意信息), member side: guided and quick submission, drafts, my reports.

Every answer is written to the member's draft the moment it arrives (storage.reports); the
dialog only remembers which question is open. Buttons carry the report id (and, on a preview,
its revision); storage re-checks ownership and state on every tap.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler

from bot.context import BotContext
from bot.i18n import escape
from bot.telegram_text import (
    MAX_TEXT_LENGTH,
    split_html,
    truncate_html,
    truncate_utf16,
    visible_len,
)
from handlers import callbacks
from handlers.callbacks import Callback
from handlers.guards import member_only
from handlers.replies import Markup, edit_or_send, inline, say, send_text
from handlers.wiring import Wiring, close_dialog, open_dialog
from storage import dialogs, reports
from storage.control_chars import without_control_chars
from storage.dialogs import Dialog
from storage.models import ReportSource, ReportStatus
from storage.reports import FIELDS, SECTIONS, Limits, Outcome, ReportView

log = logging.getLogger(__name__)

FEATURE = "rep"
FLOW = "report"
QUICK_FLOW = "report_quick"
ATTACH_STEP = "attachments"
COAUTHOR_STEP = "coauthor"
PREVIEW_STEP = "preview"
PAGE_SIZE = 5
# Shorter free texts ("ok", "谢谢") are small talk, not a report.
QUICK_MIN_CHARS = 6
# Telegram's limit: visible text (tags take no room) in UTF-16 units (an emoji counts 2).
MESSAGE_LIMIT = MAX_TEXT_LENGTH
# A section shown while it is being edited, so the question around it still fits a message.
CURRENT_VALUE_LIMIT = 3000
# Free messages waiting for the "add to your draft?" answer live in the dialog state, which is
# rewritten on every message: 200 long messages once made it 1.6 MB and each reply took over a
# second. Past this many (or past what the draft's fields could hold at all, see
# _pending_fits) a message is refused with a request to answer first; what waits is kept.
PENDING_MAX_MESSAGES = 10


# -- shared helpers (also used by the staff side) ---------------------------------------------


@dataclass(frozen=True)
class Alert:
    """The answer to a button: a popup with this text (or just stopping the spinner)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


def alert(key: str, **params: Any) -> Alert:
    return Alert(key, params)


CallbackAction = Callable[[Update, BotContext, Callback], Awaitable[Alert | None]]


async def answer(update: Update, ctx: BotContext, result: Alert | None) -> None:
    query = update.callback_query
    if query is None:
        return
    if result is None:
        await query.answer()
    else:
        await query.answer(ctx.plain(result.key, **result.params), show_alert=True)


def limits(ctx: BotContext) -> Limits:
    s = ctx.settings
    return Limits(
        title=s.report_title_max_chars,
        section=s.report_section_max_chars,
        max_attachments=s.report_max_attachments,
        max_bytes=s.report_max_attachment_mb * 1024 * 1024,
        file_types=tuple(s.report_attachment_types),
    )


def category_label(ctx: BotContext, key: str | None) -> str:
    """A configured category: translated when the locale knows it, else shown as configured."""
    if not key:
        return ctx.t("reports.empty_value")
    locale_key = f"reports.category.{key}"
    return ctx.t(locale_key) if ctx.texts.has(locale_key) else key


def status_label(ctx: BotContext, status: ReportStatus) -> str:
    return ctx.t(f"reports.status.{status.value}")


def local_time(ctx: BotContext, moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(ctx.settings.tz).strftime("%Y-%m-%d %H:%M")


def _title(ctx: BotContext, view: ReportView) -> str:
    return view.title if view.title else ctx.t("reports.untitled")


def report_blocks(ctx: BotContext, view: ReportView, *, staff: bool = False) -> list[str]:
    """The whole report as HTML blocks: title, facts, the three sections, files."""
    none = ctx.t("reports.empty_value")
    sep = ctx.t("reports.list_sep")
    facts = []
    if view.receipt_no:
        facts.append(ctx.t("reports.meta.receipt", receipt=view.receipt_no))
    status = status_label(ctx, view.status) + (" ⭐" if view.excellent else "")
    facts.append(ctx.t("reports.meta.status", status=status))
    facts.append(ctx.t("reports.meta.category", category=category_label(ctx, view.category)))
    if staff:
        facts.append(
            ctx.t(
                "reports.meta.author",
                name=view.author_name,
                sector=view.author_sector or "-",
            )
        )
    if view.submitted_at is not None:
        facts.append(ctx.t("reports.meta.submitted", time=local_time(ctx, view.submitted_at)))
    if view.coauthors:
        names = sep.join(p.name for p in view.coauthors)
        facts.append(ctx.t("reports.meta.coauthors", names=names))
    blocks = [f"📝 <b>{escape(view.title) if view.title else none}</b>", "\n".join(facts)]
    for name in SECTIONS:
        value = view.value(name)
        label = ctx.t(f"reports.label.{name}")
        blocks.append(f"<b>{label}</b>\n{escape(value) if value else none}")
    if view.attachments:
        names = sep.join(a.file_name for a in view.attachments)
        blocks.append(ctx.t("reports.meta.attachments", count=len(view.attachments), names=names))
    return blocks


def history_blocks(ctx: BotContext, view: ReportView, *, staff: bool = False) -> list[str]:
    """Each status change with its time and what staff wrote; the latest feedback first."""
    blocks = []
    feedback = view.latest_feedback
    if feedback is not None and feedback.note:
        blocks.append(ctx.t("reports.feedback", note=feedback.note))
    lines = [ctx.t("reports.history_title")]
    for event in view.events:
        line = ctx.t(
            "reports.history_line",
            time=local_time(ctx, event.at),
            action=ctx.t(f"reports.history.{event.action}"),
        )
        if staff and event.actor_name:
            line += ctx.t("reports.history_by_staff", name=event.actor_name)
        if event.instructed_by:
            line += "\n" + ctx.t("reports.history_instructed_by", name=event.instructed_by)
        if event.note:
            line += "\n" + ctx.t("reports.history_note", note=event.note)
        lines.append(line)
    if view.events:
        blocks.append("\n".join(lines))
    return blocks


def pack(blocks: list[str], *, shorten: bool = False) -> list[str]:
    """Blocks joined into as few messages as fit under Telegram's length limit (visible text,
    UTF-16 units). A block longer than a message is cut into several, or with ``shorten``
    shortened with an ellipsis (a preview stays short and its buttons always arrive)."""
    messages: list[str] = []
    current, used = "", 0
    for block in blocks:
        if shorten:
            pieces = [truncate_html(block, MESSAGE_LIMIT)]
        else:
            pieces = split_html(block, MESSAGE_LIMIT)
        for piece in pieces:
            width = visible_len(piece)
            if current and used + 2 + width > MESSAGE_LIMIT:  # 2: the blank line between
                messages.append(current)
                current, used = "", 0
            current, used = (
                (f"{current}\n\n{piece}", used + 2 + width) if current else (piece, width)
            )
    if current:
        messages.append(current)
    return messages


async def send_blocks(
    update: Update,
    ctx: BotContext,
    blocks: list[str],
    *,
    markup: Markup = None,
    shorten: bool = False,
) -> Message | None:
    """Send blocks as one or more messages; the buttons go on the last one."""
    messages = pack(blocks, shorten=shorten)
    last: Message | None = None
    for index, text in enumerate(messages):
        is_last = index == len(messages) - 1
        last = await send_text(update, ctx, text, markup=markup if is_last else None)
    return last


def button(ctx: BotContext, key: str, action: str, *args: object, **params: Any) -> tuple[str, str]:
    # A label is plain text (Telegram does not parse HTML on buttons): names go in as typed.
    return ctx.plain(key, **params), callbacks.make(FEATURE, action, *args)


# -- asking ------------------------------------------------------------------------------------


async def _draft(ctx: BotContext) -> ReportView | None:
    assert ctx.viewer is not None
    async with ctx.db.read() as session:
        return await reports.open_draft(session, ctx.viewer.id)


async def ask(
    update: Update,
    ctx: BotContext,
    step: str,
    view: ReportView | None,
    *,
    edit: bool = False,
    repeat: str | None = None,
) -> None:
    """Open the dialog at step and ask its question (showing the current text when editing).

    repeat: the fingerprint of an answer the member may send again to have it stored."""
    data: dict[str, Any] = {"edit": edit}
    if repeat is not None:
        data["repeat"] = repeat
    await open_dialog(update, ctx, FLOW, step, data)
    lim = limits(ctx)
    if step == "category":
        names = ctx.settings.report_categories
        labels = [
            (category_label(ctx, name), callbacks.make(FEATURE, "cat", index))
            for index, name in enumerate(names)
        ]
        rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
        await say(update, ctx, "reports.ask.category", markup=inline(rows))
        return
    if step == ATTACH_STEP:
        rows = [[button(ctx, "reports.btn.done", "done")]]
        if view is not None and view.attachments:
            rows.append([button(ctx, "reports.btn.remove_attachments", "rmatt")])
        await say(
            update,
            ctx,
            "reports.ask.attachments",
            markup=inline(rows),
            count=len(view.attachments) if view else 0,
            max=lim.max_attachments,
            mb=ctx.settings.report_max_attachment_mb,
            types=", ".join(ctx.settings.report_attachment_types),
        )
        return
    text = ctx.t(f"reports.ask.{step}", limit=lim.for_field(step))
    current = view.value(step) if view is not None else None
    if edit and current:
        value = truncate_utf16(current, CURRENT_VALUE_LIMIT)
        text += "\n\n" + ctx.t("reports.current_value", value=value)
    await send_text(update, ctx, text)


def _next_step(view: ReportView, answered: str, edit: bool) -> str:
    """After an answer: back to the preview when editing, else the next empty field; the
    guided sequence offers attachments once the text is complete."""
    if edit:
        return PREVIEW_STEP
    if view.missing:
        return view.missing[0]
    if answered in FIELDS and not view.attachments:
        return ATTACH_STEP
    return PREVIEW_STEP


async def go(update: Update, ctx: BotContext, step: str, view: ReportView) -> None:
    if step == PREVIEW_STEP:
        await show_preview(update, ctx, view)
    else:
        await ask(update, ctx, step, view)


async def resume(update: Update, ctx: BotContext, view: ReportView) -> None:
    """Continue a draft where it stands: the first empty field, else its preview."""
    if view.missing:
        await ask(update, ctx, view.missing[0], view)
    else:
        await show_preview(update, ctx, view)


async def show_preview(update: Update, ctx: BotContext, view: ReportView) -> None:
    """The whole draft with confirm / edit / co-authors / discard (or "continue" if incomplete)."""
    await open_dialog(update, ctx, FLOW, PREVIEW_STEP, {"edit": False})
    blocks = [ctx.t("reports.preview_header"), *report_blocks(ctx, view)]
    rows: list[list[tuple[str, str]]] = []
    if view.missing:
        missing = ctx.t("reports.list_sep").join(ctx.t(f"reports.label.{f}") for f in view.missing)
        blocks.append(ctx.t("reports.preview_incomplete", fields=missing))
        rows.append([button(ctx, "reports.btn.continue", "cont", view.id)])
    else:
        blocks.append(ctx.t("reports.preview_footer"))
        rows.append([button(ctx, "reports.btn.confirm", "ok", view.id, view.revision)])
    rows.append(
        [
            button(ctx, "reports.btn.edit", "ed", view.id),
            button(ctx, "reports.btn.coauthors", "co", view.id),
        ]
    )
    rows.append([button(ctx, "reports.btn.discard", "dc", view.id)])
    # Long sections are shortened here (the full text is in My reports), so the preview is
    # at most a few messages and the one with the buttons always goes through.
    await send_blocks(update, ctx, blocks, markup=inline(rows), shorten=True)


async def offer_draft(update: Update, ctx: BotContext, view: ReportView) -> None:
    rows = [
        [
            button(ctx, "reports.btn.continue", "cont", view.id),
            button(ctx, "reports.btn.discard", "dc", view.id),
        ]
    ]
    key = "reports.revision_offer" if view.receipt_no else "reports.draft_offer"
    await say(
        update,
        ctx,
        key,
        markup=inline(rows),
        title=_title(ctx, view),
        time=local_time(ctx, view.created_at),
        receipt=view.receipt_no or "",
    )


# -- entry points ------------------------------------------------------------------------------


async def submit_menu(update: Update, ctx: BotContext) -> None:
    """Menu "submit": offer the open draft, or start a new guided report with its title."""
    view = await _draft(ctx)
    if view is not None:
        await offer_draft(update, ctx, view)
        return
    await say(update, ctx, "reports.intro")
    await ask(update, ctx, "title", None)


async def start_hook(update: Update, ctx: BotContext) -> None:
    """After /start: "continue your draft?" when the member has one."""
    if ctx.viewer is None:
        return
    view = await _draft(ctx)
    if view is not None:
        await offer_draft(update, ctx, view)


async def on_input(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """An answer in the guided dialog: saved to the draft at once, then the next question."""
    message = update.effective_message
    if ctx.viewer is None or message is None:
        await close_dialog(update, ctx)
        await say(update, ctx, "common.not_bound")
        return
    step = dialog.step
    edit = bool(dialog.data.get("edit"))
    media = media_of(message)
    if step == ATTACH_STEP:
        if media is None:
            view = await _draft(ctx)
            await say(update, ctx, "reports.need_file")
            await ask(update, ctx, ATTACH_STEP, view, edit=edit)
            return
        await _attach(update, ctx, media, then_step=ATTACH_STEP, edit=edit)
        return
    if media is not None:
        # A photo or file in the middle of the questions is kept, then the question again (or
        # the preview, when there is no question open).
        then = step if step in FIELDS else PREVIEW_STEP
        await _attach(update, ctx, media, then_step=then, edit=edit)
        return
    text = message.text
    if step == COAUTHOR_STEP:
        await _find_coauthors(update, ctx, text or "")
        return
    if step == PREVIEW_STEP:
        view = await _draft(ctx)
        await say(update, ctx, "reports.use_preview_buttons")
        if view is not None:
            await show_preview(update, ctx, view)
        return
    if step == "category":
        await _typed_category(update, ctx, text or "", edit)
        return
    if step not in reports.TEXT_FIELDS:
        await close_dialog(update, ctx)
        return
    # The same text as another field, sent again: after a crash between moving on and asking
    # the next question, that is the last answer resent. It is stored only when sent twice.
    fingerprint = _fingerprint(text)
    async with ctx.db.transaction() as session:
        result = await reports.save_text(
            session,
            ctx.viewer.id,
            step,
            text,
            limits(ctx),
            allow_repeat=edit or dialog.data.get("repeat") == fingerprint,
        )
    if result.outcome is Outcome.repeated and result.field is not None:
        label = ctx.t(f"reports.label.{result.field}")
        await say(update, ctx, "reports.repeated", field=label, step=ctx.t(f"reports.label.{step}"))
        await ask(update, ctx, step, None, repeat=fingerprint)
        return
    if not result.ok or result.report is None:
        await _refuse_text(update, ctx, result)
        return
    await go(update, ctx, _next_step(result.report, step, edit), result.report)


def _fingerprint(text: str | None) -> str:
    """Names an answer in the dialog's state without keeping its words there twice."""
    return hashlib.sha256((text or "").strip().encode()).hexdigest()[:16]


async def _refuse_text(update: Update, ctx: BotContext, result: reports.Result) -> None:
    if result.outcome is Outcome.too_long:
        await say(update, ctx, "common.text_too_long", length=result.length, limit=result.limit)
    elif result.outcome is Outcome.empty:
        await say(update, ctx, "common.text_empty")
    else:
        await say(update, ctx, "reports.need_text")


async def _typed_category(update: Update, ctx: BotContext, text: str, edit: bool) -> None:
    """A category typed instead of tapped is accepted when it names one exactly."""
    assert ctx.viewer is not None
    typed = text.strip().lower()
    names = ctx.settings.report_categories
    chosen = next((n for n in names if typed in (n.lower(), category_label(ctx, n).lower())), None)
    if chosen is None:
        view = await _draft(ctx)
        await say(update, ctx, "reports.pick_category")
        await ask(update, ctx, "category", view, edit=edit)
        return
    async with ctx.db.transaction() as session:
        result = await reports.save_category(session, ctx.viewer.id, chosen, names)
    assert result.report is not None
    await go(update, ctx, _next_step(result.report, "category", edit), result.report)


# -- files -------------------------------------------------------------------------------------


def media_of(message: Message) -> dict[str, Any] | None:
    """The file a message carries, as plain data (kept in dialog state until stored)."""
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return {
            "kind": "photo",
            "file_id": photo.file_id,
            "name": f"photo_{photo.file_unique_id}.jpg",
            "mime": "image/jpeg",
            "size": photo.file_size or 0,
        }
    if message.voice:
        voice = message.voice
        return {
            "kind": "voice",
            "file_id": voice.file_id,
            "name": f"voice_{voice.file_unique_id}.ogg",
            "mime": voice.mime_type or "audio/ogg",
            "size": voice.file_size or 0,
        }
    if message.document:
        doc = message.document
        return {
            "kind": "document",
            "file_id": doc.file_id,
            "name": doc.file_name or f"file_{doc.file_unique_id}",
            "mime": doc.mime_type,
            "size": doc.file_size or 0,
        }
    other = (message.video, message.audio, message.video_note, message.sticker, message.animation)
    if any(item is not None for item in other):
        return {"kind": "unsupported", "file_id": "", "name": "", "mime": None, "size": 0}
    return None


async def store_file(update: Update, ctx: BotContext, media: dict[str, Any]) -> bool:
    """Download a file into DATA_DIR and attach it to the member's draft; say why not if not."""
    assert ctx.viewer is not None
    lim = limits(ctx)
    mb = ctx.settings.report_max_attachment_mb
    types = ", ".join(ctx.settings.report_attachment_types)
    if not await _file_accepted(update, ctx, media):
        return False
    async with ctx.db.transaction() as session:
        draft = await reports.ensure_draft(session, ctx.viewer.id)
    if len(draft.attachments) >= lim.max_attachments:
        await say(update, ctx, "reports.too_many_files", max=lim.max_attachments)
        return False
    try:
        tg_file = await ctx.bot.get_file(media["file_id"])
        data = bytes(await tg_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("report attachment download failed: %s", exc)
        await say(update, ctx, "reports.download_failed")
        return False
    relative = reports.attachment_path(draft.id, media["name"])
    await asyncio.to_thread(reports.write_file, ctx.settings.data_dir, relative, data)
    async with ctx.db.transaction() as session:
        result = await reports.add_attachment(
            session,
            ctx.viewer.id,
            draft.id,
            kind=media["kind"],
            file_name=media["name"],
            mime_type=media["mime"],
            size=len(data),
            path=relative,
            telegram_file_id=media["file_id"],
            limits=lim,
        )
    if result.ok:
        return True
    await asyncio.to_thread(reports.remove_files, ctx.settings.data_dir, [relative])
    if result.outcome is Outcome.file_too_big:
        await say(update, ctx, "reports.file_too_big", size=_mb(len(data)), mb=mb)
    elif result.outcome is Outcome.too_many_files:
        await say(update, ctx, "reports.too_many_files", max=lim.max_attachments)
    elif result.outcome is Outcome.bad_file_type:
        await say(update, ctx, "reports.bad_file_type", types=types)
    else:
        await say(update, ctx, "common.stale_button")
    return False


async def _file_accepted(update: Update, ctx: BotContext, media: dict[str, Any]) -> bool:
    """The checks a file passes before anything is stored (its type, its announced size); the
    member is told why when it does not."""
    lim = limits(ctx)
    if media["kind"] == "unsupported" or not lim.allows_type(media["kind"], media["name"]):
        types = ", ".join(ctx.settings.report_attachment_types)
        await say(update, ctx, "reports.bad_file_type", types=types)
        return False
    if media["size"] > lim.max_bytes:
        mb = ctx.settings.report_max_attachment_mb
        await say(update, ctx, "reports.file_too_big", size=_mb(media["size"]), mb=mb)
        return False
    return True


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


async def _attach(
    update: Update, ctx: BotContext, media: dict[str, Any], *, then_step: str, edit: bool
) -> None:
    stored = await store_file(update, ctx, media)
    view = await _draft(ctx)
    if stored and view is not None:
        await say(
            update,
            ctx,
            "reports.attachment_saved",
            count=len(view.attachments),
            max=ctx.settings.report_max_attachments,
        )
    if then_step == ATTACH_STEP:
        await ask(update, ctx, ATTACH_STEP, view, edit=edit)
    elif then_step in FIELDS:
        await ask(update, ctx, then_step, view, edit=edit)
    elif view is not None:
        await show_preview(update, ctx, view)
    else:
        await ask(update, ctx, "title", None)


# -- quick submission --------------------------------------------------------------------------


def looks_like_prose(text: str) -> bool:
    """Enough words to be a report: not small talk ("ok", "谢谢") and not a bare code or number
    (which another feature, e.g. a check-in code, may be waiting for)."""
    stripped = text.strip()
    letters = sum(1 for ch in stripped if ch.isalpha())
    return len(stripped) >= QUICK_MIN_CHARS and letters >= QUICK_MIN_CHARS // 2


async def quick_message(update: Update, ctx: BotContext) -> bool:
    """A free message outside any dialog: turned into a report draft (text, photo or voice)."""
    message = update.effective_message
    if ctx.viewer is None or message is None:
        return False
    text = message.text or message.caption or ""
    media = media_of(message)
    if media is not None and media["kind"] == "unsupported":
        return False
    if media is None and (message.text is None or not looks_like_prose(text)):
        return False
    view = await _draft(ctx)
    if view is not None:
        # Never mix a free message into an existing draft without asking; the message waits
        # in the dialog state (in the database) until the member decides.
        kept = without_control_chars(text)  # as the draft would keep it (JSON refuses \x00)
        pending = {"texts": [kept] if kept.strip() else [], "files": [media] if media else []}
        await open_dialog(update, ctx, QUICK_FLOW, "merge", {"pending": pending})
        await _offer_merge(update, ctx, view, 1)
        return True
    await _into_draft(update, ctx, [text] if text.strip() else [], [media] if media else [])
    return True


def _merge_buttons(ctx: BotContext) -> Markup:
    rows = [
        [
            button(ctx, "reports.btn.add_to_draft", "qadd"),
            button(ctx, "reports.btn.not_now", "qno"),
        ]
    ]
    return inline(rows)


async def _offer_merge(update: Update, ctx: BotContext, view: ReportView, count: int) -> None:
    await say(
        update,
        ctx,
        "reports.quick_offer_merge",
        markup=_merge_buttons(ctx),
        title=_title(ctx, view),
        count=count,
    )


def _pending_fits(ctx: BotContext, pending: dict[str, Any]) -> bool:
    """Whether the messages waiting for the merge answer stay within bounds: at most
    PENDING_MAX_MESSAGES, and no more text (in UTF-16 units, as Telegram counts) than a draft's
    title and three sections can hold; more could never be added to the draft anyway."""
    texts: list[str] = pending.get("texts", [])
    files: list[Any] = pending.get("files", [])
    if len(texts) + len(files) > PENDING_MAX_MESSAGES:
        return False
    lim = limits(ctx)
    room = lim.title + len(SECTIONS) * lim.section
    return sum(len(t.encode("utf-16-le")) // 2 for t in texts) <= room


async def _into_draft(
    update: Update, ctx: BotContext, texts: list[str], files: list[dict[str, Any]]
) -> None:
    """Fill the draft from free messages, store their files, and say what is still missing."""
    assert ctx.viewer is not None and update.effective_user is not None
    if not texts:
        # Only files: one that is refused (type, size) must not leave an empty "(untitled)"
        # draft behind, so they are checked before a draft exists.
        files = [media for media in files if await _file_accepted(update, ctx, media)]
        if not files:
            return
    created = False
    async with ctx.db.transaction() as session:
        if texts:
            result = await reports.merge_quick(
                session, ctx.viewer.id, "\n".join(texts), limits(ctx)
            )
        else:
            created = await reports.open_draft(session, ctx.viewer.id) is None
            result = reports.Result(
                Outcome.ok,
                await reports.ensure_draft(session, ctx.viewer.id, ReportSource.quick),
            )
        if result.ok and result.report is not None:
            # The dialog moves in the same transaction as the draft it points at.
            ctx.dialog = await dialogs.set(
                session,
                update.effective_user.id,
                QUICK_FLOW,
                "created",
                {"report_id": result.report.id},
                now=ctx.now(),
            )
    if not result.ok:
        await say(
            update,
            ctx,
            "reports.quick_too_long",
            field=ctx.t(f"reports.label.{result.field}"),
            length=result.length,
            limit=result.limit,
        )
        return
    for media in files:
        await store_file(update, ctx, media)
    view = await _draft(ctx) if files else result.report
    assert view is not None
    if created and not view.attachments:
        # The draft made for these files got none of them (download failed...; store_file
        # said why): an empty draft would only be in the way.
        async with ctx.db.transaction() as session:
            await reports.discard(session, ctx.viewer.id, view.id)
        await close_dialog(update, ctx)
        return
    sep = ctx.t("reports.list_sep")
    filled = [f for f in FIELDS if view.value(f)]
    lines = [ctx.t("reports.quick_saved", title=_title(ctx, view))]
    if filled:
        lines.append(
            ctx.t(
                "reports.quick_filled", fields=sep.join(ctx.t(f"reports.label.{f}") for f in filled)
            )
        )
    if view.attachments:
        lines.append(ctx.t("reports.quick_files", count=len(view.attachments)))
    if view.missing:
        missing = sep.join(ctx.t(f"reports.label.{f}") for f in view.missing)
        lines.append(ctx.t("reports.quick_missing", fields=missing))
    else:
        lines.append(ctx.t("reports.quick_complete"))
    rows = [
        [
            button(ctx, "reports.btn.complete_now", "cont", view.id),
            button(ctx, "reports.btn.later", "later"),
        ],
        [button(ctx, "reports.btn.discard", "dc", view.id)],
    ]
    await send_text(update, ctx, "\n".join(lines), markup=inline(rows))


async def on_quick(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """More free messages right after a quick draft: added to it (or to what waits to be)."""
    message = update.effective_message
    if ctx.viewer is None or message is None:
        await close_dialog(update, ctx)
        return
    text = message.text or message.caption or ""
    media = media_of(message)
    if media is None and not looks_like_prose(text):
        view = await _draft(ctx)
        if dialog.step == "merge" and view is not None:
            pending = dict(dialog.data.get("pending") or {})
            count = len(pending.get("texts", [])) + len(pending.get("files", []))
            await _offer_merge(update, ctx, view, count)
        else:
            await say(update, ctx, "reports.quick_use_buttons")
        return
    if dialog.step == "merge":
        pending = dict(dialog.data.get("pending") or {"texts": [], "files": []})
        waiting = len(pending.get("texts", [])) + len(pending.get("files", []))
        text = without_control_chars(text)  # kept in the state as the draft would keep it
        if text.strip():
            pending["texts"] = [*pending.get("texts", []), text]
        if media is not None:
            pending["files"] = [*pending.get("files", []), media]
        view = await _draft(ctx)
        if view is not None and not _pending_fits(ctx, pending):
            # The state is not rewritten: what already waits stays exactly as it was.
            await say(
                update, ctx, "reports.quick_pending_full", markup=_merge_buttons(ctx), count=waiting
            )
            return
        await open_dialog(update, ctx, QUICK_FLOW, "merge", {"pending": pending})
        if view is None:
            await _into_draft(update, ctx, pending.get("texts", []), pending.get("files", []))
            return
        count = len(pending.get("texts", [])) + len(pending.get("files", []))
        await _offer_merge(update, ctx, view, count)
        return
    await _into_draft(update, ctx, [text] if text.strip() else [], [media] if media else [])


# -- buttons -----------------------------------------------------------------------------------


async def _checked_draft(ctx: BotContext, cb: Callback) -> tuple[ReportView | None, Alert | None]:
    """The draft a button points at, if it still is this member's open draft."""
    assert ctx.viewer is not None
    report_id = cb.int_arg(0)
    if report_id is None:
        return None, alert("common.stale_button")
    async with ctx.db.transaction() as session:
        result = await reports.editable_draft(session, ctx.viewer.id, report_id)
    if result.outcome is Outcome.not_editable:
        return None, alert("reports.not_editable")
    if not result.ok or result.report is None:
        return None, alert("common.stale_button")
    return result.report, None


async def _cb_continue(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    view, refusal = await _checked_draft(ctx, cb)
    if view is None:
        return refusal
    await resume(update, ctx, view)
    return None


async def _cb_discard(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    view, refusal = await _checked_draft(ctx, cb)
    if view is None:
        return refusal
    rows = [
        [
            button(ctx, "reports.btn.discard_yes", "dcy", view.id),
            button(ctx, "reports.btn.discard_no", "dcn", view.id),
        ]
    ]
    key = "reports.revision_stop_confirm" if view.receipt_no else "reports.discard_confirm"
    await say(update, ctx, key, markup=inline(rows), title=_title(ctx, view))
    return None


async def _cb_discard_yes(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    assert ctx.viewer is not None
    report_id = cb.int_arg(0)
    if report_id is None:
        return alert("common.stale_button")
    async with ctx.db.transaction() as session:
        result, paths = await reports.discard(session, ctx.viewer.id, report_id)
    if not result.ok:
        return alert("common.stale_button")
    await asyncio.to_thread(reports.remove_files, ctx.settings.data_dir, paths)
    if ctx.dialog is not None and ctx.dialog.flow in (FLOW, QUICK_FLOW):
        await close_dialog(update, ctx)
    key = "reports.revision_stopped" if result.report is not None else "reports.discarded"
    await say(update, ctx, key, markup=ctx.wiring.keyboard(ctx))
    return None


async def _cb_discard_no(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    view, refusal = await _checked_draft(ctx, cb)
    if view is None:
        return refusal
    await say(update, ctx, "reports.kept")
    await resume(update, ctx, view)
    return None


async def _cb_category(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    assert ctx.viewer is not None
    index = cb.arg(0)
    names = ctx.settings.report_categories
    dialog = ctx.dialog
    if (
        dialog is None
        or dialog.flow != FLOW
        or dialog.step != "category"
        or index is None
        or not index.isdigit()
        or int(index) >= len(names)
    ):
        return alert("common.stale_button")
    async with ctx.db.transaction() as session:
        result = await reports.save_category(session, ctx.viewer.id, names[int(index)], names)
    if not result.ok or result.report is None:
        return alert("common.stale_button")
    await edit_or_send(
        update,
        ctx,
        ctx.t("reports.category_chosen", category=category_label(ctx, names[int(index)])),
    )
    edit = bool(dialog.data.get("edit"))
    await go(update, ctx, _next_step(result.report, "category", edit), result.report)
    return None


async def _cb_done(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    view = await _draft(ctx)
    if view is None or ctx.dialog is None or ctx.dialog.flow != FLOW:
        return alert("common.stale_button")
    await show_preview(update, ctx, view)
    return None


async def _cb_remove_attachments(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        result, paths = await reports.clear_attachments(session, ctx.viewer.id)
    if not result.ok or result.report is None:
        return alert("common.stale_button")
    await asyncio.to_thread(reports.remove_files, ctx.settings.data_dir, paths)
    await say(update, ctx, "reports.attachments_removed")
    await ask(update, ctx, ATTACH_STEP, result.report, edit=True)
    return None


async def _cb_confirm(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    """Submit: one report however often the button is pressed; an old preview is refused."""
    assert ctx.viewer is not None
    report_id, revision = cb.int_arg(0), cb.arg(1)
    if report_id is None or revision is None or not revision.isdigit():
        return alert("common.stale_button")
    async with ctx.db.transaction() as session:
        result = await reports.submit(
            session,
            ctx.viewer.id,
            report_id,
            revision=int(revision),
            now=ctx.now(),
            tz=ctx.settings.tz,
        )
    view = result.report
    if result.outcome is Outcome.already_submitted and view is not None:
        return alert("reports.already_submitted", receipt=view.receipt_no or "")
    if result.outcome is Outcome.stale and view is not None:
        await say(update, ctx, "reports.preview_stale")
        await show_preview(update, ctx, view)
        return alert("reports.preview_stale")
    if result.outcome is Outcome.incomplete and view is not None:
        await resume(update, ctx, view)
        return None
    if result.outcome is Outcome.not_editable:
        return alert("reports.not_editable")
    if not result.ok or view is None:
        return alert("common.stale_button")
    if ctx.dialog is not None and ctx.dialog.flow == FLOW:
        await close_dialog(update, ctx)
    await _drop_buttons(update)
    resubmitted = view.events and view.events[-1].action == "resubmitted"
    key = "reports.resubmitted" if resubmitted else "reports.submitted"
    await say(update, ctx, key, receipt=view.receipt_no or "", markup=ctx.wiring.keyboard(ctx))
    return None


async def _drop_buttons(update: Update) -> None:
    """Take the buttons off the preview that was just confirmed (cosmetic; may fail)."""
    query = update.callback_query
    if query is None:
        return
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(None)


async def _cb_edit_menu(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    view, refusal = await _checked_draft(ctx, cb)
    if view is None:
        if refusal is not None and refusal.key == "reports.not_editable":
            await say(update, ctx, "reports.not_editable")
        return refusal
    names = [*FIELDS, ATTACH_STEP]
    sections = [button(ctx, f"reports.label.{n}", "es", view.id, n) for n in names]
    rows = [sections[i : i + 2] for i in range(0, len(sections), 2)]
    rows.append([button(ctx, "reports.btn.back_preview", "pv", view.id)])
    await say(update, ctx, "reports.edit_choose", markup=inline(rows))
    return None


async def _cb_edit_section(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    view, refusal = await _checked_draft(ctx, cb)
    if view is None:
        if refusal is not None and refusal.key == "reports.not_editable":
            await say(update, ctx, "reports.not_editable")
        return refusal
    section = cb.arg(1)
    if section not in (*FIELDS, ATTACH_STEP):
        return alert("common.stale_button")
    await ask(update, ctx, section, view, edit=True)
    return None


async def _cb_preview(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    view, refusal = await _checked_draft(ctx, cb)
    if view is None:
        return refusal
    await show_preview(update, ctx, view)
    return None


# -- co-authors ----------------------------------------------------------------------------------


async def _cb_coauthors(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    view, refusal = await _checked_draft(ctx, cb)
    if view is None:
        return refusal
    await _show_coauthors(update, ctx, view)
    return None


async def _show_coauthors(update: Update, ctx: BotContext, view: ReportView) -> None:
    await open_dialog(update, ctx, FLOW, COAUTHOR_STEP, {"edit": True})
    names = ctx.t("reports.list_sep").join(p.name for p in view.coauthors)
    rows = [
        [button(ctx, "reports.btn.remove_coauthor", "cr", view.id, p.id, name=p.name)]
        for p in view.coauthors
    ]
    rows.append([button(ctx, "reports.btn.back_preview", "pv", view.id)])
    await say(
        update,
        ctx,
        "reports.coauthors",
        markup=inline(rows),
        names=names or ctx.t("reports.coauthors_none"),
    )


async def _find_coauthors(update: Update, ctx: BotContext, query: str) -> None:
    assert ctx.viewer is not None
    view = await _draft(ctx)
    if view is None:
        await close_dialog(update, ctx)
        await say(update, ctx, "common.stale_button")
        return
    if not query.strip():
        await say(update, ctx, "common.text_empty")
        return
    async with ctx.db.read() as session:
        found = await reports.find_members(session, query[:50], exclude=ctx.viewer.id)
    if not found:
        await say(update, ctx, "reports.coauthor_not_found", query=query[:50])
        return
    rows = [
        [
            (
                f"{p.name}（{p.sector}）" if p.sector else p.name,
                callbacks.make(FEATURE, "ca", view.id, p.id),
            )
        ]
        for p in found
    ]
    rows.append([button(ctx, "reports.btn.back_preview", "pv", view.id)])
    await say(update, ctx, "reports.coauthor_matches", markup=inline(rows))


async def _cb_add_coauthor(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    assert ctx.viewer is not None
    report_id, member_id = cb.int_arg(0), cb.int_arg(1)
    if report_id is None or member_id is None:
        return alert("common.stale_button")
    async with ctx.db.transaction() as session:
        result = await reports.add_coauthor(session, ctx.viewer.id, report_id, member_id)
    refusals = {
        Outcome.self_coauthor: alert("reports.coauthor_self"),
        Outcome.already_coauthor: alert("reports.coauthor_already"),
        Outcome.too_many_coauthors: alert("reports.coauthor_too_many", max=reports.MAX_COAUTHORS),
    }
    if result.outcome in refusals:
        return refusals[result.outcome]
    if not result.ok or result.report is None:
        return alert("common.stale_button")
    await _show_coauthors(update, ctx, result.report)
    return None


async def _cb_remove_coauthor(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    assert ctx.viewer is not None
    report_id, member_id = cb.int_arg(0), cb.int_arg(1)
    if report_id is None or member_id is None:
        return alert("common.stale_button")
    async with ctx.db.transaction() as session:
        result = await reports.remove_coauthor(session, ctx.viewer.id, report_id, member_id)
    if not result.ok or result.report is None:
        return alert("common.stale_button")
    await _show_coauthors(update, ctx, result.report)
    return None


# -- quick-draft buttons -----------------------------------------------------------------------


async def _cb_later(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    if ctx.dialog is not None and ctx.dialog.flow in (FLOW, QUICK_FLOW):
        await close_dialog(update, ctx)
    await say(update, ctx, "reports.later", markup=ctx.wiring.keyboard(ctx))
    return None


async def _cb_quick_add(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    dialog = ctx.dialog
    if dialog is None or dialog.flow != QUICK_FLOW or dialog.step != "merge":
        return alert("common.stale_button")
    pending = dict(dialog.data.get("pending") or {})
    await _into_draft(update, ctx, list(pending.get("texts", [])), list(pending.get("files", [])))
    return None


async def _cb_quick_no(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    dialog = ctx.dialog
    if dialog is None or dialog.flow != QUICK_FLOW:
        return alert("common.stale_button")
    await close_dialog(update, ctx)
    await say(update, ctx, "reports.quick_not_added")
    return None


# -- my reports --------------------------------------------------------------------------------


async def my_reports(update: Update, ctx: BotContext) -> None:
    """Menu "my reports": the first page."""
    await show_list(update, ctx, 0)


async def show_list(update: Update, ctx: BotContext, page: int) -> None:
    assert ctx.viewer is not None
    async with ctx.db.read() as session:
        listing = await reports.list_mine(session, ctx.viewer.id, page, PAGE_SIZE)
        draft = await reports.open_draft(session, ctx.viewer.id)
    rows: list[list[tuple[str, str]]] = []
    if draft is not None:
        rows.append(
            [button(ctx, "reports.btn.continue_draft", "cont", draft.id, title=_short(draft.title))]
        )
    if listing.total == 0:
        await edit_or_send(
            update, ctx, ctx.t("reports.mine_empty"), markup=inline(rows) if rows else None
        )
        return
    lines = [ctx.t("reports.mine_title", total=listing.total)]
    for item in listing.items:
        status = status_label(ctx, item.status) + (" ⭐" if item.excellent else "")
        mark = ctx.t("reports.coauthored_mark") if item.coauthored else ""
        lines.append(
            ctx.t(
                "reports.mine_line",
                receipt=item.receipt_no or "-",
                status=status,
                title=item.title or "",
                date=local_time(ctx, item.submitted_at)[:10],
                mark=mark,
            )
        )
        rows.append(
            [
                (
                    f"{item.receipt_no or '-'} · {_short(item.title)}",
                    callbacks.make(FEATURE, "op", item.id),
                )
            ]
        )
    if listing.pages > 1:
        lines.append(ctx.t("common.page", page=listing.page + 1, pages=listing.pages))
        nav = []
        if listing.page > 0:
            nav.append(button(ctx, "common.prev_page", "ls", listing.page - 1))
        if listing.page < listing.pages - 1:
            nav.append(button(ctx, "common.next_page", "ls", listing.page + 1))
        rows.append(nav)
    await edit_or_send(update, ctx, "\n".join(lines), markup=inline(rows))


def _short(text: str | None, limit: int = 18) -> str:
    value = (text or "").strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


async def _cb_list(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    page = cb.arg(0)
    await show_list(update, ctx, int(page) if page and page.isdigit() else 0)
    return None


async def _cb_open(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    """One of my reports, whole, with its history and feedback; only the author's (or a
    co-author's) — a forged id gets the stale-button answer and shows nothing."""
    assert ctx.viewer is not None
    report_id = cb.int_arg(0)
    if report_id is None:
        return alert("common.stale_button")
    async with ctx.db.read() as session:
        view = await reports.get_visible(session, ctx.viewer.id, report_id)
    if view is None:
        return alert("common.stale_button")
    if view.is_draft:
        await resume(update, ctx, view)
        return None
    rows = []
    if view.status is ReportStatus.returned and view.member_id == ctx.viewer.id:
        rows.append([button(ctx, "reports.btn.revise", "rev", view.id)])
    rows.append([button(ctx, "reports.btn.back_list", "ls", 0)])
    await send_blocks(
        update, ctx, [*report_blocks(ctx, view), *history_blocks(ctx, view)], markup=inline(rows)
    )
    return None


async def _cb_revise(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    """A returned report: reopen it as the draft, keeping its receipt number."""
    assert ctx.viewer is not None
    report_id = cb.int_arg(0)
    if report_id is None:
        return alert("common.stale_button")
    async with ctx.db.transaction() as session:
        result = await reports.revise(session, ctx.viewer.id, report_id)
    if result.outcome is Outcome.has_draft and result.report is not None:
        await say(update, ctx, "reports.has_draft", title=_title(ctx, result.report))
        await offer_draft(update, ctx, result.report)
        return None
    if result.outcome is Outcome.not_editable:
        return alert("reports.not_editable")
    if not result.ok or result.report is None:
        return alert("common.stale_button")
    await show_preview(update, ctx, result.report)
    return None


ACTIONS: dict[str, CallbackAction] = {
    "cont": _cb_continue,
    "dc": _cb_discard,
    "dcy": _cb_discard_yes,
    "dcn": _cb_discard_no,
    "cat": _cb_category,
    "done": _cb_done,
    "rmatt": _cb_remove_attachments,
    "ok": _cb_confirm,
    "ed": _cb_edit_menu,
    "es": _cb_edit_section,
    "pv": _cb_preview,
    "co": _cb_coauthors,
    "ca": _cb_add_coauthor,
    "cr": _cb_remove_coauthor,
    "later": _cb_later,
    "qadd": _cb_quick_add,
    "qno": _cb_quick_no,
    "ls": _cb_list,
    "op": _cb_open,
    "rev": _cb_revise,
}


@member_only
async def on_callback(update: Update, ctx: BotContext) -> None:
    """Every button of this feature: parsed, dispatched, answered once."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.parse(query.data)
    action = ACTIONS.get(cb.action) if cb is not None else None
    if cb is None or action is None:
        await answer(update, ctx, alert("common.stale_button"))
        return
    await answer(update, ctx, await action(update, ctx, cb))


def register(app: Application, wiring: Wiring) -> None:  # type: ignore[type-arg]
    app.add_handler(CallbackQueryHandler(on_callback, pattern=callbacks.pattern(FEATURE)))
    wiring.add_menu("reports.menu_submit", submit_menu, order=10)
    wiring.add_menu("reports.menu_mine", my_reports, order=20)
    wiring.add_flow(FLOW, on_input)
    wiring.add_flow(QUICK_FLOW, on_quick)
    wiring.add_free_message(quick_message)
    wiring.add_start_hook(start_hook)
