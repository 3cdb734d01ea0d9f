"""The quick report: a free message outside any dialog (text, photo or voice) becomes a draft;
more messages right after it are added; with a draft already open, the member is asked first.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.context import BotContext
from handlers.callbacks import Callback
from handlers.replies import Markup, inline, say, send_text
from handlers.reports.cards import button, limits, refuse, title
from handlers.reports.drafts import FLOW, QUICK_FLOW, open_draft
from handlers.reports.files import file_accepted, media_of, store_file
from handlers.wiring import ButtonHandler, close_dialog, open_dialog
from storage import dialogs, reports
from storage.control_chars import without_control_chars
from storage.dialogs import Dialog
from storage.models import ReportSource
from storage.reports import FIELDS, SECTIONS, Outcome, ReportView

# Shorter free texts ("ok", "谢谢") are small talk, not a report.
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
    view = await open_draft(ctx)
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
            button(ctx, "reports.btn.add_to_draft", "add_to_draft"),
            button(ctx, "reports.btn.not_now", "not_now"),
        ]
    ]
    return inline(rows)


async def _offer_merge(update: Update, ctx: BotContext, view: ReportView, count: int) -> None:
    await say(
        update,
        ctx,
        "reports.quick_offer_merge",
        markup=_merge_buttons(ctx),
        title=title(ctx, view),
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
    assert update.effective_user is not None
    member_id = ctx.member.id
    if not texts:
        # Only files: one that is refused (type, size) must not leave an empty "(untitled)"
        # draft behind, so they are checked before a draft exists.
        files = [media for media in files if await file_accepted(update, ctx, media)]
        if not files:
            return
    created = False
    async with ctx.db.transaction() as session:
        if texts:
            result = await reports.merge_quick(session, member_id, "\n".join(texts), limits(ctx))
        else:
            created = await reports.open_draft(session, member_id) is None
            result = reports.Result(
                Outcome.ok,
                await reports.ensure_draft(session, member_id, ReportSource.quick),
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
    view = await open_draft(ctx) if files else result.report
    assert view is not None
    if created and not view.attachments:
        # The draft made for these files got none of them (download failed...; store_file
        # said why): an empty draft would only be in the way.
        async with ctx.db.transaction() as session:
            await reports.discard(session, member_id, view.id)
        await close_dialog(update, ctx)
        return
    sep = ctx.t("reports.list_sep")
    filled = [f for f in FIELDS if view.value(f)]
    lines = [ctx.t("reports.quick_saved", title=title(ctx, view))]
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
            button(ctx, "reports.btn.complete_now", "continue", view.id),
            button(ctx, "reports.btn.later", "later"),
        ],
        [button(ctx, "reports.btn.discard", "discard", view.id)],
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
        view = await open_draft(ctx)
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
        view = await open_draft(ctx)
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


# -- buttons ----------------------------------------------------------------------------------


async def later(update: Update, ctx: BotContext, cb: Callback) -> None:
    if ctx.dialog is not None and ctx.dialog.flow in (FLOW, QUICK_FLOW):
        await close_dialog(update, ctx)
    await say(update, ctx, "reports.later", markup=ctx.wiring.keyboard(ctx))


async def add_to_draft(update: Update, ctx: BotContext, cb: Callback) -> None:
    dialog = ctx.dialog
    if dialog is None or dialog.flow != QUICK_FLOW or dialog.step != "merge":
        await refuse(update, ctx)
        return
    pending = dict(dialog.data.get("pending") or {})
    await _into_draft(update, ctx, list(pending.get("texts", [])), list(pending.get("files", [])))


async def not_now(update: Update, ctx: BotContext, cb: Callback) -> None:
    dialog = ctx.dialog
    if dialog is None or dialog.flow != QUICK_FLOW:
        await refuse(update, ctx)
        return
    await close_dialog(update, ctx)
    await say(update, ctx, "reports.quick_not_added")


BUTTONS: dict[str, ButtonHandler] = {
    "later": later,
    "add_to_draft": add_to_draft,
    "not_now": not_now,
}
