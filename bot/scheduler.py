"""The clock: APScheduler on the bot's event loop fires a due-scan every minute.

What is due is read from the database (storage/reminders.py) at the runtime clock's time, as
typed reminders; the scan composes each with the handlers' composer (bot/app.py hands it in)
and posts it in the same transaction, with dedupe keys, so running it twice, late, or on two
instances at once sends every reminder once. Weekly and daily slots are part of the same scan
(each is due from its slot until it has been sent), so downtime over Monday morning is caught
up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from bot.settings import Settings
from storage import outbox, reminders
from storage.notices import NoticeView
from storage.outbox import Message
from storage.reminders import Reminder, ReminderPolicy
from storage.timing import QuietHours, parse_hhmm

if TYPE_CHECKING:
    from bot.app import BotApplication

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReminderTexts:
    """What the reminders say, composed by the handlers (storage and this service know no
    texts): activity, deadline, weekly and digest reminders, and a notice's reminder."""

    compose: Callable[[Reminder, tzinfo], Message]
    notice_reminder: Callable[[NoticeView], Message]


# A due-scan step: posts what is due in the session; returns how many messages.
DueTask = Callable[[AsyncSession, datetime, ReminderPolicy, ReminderTexts], Awaitable[int]]
ReminderScan = Callable[[AsyncSession, datetime, ReminderPolicy], Awaitable[Sequence[Reminder]]]


def posting(scan: ReminderScan) -> DueTask:
    """A scan whose reminders are composed and posted in its transaction."""

    async def task(
        session: AsyncSession, now: datetime, policy: ReminderPolicy, texts: ReminderTexts
    ) -> int:
        posted = 0
        for reminder in await scan(session, now, policy):
            posted += await outbox.post(session, reminder, texts.compose(reminder, policy.tz))
        return posted

    task.__name__ = scan.__name__
    return task


async def _cancel_stale(
    session: AsyncSession, now: datetime, policy: ReminderPolicy, texts: ReminderTexts
) -> int:
    await reminders.cancel_stale(session)
    return 0


async def _notice_reminders(
    session: AsyncSession, now: datetime, policy: ReminderPolicy, texts: ReminderTexts
) -> int:
    return await reminders.notice_reminders(session, now, policy, texts.notice_reminder)


# In order: withdraw what no longer applies before adding what is due.
DUE_TASKS: list[DueTask] = [
    _cancel_stale,
    posting(reminders.activity_reminders),
    posting(reminders.deadline_reminders),
    posting(reminders.weekly_schedule),
    posting(reminders.staff_digest),
    _notice_reminders,
]


def policy_from(settings: Settings) -> ReminderPolicy:
    """The reminder rules from the settings."""
    tz = settings.tz
    return ReminderPolicy(
        tz=tz,
        quiet=QuietHours(
            parse_hhmm(settings.quiet_hours_start), parse_hhmm(settings.quiet_hours_end), tz
        ),
        day_before_at=parse_hhmm(settings.reminder_day_before_at),
        before_start=timedelta(minutes=settings.reminder_before_start_minutes),
        deadline_before=timedelta(hours=settings.reminder_deadline_hours_before),
        weekly_weekday=settings.weekly_schedule_weekday,
        weekly_at=parse_hhmm(settings.weekly_schedule_at),
        digest_at=parse_hhmm(settings.staff_digest_at),
        notice_remind_after=timedelta(hours=settings.notice_remind_after_hours),
        notice_remind_max=settings.notice_remind_max,
    )


class SchedulerService:
    """Runs the due-scan on APScheduler; `scan()` can also be called directly (tests, CLI)."""

    def __init__(
        self,
        runtime: Runtime,
        texts: ReminderTexts,
        tasks: list[DueTask] | None = None,
    ) -> None:
        self.runtime = runtime
        self.texts = texts
        self.tasks = DUE_TASKS if tasks is None else tasks
        self.policy = policy_from(runtime.settings)
        self._scheduler: AsyncIOScheduler | None = None
        self._running: asyncio.Future[int] | None = None

    async def start(self, app: BotApplication | None = None) -> None:
        self._scheduler = AsyncIOScheduler(timezone=self.policy.tz)
        self._scheduler.add_job(
            self._scan_job,
            IntervalTrigger(seconds=self.runtime.settings.scan_interval_seconds),
            id="due-scan",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(self.policy.tz),
        )
        self._scheduler.start()

    async def _scan_job(self) -> None:
        # The scan runs as its own task, shielded: stopping the scheduler must not cancel it
        # half-way through a transaction (stop() waits for it instead).
        self._running = asyncio.ensure_future(self.scan())
        # The scheduler's shutdown cancels this job (not the scan): expected, not an error for
        # APScheduler to log with a traceback.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self._running)

    async def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        if self._running is not None and not self._running.done():
            await asyncio.wait([self._running])

    async def scan(self) -> int:
        """Enqueue everything due at the runtime clock's now; returns how many messages."""
        now = self.runtime.clock()
        total = 0
        for task in self.tasks:
            try:
                async with self.runtime.db.transaction(bulk=True) as session:
                    total += await task(session, now, self.policy, self.texts)
            except IntegrityError:
                # Another instance enqueued the same reminder first; the next scan sees it.
                log.info("due-scan %s raced another instance; retried next minute", task.__name__)
            except Exception:
                log.exception("due-scan task %s failed", task.__name__)
        if total:
            log.info("due-scan enqueued %d messages", total)
            self.runtime.outbox_signal()
        return total


def create(runtime: Runtime, *, texts: ReminderTexts) -> SchedulerService:
    """The ServiceFactory bot/app.py registers (handing in what the reminders say)."""
    return SchedulerService(runtime, texts)
