"""Live progress of notices for their senders, and the final summary.

Every few seconds (settings.notice_progress_seconds) it reads how far each notice being sent
has got, edits the sender's progress message when something changed (never more often than
that), and when nothing is left to send marks the notice done and queues the summary. A
scheduled notice turns into a sending one here once its time has come (the outbox rows were
already waiting for that time). Everything is read from the database, so a restart or a
second bot process changes nothing: `finish` is guarded so only one summary goes out.

A Service beside the handlers: bot/app.py, the composition root, creates and starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ExtBot

from bot.channels import TELEGRAM, chat_of
from bot.i18n import Texts
from bot.runtime import Runtime
from handlers.notices import messages
from handlers.notices.common import cb
from storage import notices, outbox
from storage.models import DeliveryStatus
from storage.notices import NoticeView, Progress

log = logging.getLogger(__name__)

BAR_WIDTH = 10


def bar(fraction: float) -> str:
    filled = max(0, min(BAR_WIDTH, round(fraction * BAR_WIDTH)))
    return "▓" * filled + "░" * (BAR_WIDTH - filled)


def render_starting(texts: Texts, locale: str | None, view: NoticeView) -> str:
    """The progress message as it is first sent, before anything went out."""
    return texts.get(
        locale,
        "notices.progress",
        id=view.id,
        bar=bar(0),
        percent=0,
        sent=0,
        failed=0,
        unreachable=0,
        waiting=view.recipient_count,
        total=view.recipient_count,
        rate=texts.get(locale, "notices.unknown_rate"),
        eta=texts.get(locale, "notices.unknown_rate"),
    )


def render(
    texts: Texts,
    locale: str | None,
    progress: Progress,
    rate: float | None,
    *,
    unreachable_since: str | None = None,
) -> str:
    counts = progress.counts
    total = sum(counts.values()) or progress.notice.recipient_count
    done = progress.done
    values = {
        "id": progress.notice.id,
        "sent": counts.get(DeliveryStatus.sent, 0),
        "failed": counts.get(DeliveryStatus.failed, 0),
        "unreachable": counts.get(DeliveryStatus.unreachable, 0),
        "total": total,
    }
    if progress.waiting == 0:
        return texts.get(locale, "notices.progress_done", bar=bar(1), **values)
    unknown = texts.get(locale, "notices.unknown_rate")
    if rate:
        seconds = progress.waiting / rate
        eta = (
            texts.get(locale, "notices.eta_seconds", n=max(1, round(seconds)))
            if seconds < 120
            else texts.get(locale, "notices.eta_minutes", n=round(seconds / 60))
        )
    text = texts.get(
        locale,
        "notices.progress",
        bar=bar(done / total if total else 0),
        percent=int(100 * done / total) if total else 0,
        waiting=progress.waiting,
        rate=f"{rate:.1f}" if rate else unknown,
        eta=eta if rate else unknown,
        **values,
    )
    if unreachable_since is not None:
        # Staff seeing the count stand still should know why, and that nothing needs doing.
        text += texts.get(locale, "notices.progress_unreachable", since=unreachable_since)
    return text


@dataclass
class _Seen:
    text: str = ""
    done: int = 0
    at: float = 0.0
    rate: float | None = None


class NoticeProgress:
    """The Service that keeps senders' progress messages current."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.interval = runtime.settings.notice_progress_seconds
        # The application's bot: its defaults (HTML, no link previews) apply to the edits.
        self.bot: ExtBot[Any] | None = None
        self._seen: dict[int, _Seen] = {}
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, app: Application[Any, Any, Any, Any, Any, Any] | None = None) -> None:
        if app is not None:
            self.bot = app.bot
        self._task = asyncio.create_task(self._run(), name="notice-progress")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("notice progress update failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    async def tick(self) -> None:
        runtime = self.runtime
        async with runtime.db.transaction() as session:
            items = await notices.in_progress(session, now=runtime.clock())
        finished = False
        for progress in items:
            if progress.waiting == 0 and progress.counts:
                async with runtime.db.transaction() as session:
                    done = await notices.finish(session, progress.notice.id, now=runtime.clock())
                    if done is not None and done.summary is not None:
                        await outbox.post(session, done.summary, messages.summary(done.summary))
                finished = finished or done is not None
            await self._show(progress)
        live = {p.notice.id for p in items}
        self._seen = {k: v for k, v in self._seen.items() if k in live}
        if finished:
            runtime.outbox_signal()

    async def _show(self, progress: Progress) -> None:
        view = progress.notice
        at, message_id = view.progress_at, view.progress_message_id
        if self.bot is None or at is None or at.channel != TELEGRAM or not message_id:
            return
        seen = self._seen.setdefault(view.id, _Seen())
        now = time.monotonic()
        if seen.at and now > seen.at and progress.done >= seen.done:
            current = (progress.done - seen.done) / (now - seen.at)
            # Smoothed, so the estimate does not jump with every batch of results.
            seen.rate = current if seen.rate is None else 0.5 * seen.rate + 0.5 * current
        seen.done, seen.at = progress.done, now
        locale = self.runtime.texts.resolve(progress.author_locale)
        down = self.runtime.telegram_unreachable_since
        since = down.astimezone(self.runtime.settings.tz).strftime("%H:%M") if down else None
        text = render(self.runtime.texts, locale, progress, seen.rate, unreachable_since=since)
        quiet = not seen.text and progress.done == 0 and progress.waiting and since is None
        if text == seen.text or quiet:
            # Unchanged, or nothing sent yet: the message already says so.
            seen.text = text
            return
        markup = None
        if progress.waiting:
            label = self.runtime.texts.get(locale, "notices.cancel_button")
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(label, callback_data=cb("cancel", view.id))]]
            )
        try:
            await self.bot.edit_message_text(
                text,
                chat_id=chat_of(at.address),
                message_id=int(message_id),
                reply_markup=markup,
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.info("progress message of notice %s: %s", view.id, exc)
        except TelegramError as exc:
            log.info("progress message of notice %s not updated now: %s", view.id, exc)
            return
        seen.text = text


def create(runtime: Runtime) -> NoticeProgress:
    """The ServiceFactory bot/app.py registers."""
    return NoticeProgress(runtime)
