"""Files members attach to a report: what a message carries, the checks before anything is
stored, downloading into DATA_DIR and attaching to the draft."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError

from bot.context import BotContext
from handlers.replies import say
from handlers.reports.cards import limits
from storage import reports
from storage.reports import Outcome

log = logging.getLogger(__name__)


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
    member_id = ctx.member.id
    lim = limits(ctx)
    mb = ctx.settings.report_max_attachment_mb
    types = ", ".join(ctx.settings.report_attachment_types)
    if not await file_accepted(update, ctx, media):
        return False
    async with ctx.db.transaction() as session:
        draft = await reports.ensure_draft(session, member_id)
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
            member_id,
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


async def file_accepted(update: Update, ctx: BotContext, media: dict[str, Any]) -> bool:
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
