"""The delivery worker: sends what is in the outbox, under Telegram's rate limits, durably.

One worker per process. It claims due rows (storage.outbox.claim: atomic, safe with two
workers on PostgreSQL), keeps them in small per-chat queues, and sends them through one
overall token bucket. Results are written back in small batches, so after a kill -9 at most the
rows sent but not yet recorded (a fraction of a second of traffic) are sent again; rows claimed
but not sent come back when their lease runs out. A clean stop finishes the sends in progress,
records them and gives the rest back, so nothing is left in `sending`.

Telegram unreachable (network errors, 5xx, timeouts): such an error never fails a row by itself.
The worker stops claiming, gives back what it holds and probes with one getMe, at 5 s, 10 s, 20 s
… at most 5 minutes apart (on the runtime's clock); once getMe answers it sends one row, and
when that goes through it sends everything again. A row failing alone (one chat's 5xx) waits
per chat with the same backoff. A row is marked failed only when it is still not sent
DELIVERY_OUTAGE_HORIZON_HOURS after it became due; meanwhile runtime.telegram_unreachable_since
tells /healthz and the notice progress message.

Why its own Bot: the Application's bot goes through PTB's AIORateLimiter, which would retry a
429 itself (sleeping inside the call), count our sends against its own overall limit and keep
our priorities from mattering. The worker owns the limits for bulk traffic, so it talks to the
Bot API directly (same token and base URL, its own connection pool).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
import warnings
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from aiolimiter import AsyncLimiter
from telegram import Bot, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot

from bot.channels import TELEGRAM, chat_of, telegram_defaults
from bot.http import AiohttpRequest
from bot.runtime import Runtime
from bot.telegram_sender import TelegramSender
from storage import outbox
from storage.outbox import Claimed, Outcome, Result

if TYPE_CHECKING:
    from bot.app import BotApplication

log = logging.getLogger(__name__)

_T = TypeVar("_T")

IDLE_POLL_SECONDS = 0.3  # how often an idle worker looks for scheduled rows coming due
FLUSH_SECONDS = 0.25  # how long a result may wait before it is written
FLUSH_BATCH = 25
REFRESH_SECONDS = 5.0  # how often claimed rows' leases are extended (and cancellations seen)
PER_CHAT_QUEUE = 2  # rows of one chat held in memory; the rest wait in the database
BURST_SECONDS = 0.2
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 300.0  # never longer than this between two tries, outage or not
PROBE_TIMEOUT_SECONDS = 5.0  # a getMe probe that takes longer counts as Telegram unreachable
EXPIRE_BATCH = 2000


@dataclass
class DeliveryStats:
    """Counters for logs, the benchmark and tests."""

    sent: int = 0
    failed: int = 0
    unreachable: int = 0
    retried: int = 0
    rate_limited: int = 0  # 429 answers received
    transient: int = 0  # network errors, 5xx and timeouts met by sends
    probes: int = 0  # getMe calls made while Telegram seemed unreachable
    expired: int = 0  # rows failed because they were still unsent at the outage horizon
    first_sent_at: float | None = None  # time.monotonic() of the first successful send
    last_sent_at: float | None = None


@dataclass
class _ChatQueue:
    rows: deque[Claimed] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class DeliveryWorker:
    """The Service that drains the outbox (see the module docstring)."""

    def __init__(self, runtime: Runtime, *, bot: Bot | None = None) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.worker_id = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.capacity = settings.delivery_batch_size
        self.max_attempts = settings.delivery_max_attempts
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)
        self.horizon = timedelta(hours=settings.delivery_outage_horizon_hours)
        self.private_interval = settings.delivery_per_chat_interval
        self.group_interval = 60.0 / settings.delivery_group_per_minute
        rate = settings.delivery_rate_per_second * settings.delivery_rate_margin
        # A small bucket (200 ms worth): an even pace instead of a full second's burst at the
        # start, which would meet Telegram's bucket exactly at its edge and draw a 429.
        period = max(BURST_SECONDS, 1.0 / rate)
        self.limiter = AsyncLimiter(rate * period, period)
        self.stats = DeliveryStats()
        self.bot: Bot | None = bot
        self._own_bot = bot is None
        self._queues: dict[str, _ChatQueue] = {}  # by address
        # Monotonic time the next message to a chat may go; outlives the chat's queue.
        self._next_at: dict[str, float] = {}
        self._results: list[Outcome] = []
        self.sender: TelegramSender | None = None
        self._locales: dict[int, str | None] = {}  # member id -> language, read at claim time
        self._unreachable: set[int] = set()  # members marked unreachable when last claimed
        self._dropped: set[int] = set()  # held rows cancelled or taken over since the claim
        self._signalled = False
        self._paused_until = 0.0
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_refresh = 0.0
        self._last_reclaim = 0.0
        self._oldest_result = 0.0  # monotonic time the oldest unwritten result arrived
        # Telegram unreachable: when the trouble began (first transient error, runtime clock),
        # the last reason, and when to probe next (None: not probing). Probe times are on the
        # runtime's clock so tests can move through a long outage without waiting it out.
        self._trouble_since: datetime | None = None
        self._trouble_error = ""
        self._probe_at: datetime | None = None
        self._probe_delay = BACKOFF_BASE_SECONDS
        self._trial = False  # getMe answered: one row must go through before all go again
        # Chats whose last send failed transiently: (not before, current backoff seconds,
        # whether Telegram was known to be unreachable then).
        self._chat_retry: dict[str, tuple[datetime, float, bool]] = {}
        self._outage_retries = False  # some of those failed while Telegram was unreachable

    # -- Service ---------------------------------------------------------------------------
    async def start(self, app: BotApplication | None = None) -> None:
        if self.bot is None:
            settings = self.runtime.settings
            self.bot = ExtBot(
                settings.token(),
                defaults=telegram_defaults(),
                base_url=settings.telegram_api_base_url,
                base_file_url=settings.telegram_file_base_url,
                request=AiohttpRequest(connection_pool_size=32, pool_timeout=10, read_timeout=20),
            )
            await self.bot.initialize()
        assert self.bot is not None
        self.sender = TelegramSender(self.bot, self.runtime.texts)
        self.runtime.outbox_signal = self.wake
        self._task = asyncio.create_task(self._run(), name="delivery-worker")
        log.info("delivery worker %s started", self.worker_id)

    async def stop(self) -> None:
        """Finish sends in progress, record them, give unsent rows back; leaves no `sending`."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        self.runtime.outbox_signal = lambda: None
        if self._own_bot and self.bot is not None:
            await self.bot.shutdown()
        log.info(
            "delivery worker %s stopped: %d sent, %d failed, %d unreachable",
            self.worker_id,
            self.stats.sent,
            self.stats.failed,
            self.stats.unreachable,
        )

    def wake(self) -> None:
        """Something was enqueued or cancelled: look now instead of at the next poll."""
        self._signalled = True
        self._wake.set()

    # -- the claim loop --------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._tick()
            except Exception:
                # A database hiccup must not kill delivery; the next tick tries again.
                log.exception("delivery worker tick failed")
                await self._sleep(1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_POLL_SECONDS)
            self._wake.clear()
        await self._drain()

    async def _tick(self) -> None:
        loop_now = time.monotonic()
        if self._results and (
            len(self._results) >= FLUSH_BATCH or loop_now - self._oldest_result >= FLUSH_SECONDS
        ):
            await self._flush()
        if loop_now - self._last_reclaim >= self.lease.total_seconds() / 4:
            self._last_reclaim = loop_now
            async with self.runtime.db.transaction() as session:
                back = await outbox.reclaim_expired(
                    session, cutoff=self.runtime.clock() - self.lease
                )
            if back:
                log.warning("reclaimed %d messages left in sending by a stopped worker", back)
        if self._signalled or loop_now - self._last_refresh >= REFRESH_SECONDS:
            self._signalled = False
            await self._refresh()
        if len(self._next_at) > 4 * self.capacity:
            self._next_at = {c: t for c, t in self._next_at.items() if t > loop_now}
        if self._probe_at is not None and not await self._probe():
            return  # Telegram unreachable: claim nothing, so no row's attempt is spent on it
        queued = sum(len(q.rows) for q in self._queues.values())
        if self._trial:
            room = 1 - queued  # one row at a time until one goes through
            if room < 1:
                return
        else:
            room = self.capacity - queued
            if room < max(1, self.capacity // 2):
                return
        busy = [chat for chat, q in self._queues.items() if len(q.rows) >= PER_CHAT_QUEUE]
        busy += self._chats_waiting()
        async with self.runtime.db.transaction() as session:
            claimed = await outbox.claim(
                session,
                worker=self.worker_id,
                now=self.runtime.clock(),
                limit=room,
                channel=TELEGRAM,
                skip=busy,
            )
            extra: list[int] = []
            for row in claimed:
                queue = self._queues.setdefault(row.address, _ChatQueue())
                if len(queue.rows) >= PER_CHAT_QUEUE:
                    extra.append(row.id)  # this chat is already busy: leave it for later
                    continue
                queue.rows.append(row)
            if extra:
                await outbox.release(session, extra, worker=self.worker_id)
            wanted = {row.member_id for row in claimed if row.member_id is not None}
            found = await outbox.recipients(session, wanted)
        for member_id, recipient in found.items():
            self._locales[member_id] = recipient.locale
            if recipient.reachable:
                self._unreachable.discard(member_id)
            else:
                self._unreachable.add(member_id)
        if len(self._locales) > 4 * self.capacity:
            self._locales = {m: self._locales[m] for m in wanted if m in self._locales}
        for address, queue in self._queues.items():
            if queue.rows and queue.task is None:
                queue.task = asyncio.create_task(self._chat_loop(address, queue))
        if self._trial and not self._queues and not self._chats_waiting():
            # getMe answered and nothing at all is left to try: nothing says Telegram is still
            # unreachable. (With chats waiting out their backoff, the first of them is the
            # trial: a partial outage, getMe answering while sends fail, stays reported.)
            self._recovered()
        if claimed:
            self._wake.set()  # there may be more: claim again right away while there is room

    # -- Telegram unreachable -------------------------------------------------------------
    def _halted(self) -> bool:
        """Sending is stopped while the worker probes whether Telegram answers again."""
        return self._probe_at is not None

    def _chats_waiting(self) -> list[str]:
        now = self.runtime.clock()
        if len(self._chat_retry) > 4 * self.capacity:
            stale = now - timedelta(seconds=2 * BACKOFF_MAX_SECONDS)
            self._chat_retry = {c: v for c, v in self._chat_retry.items() if v[0] > stale}
        return [chat for chat, (until, _, _) in self._chat_retry.items() if until > now]

    def _transient_failure(self, row: Claimed, reason: str) -> None:
        """A send met a network error, 5xx or timeout: stop sending and probe."""
        now = self.runtime.clock()
        self.stats.transient += 1
        self._trouble_error = reason
        if self._trouble_since is None:
            # The first error of a spell: probe at once (one lost connection is no outage).
            self._trouble_since = now
            self._probe_delay = BACKOFF_BASE_SECONDS
            self._probe_at = now
            log.warning("Telegram send failed (%s): probing before sending more", reason)
        elif self._probe_at is None:
            # The trial row failed although getMe answered: sends fail while the API answers
            # (a partial outage), which is Telegram unreachable too, for /healthz and the
            # progress messages. Wait before the next probe. (Sends still on the wire when
            # probing began change nothing: the probe decides.)
            self.runtime.telegram_unreachable_since = self._trouble_since
            self._probe_at = now + timedelta(seconds=self._probe_delay)
            self._probe_delay = min(BACKOFF_MAX_SECONDS, self._probe_delay * 2)
        self._trial = False
        # The chat waits on its own too, so one chat's failing sends do not hold up the rest.
        _, delay, _ = self._chat_retry.get(row.address, (now, BACKOFF_BASE_SECONDS / 2, False))
        delay = min(BACKOFF_MAX_SECONDS, delay * 2)
        outage = self.runtime.telegram_unreachable_since is not None
        self._chat_retry[row.address] = (now + timedelta(seconds=delay), delay, outage)
        self._outage_retries = self._outage_retries or outage

    def _reached(self, address: str) -> None:
        """A send went through: Telegram answers again, for everyone."""
        self._chat_retry.pop(address, None)
        if self._outage_retries:
            # Chats whose sends failed while Telegram was unreachable met the outage, not
            # trouble of their own: they go again now, not after their backoff (up to 5 min).
            self._chat_retry = {c: v for c, v in self._chat_retry.items() if not v[2]}
            self._outage_retries = False
        if self._trouble_since is None or self._probe_at is not None:
            return
        log.warning(
            "Telegram reachable again (trouble since %s); sending resumes",
            self._trouble_since.isoformat(timespec="seconds"),
        )
        self._recovered()

    def _recovered(self) -> None:
        self._trouble_since = None
        self._trouble_error = ""
        self._trial = False
        self._probe_delay = BACKOFF_BASE_SECONDS
        self.runtime.telegram_unreachable_since = None

    async def _probe(self) -> bool:
        """While probing: give held rows back and, when due, ask getMe; True once it answers."""
        assert self._probe_at is not None and self.bot is not None
        idle = [row.id for q in self._queues.values() if q.task is None for row in q.rows]
        if idle:
            self._queues = {c: q for c, q in self._queues.items() if q.task is not None}
            async with self.runtime.db.transaction() as session:
                await outbox.release(session, idle, worker=self.worker_id)
        now = self.runtime.clock()
        if now < self._probe_at:
            return False
        self.stats.probes += 1
        try:
            await self.bot.get_me(
                read_timeout=PROBE_TIMEOUT_SECONDS, connect_timeout=PROBE_TIMEOUT_SECONDS
            )
        except RetryAfter:
            pass  # it answered: reachable, and the 429 pause applies to sends anyway
        except TelegramError as exc:
            since = self._trouble_since or now
            if self.runtime.telegram_unreachable_since is None:
                log.warning("Telegram unreachable since %s: %s", since.isoformat(), exc)
            self.runtime.telegram_unreachable_since = since
            self._trouble_error = self._trouble_error or f"{type(exc).__name__}: {exc}"
            now = self.runtime.clock()
            self._probe_at = now + timedelta(seconds=self._probe_delay)
            self._probe_delay = min(BACKOFF_MAX_SECONDS, self._probe_delay * 2)
            await self._expire(now, since)
            return False
        if (down := self.runtime.telegram_unreachable_since) is not None:
            # getMe answers but sends did not: the horizon applies all the same.
            await self._expire(now, down)
        # getMe answered; one row goes first (a send may still fail where getMe does not), and
        # only its success says Telegram is back.
        self._probe_at = None
        self._trial = True
        return True

    async def _expire(self, now: datetime, since: datetime) -> None:
        """Fail what has waited past the horizon: a late notice is worse than a failed one."""
        reason = (
            f"Telegram unreachable since {since.isoformat(timespec='seconds')}"
            f" for more than {self.horizon}: {self._trouble_error}"
        )
        while True:
            async with self.runtime.db.transaction() as session:
                n = await outbox.expire_overdue(
                    session,
                    due_before=now - self.horizon,
                    reason=reason,
                    channel=TELEGRAM,
                    limit=EXPIRE_BATCH,
                )
            self.stats.expired += n
            self.stats.failed += n
            if n:
                log.warning("%d messages failed: %s", n, reason)
            if n < EXPIRE_BATCH:
                return

    async def _refresh(self) -> None:
        """Extend the lease on everything held; drop rows cancelled or taken over meanwhile."""
        self._last_refresh = time.monotonic()
        held = {row.id for q in self._queues.values() for row in q.rows}
        if not held:
            return
        async with self.runtime.db.transaction() as session:
            mine = await outbox.refresh(
                session, held, worker=self.worker_id, now=self.runtime.clock()
            )
        self._dropped = (self._dropped | (held - mine)) & held

    async def _drain(self) -> None:
        """Stopping: let each chat finish its current send, then return the rest."""
        tasks = [q.task for q in self._queues.values() if q.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        unsent = [row.id for q in self._queues.values() for row in q.rows]
        self._queues.clear()
        try:
            await self._flush()
            if unsent:
                async with self.runtime.db.transaction() as session:
                    await outbox.release(session, unsent, worker=self.worker_id)
        except Exception:
            # The database is gone: the leases run out and another start sends these.
            log.exception("delivery worker could not record its last results")

    async def _flush(self) -> None:
        results, self._results = self._results, []
        if not results:
            return
        try:
            async with self.runtime.db.transaction() as session:
                await outbox.record(session, results, worker=self.worker_id)
        except Exception:
            self._results[:0] = results  # keep them; the next flush tries again
            raise

    # -- sending ---------------------------------------------------------------------------
    async def _chat_loop(self, address: str, queue: _ChatQueue) -> None:
        chat_id = chat_of(address)
        interval = self.group_interval if chat_id < 0 else self.private_interval
        try:
            while queue.rows and not self._stopping.is_set() and not self._halted():
                wait = self._next_at.get(address, 0.0) - time.monotonic()
                if wait > 0 and not await self._sleep(wait):
                    break
                row = queue.rows[0]
                if row.id in self._dropped:  # cancelled by staff or taken over: not ours to send
                    queue.rows.popleft()
                    self._dropped.discard(row.id)
                    continue
                outcome = await self._send_with_retry_after(row)
                if outcome is None:  # stopping or probing (goes back untried), or cancelled
                    continue
                queue.rows.popleft()
                self._next_at[address] = time.monotonic() + interval
                self._add_result(outcome)
        except Exception:
            log.exception("delivery to chat %s failed unexpectedly", chat_id)
        finally:
            queue.task = None
            if not queue.rows and self._queues.get(address) is queue:
                del self._queues[address]
            if not self._stopping.is_set():
                self._wake.set()

    def _add_result(self, outcome: Outcome) -> None:
        if not self._results:
            self._oldest_result = time.monotonic()
        self._results.append(outcome)
        if len(self._results) >= FLUSH_BATCH:
            self._wake.set()

    async def _send_with_retry_after(self, row: Claimed) -> Outcome | None:
        """Send row once the overall limit allows; a 429 pauses everyone, then this row retries."""
        while True:
            if not await self._gate():
                return None
            if row.id in self._dropped or self._halted():
                return None
            try:
                message = await self._deliver(row)
            except RetryAfter as exc:
                self.stats.rate_limited += 1
                pause = _retry_after_seconds(exc)
                self._paused_until = max(self._paused_until, time.monotonic() + float(pause))
                log.warning("429 from Telegram: pausing delivery for %ss", pause)
                continue
            except Exception as exc:
                return self._failure(row, exc)
            self._reached(row.address)
            now = time.monotonic()
            self.stats.sent += 1
            self.stats.first_sent_at = self.stats.first_sent_at or now
            self.stats.last_sent_at = now
            # Only a member marked unreachable needs their flag cleared after a success.
            back = row.member_id if row.member_id in self._unreachable else None
            return Outcome(
                row.id,
                Result.sent,
                member_id=back,
                sent_message_id=str(message.message_id),
                at=self.runtime.clock(),
            )

    async def _gate(self) -> bool:
        """Wait out a 429 pause and take a token from the overall bucket; False when stopping."""
        while (pause := self._paused_until - time.monotonic()) > 0:
            if not await self._sleep(pause):
                return False
        acquire = asyncio.ensure_future(self.limiter.acquire())
        stop = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait({acquire, stop}, return_when=asyncio.FIRST_COMPLETED)
        if acquire in done:
            stop.cancel()
            return True
        acquire.cancel()
        return False

    def _failure(self, row: Claimed, exc: Exception) -> Outcome:
        reason = f"{type(exc).__name__}: {exc}"[:500]
        if isinstance(exc, Forbidden) or (
            isinstance(exc, BadRequest) and "chat not found" in str(exc).lower()
        ):
            self.stats.unreachable += 1
            return Outcome(row.id, Result.unreachable, member_id=row.member_id, error=reason)
        if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
            # Network error, 5xx, timeout: Telegram's trouble, not the message's. It waits
            # (not_before kept, so the horizon counts from when it was due) while the worker
            # probes; only past the horizon does it fail.
            self._transient_failure(row, reason)
            now = self.runtime.clock()
            if now - row.due_at >= self.horizon:
                self.stats.failed += 1
                log.warning("message %s failed after the outage horizon: %s", row.id, reason)
                return Outcome(
                    row.id, Result.failed, error=f"not sent within {self.horizon}: {reason}"
                )
            self.stats.retried += 1
            return Outcome(row.id, Result.retry, error=reason)
        permanent = isinstance(exc, (BadRequest, ChatMigrated)) or not isinstance(
            exc, TelegramError
        )
        if permanent or row.attempts >= self.max_attempts:
            # A malformed message or a bug in rendering will not get better by retrying.
            self.stats.failed += 1
            log.warning("message %s failed for good: %s", row.id, reason)
            return Outcome(row.id, Result.failed, error=reason)
        self.stats.retried += 1
        backoff = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (row.attempts - 1))
        return Outcome(
            row.id,
            Result.retry,
            error=reason,
            retry_at=self.runtime.clock() + timedelta(seconds=backoff),
        )

    async def _deliver(self, row: Claimed) -> Message:
        assert self.sender is not None
        return await self.sender.send(row, self._locale(row))

    def _locale(self, row: Claimed) -> str:
        texts = self.runtime.texts
        locale = self._locales.get(row.member_id) if row.member_id is not None else None
        return texts.resolve(locale)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, but wake at once when stopping; False when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return not self._stopping.is_set()


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after will become a timedelta; accept either.
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def create(runtime: Runtime) -> DeliveryWorker:
    """The ServiceFactory bot.app registers."""
    return DeliveryWorker(runtime)
