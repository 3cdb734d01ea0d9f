"""Files members attach to a report: the checks before anything is stored, fetching the file
from the member's channel into DATA_DIR and attaching it to the draft, and the one running
message that acknowledges a burst of them. On the channel seam: what a message carries
(`turn.media`) and how to fetch it (`turn.download`) is the channel's.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from bot.settings import Settings
from handlers.channel.turn import DownloadFailed, Posted, Turn
from handlers.channel.views import Text, View
from storage import reports
from storage.identities import Address
from storage.reports import Limits, Outcome

log = logging.getLogger(__name__)

# Six photos sent as one album arrive as six messages within a second or two: one message
# acknowledges them all, edited as each arrives. A file sent later than this after the last
# one gets a new message below it (an edit far above the latest photo would go unseen).
ACK_BURST = timedelta(seconds=10)


def limits_of(settings: Settings) -> Limits:
    return Limits(
        title=settings.report_title_max_chars,
        section=settings.report_section_max_chars,
        max_attachments=settings.report_max_attachments,
        max_bytes=settings.report_max_attachment_mb * 1024 * 1024,
        file_types=tuple(settings.report_attachment_types),
    )


async def store_file(turn: Turn, media: dict[str, Any]) -> bool:
    """Fetch a file into DATA_DIR and attach it to the member's draft; say why not if not."""
    settings = turn.runtime.settings
    member_id = turn.member.id
    lim = limits_of(settings)
    if not await file_accepted(turn, media):
        return False
    async with turn.runtime.db.transaction() as session:
        draft = await reports.ensure_draft(session, member_id)
    if len(draft.attachments) >= lim.max_attachments:
        await turn.reply(View.of("reports.too_many_files", max=lim.max_attachments))
        return False
    try:
        data = await turn.download(media)
    except DownloadFailed as exc:
        log.warning("report attachment download failed: %s", exc)
        await turn.reply(View.of("reports.download_failed"))
        return False
    relative = reports.attachment_path(draft.id, media["name"])
    await asyncio.to_thread(reports.write_file, settings.data_dir, relative, data)
    async with turn.runtime.db.transaction() as session:
        result = await reports.add_attachment(
            session,
            member_id,
            draft.id,
            kind=media["kind"],
            file_name=media["name"],
            mime_type=media["mime"],
            size=len(data),
            path=relative,
            file_ref=media["file_id"] or None,
            limits=lim,
        )
    if result.ok:
        return True
    await asyncio.to_thread(reports.remove_files, settings.data_dir, [relative])
    if result.outcome is Outcome.file_too_big:
        mb = settings.report_max_attachment_mb
        await turn.reply(View.of("reports.file_too_big", size=_mb(len(data)), mb=mb))
    elif result.outcome is Outcome.too_many_files:
        await turn.reply(View.of("reports.too_many_files", max=lim.max_attachments))
    elif result.outcome is Outcome.bad_file_type:
        types = ", ".join(settings.report_attachment_types)
        await turn.reply(View.of("reports.bad_file_type", types=types))
    else:
        await turn.reply(View.of("common.stale_button"))
    return False


async def file_accepted(turn: Turn, media: dict[str, Any]) -> bool:
    """The checks a file passes before anything is stored (its type, its announced size); the
    member is told why when it does not."""
    settings = turn.runtime.settings
    lim = limits_of(settings)
    if media["kind"] == "unsupported" or not lim.allows_type(media["kind"], media["name"]):
        types = ", ".join(settings.report_attachment_types)
        await turn.reply(View.of("reports.bad_file_type", types=types))
        return False
    if media["size"] > lim.max_bytes:
        mb = settings.report_max_attachment_mb
        await turn.reply(View.of("reports.file_too_big", size=_mb(media["size"]), mb=mb))
        return False
    return True


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def counted(key: str, count: int, /, **params: Any) -> Text:
    """The text for a number of things: key.one for exactly one, key.other with {count} for
    any other number (English says "1 file", "2 files"; each language writes both its way)."""
    if count == 1:
        return Text(f"{key}.one", params)
    return Text(f"{key}.other", {**params, "count": count})


async def acknowledge(turn: Turn, view: View, data: dict[str, Any]) -> None:
    """Show view in place of the previous acknowledgement when that went out moments ago
    (ACK_BURST), else as a new message. data is the dialog's: it keeps where that message is,
    so the caller writes it back with the dialog. Channels that cannot edit a message (their
    reply says no place) get a new message each time."""
    now = turn.now()
    previous = data.get("ack")
    if isinstance(previous, dict) and _recent(previous, now):
        at = Address(str(previous["channel"]), str(previous["address"]))
        await turn.edit_posted(Posted(at, str(previous["id"])), view)
        data["ack"] = {**previous, "time": now.isoformat()}
        return
    posted = await turn.reply(view)
    if posted is None:
        data.pop("ack", None)
        return
    data["ack"] = {
        "channel": posted.at.channel,
        "address": posted.at.address,
        "id": posted.message_id,
        "time": now.isoformat(),
    }


def _recent(ack: dict[str, Any], now: datetime) -> bool:
    try:
        return now - datetime.fromisoformat(str(ack["time"])) <= ACK_BURST
    except (KeyError, TypeError, ValueError):
        return False
