"""The delivery worker against both databases, with a recording stand-in for the Bot API.

These cover what the emulator cannot show cheaply: two workers sharing one PostgreSQL outbox,
a clean stop in the middle of a notice, a crashed worker's rows being taken over, pacing.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select
from telegram.error import TelegramError

from bot.channels import telegram_address
from bot.delivery import DeliveryWorker
from bot.i18n import Texts
from bot.runtime import Runtime
from bot.settings import Settings
from storage import outbox
from storage.db import Database
from storage.models import DeliveryStatus, OutboxMessage
from tests.support import TOKEN, FakeClock
from tests.test_delivery_e2e import eventually


@dataclass
class RecordingBot:
    """Answers sendMessage like Telegram, after `latency`; remembers every send."""

    latency: float = 0.0
    sends: list[tuple[int, str, float]] = field(default_factory=list)  # chat, text, monotonic
    fail_with: Exception | None = None
    _next_id: int = 0

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Any:
        if self.fail_with is not None:
            raise self.fail_with
        if self.latency:
            await asyncio.sleep(self.latency)
        self._next_id += 1
        self.sends.append((chat_id, text, time.monotonic()))
        return SimpleNamespace(message_id=self._next_id)


def make_runtime(db: Database, clock: FakeClock, **overrides: Any) -> Runtime:
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "database_url": db.url,
        "delivery_rate_per_second": 1000.0,
        "delivery_per_chat_interval": 0.0,
    }
    values.update(overrides)
    settings = Settings(_env_file=None, **values)
    return Runtime(settings=settings, db=db, texts=Texts(), clock=clock)


async def fill(db: Database, chats: range, *, text: str = "notice") -> None:
    async with db.transaction() as session:
        for chat in chats:
            await outbox.enqueue(session, kind="test", to=telegram_address(chat), text=text)


async def status_counts(db: Database) -> Counter[DeliveryStatus]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return Counter({status: n for status, n in rows})


async def all_sent(db: Database, total: int) -> bool:
    return (await status_counts(db))[DeliveryStatus.sent] == total


async def test_two_workers_never_send_a_message_twice(db: Database) -> None:
    clock = FakeClock()
    await fill(db, range(1, 301))
    fake = RecordingBot(latency=0.002)
    workers = [
        DeliveryWorker(make_runtime(db, clock, delivery_batch_size=20), bot=fake)  # type: ignore[arg-type]
        for _ in range(2)
    ]
    await asyncio.gather(*(w.start() for w in workers))
    try:
        await eventually(lambda: all_sent(db, 300), timeout=30)
    finally:
        await asyncio.gather(*(w.stop() for w in workers))
    per_chat = Counter(chat for chat, _, _ in fake.sends)
    assert len(per_chat) == 300 and set(per_chat.values()) == {1}
    assert all(w.stats.sent > 0 for w in workers)  # both really took part
    async with db.transaction() as session:
        owners = set(await session.scalars(select(OutboxMessage.claimed_by)))
    assert owners == {None}


async def test_concurrent_claims_are_disjoint(db: Database) -> None:
    clock = FakeClock()
    await fill(db, range(1, 201))

    async def claimer(name: str) -> list[int]:
        got: list[int] = []
        while True:
            async with db.transaction() as session:
                rows = await outbox.claim(session, worker=name, now=clock(), limit=7)
            if not rows:
                return got
            got.extend(r.id for r in rows)

    results = await asyncio.gather(*(claimer(f"w{i}") for i in range(4)))
    ids = [i for got in results for i in got]
    assert len(ids) == 200 and len(set(ids)) == 200


async def test_clean_stop_leaves_nothing_in_sending_and_restart_sends_the_rest(
    db: Database,
) -> None:
    clock = FakeClock()
    await fill(db, range(1, 201))
    fake = RecordingBot(latency=0.01)
    runtime = make_runtime(db, clock, delivery_rate_per_second=50.0, delivery_batch_size=40)
    worker = DeliveryWorker(runtime, bot=fake)  # type: ignore[arg-type]
    await worker.start()
    await eventually(lambda: _sent_at_least(fake, 20))
    await worker.stop()

    counts = await status_counts(db)
    assert counts[DeliveryStatus.sending] == 0
    assert counts[DeliveryStatus.sent] == len(fake.sends)  # every send was recorded
    assert counts[DeliveryStatus.pending] == 200 - len(fake.sends)

    second = DeliveryWorker(make_runtime(db, clock), bot=fake)  # type: ignore[arg-type]
    await second.start()
    try:
        await eventually(lambda: all_sent(db, 200), timeout=20)
    finally:
        await second.stop()
    assert sorted(chat for chat, _, _ in fake.sends) == list(range(1, 201))


async def _sent_at_least(fake: RecordingBot, n: int) -> bool:
    return len(fake.sends) >= n


async def test_rows_of_a_crashed_worker_are_taken_over_after_the_lease(db: Database) -> None:
    clock = FakeClock()
    await fill(db, range(1, 51))
    async with db.transaction() as session:  # a worker claims 30 rows, then dies (kill -9)
        dead = await outbox.claim(session, worker="dead", now=clock(), limit=30)
    assert len(dead) == 30

    fake = RecordingBot()
    worker = DeliveryWorker(make_runtime(db, clock, delivery_lease_seconds=60), bot=fake)  # type: ignore[arg-type]
    await worker.start()
    try:
        # The other 20 go at once; the dead worker's rows wait for its lease to run out.
        await eventually(lambda: all_sent(db, 20))
        counts = await status_counts(db)
        assert counts[DeliveryStatus.sending] == 30 and len(fake.sends) == 20
        await worker.stop()
        clock.advance(seconds=61)
        worker = DeliveryWorker(make_runtime(db, clock, delivery_lease_seconds=60), bot=fake)  # type: ignore[arg-type]
        await worker.start()
        await eventually(lambda: all_sent(db, 50))
    finally:
        await worker.stop()
    assert sorted(chat for chat, _, _ in fake.sends) == list(range(1, 51))


async def test_messages_to_one_chat_are_spaced(db: Database) -> None:
    clock = FakeClock()
    await fill(db, range(7, 8), text="one")
    await fill(db, range(7, 8), text="two")
    await fill(db, range(7, 8), text="three")
    await fill(db, range(-100, -99), text="group one")
    await fill(db, range(-100, -99), text="group two")
    fake = RecordingBot()
    runtime = make_runtime(db, clock, delivery_per_chat_interval=0.3, delivery_group_per_minute=100)
    worker = DeliveryWorker(runtime, bot=fake)  # type: ignore[arg-type]
    await worker.start()
    try:
        await eventually(lambda: all_sent(db, 5))
    finally:
        await worker.stop()
    private = [at for chat, _, at in fake.sends if chat == 7]
    group = [at for chat, _, at in fake.sends if chat == -100]
    assert [text for chat, text, _ in fake.sends if chat == 7] == ["one", "two", "three"]
    assert all(b - a >= 0.3 for a, b in itertools.pairwise(private))
    assert group[1] - group[0] >= 0.6  # 100 per minute in a group


async def test_after_max_attempts_a_message_fails_with_its_reason(db: Database) -> None:
    """An error that is neither the message's fault nor a network one (here an unexpected
    answer) is retried DELIVERY_MAX_ATTEMPTS times; network errors wait out the outage horizon
    instead (tests/test_telegram_outage_e2e.py)."""
    clock = FakeClock()
    await fill(db, range(1, 2))
    fake = RecordingBot(fail_with=TelegramError("connection reset"))
    runtime = make_runtime(db, clock, delivery_max_attempts=2)
    worker = DeliveryWorker(runtime, bot=fake)  # type: ignore[arg-type]
    await worker.start()
    try:
        await eventually(lambda: _row_where(db, status=DeliveryStatus.pending, attempts=1))
        clock.advance(minutes=5)
        row = await eventually(lambda: _row_where(db, status=DeliveryStatus.failed))
    finally:
        await worker.stop()
    assert row.attempts == 2 and "connection reset" in (row.last_error or "")


async def _row_where(db: Database, **wanted: Any) -> OutboxMessage | None:
    async with db.transaction() as session:
        row = await session.scalar(select(OutboxMessage))
    if row is None:
        return None
    return row if all(getattr(row, k) == v for k, v in wanted.items()) else None


async def test_lease_is_refreshed_while_rows_wait(db: Database) -> None:
    clock = FakeClock()
    async with db.transaction() as session:
        for _ in range(3):
            await outbox.enqueue(session, kind="test", to=telegram_address(5), text="x")
    async with db.transaction() as session:
        rows = await outbox.claim(session, worker="a", now=clock(), limit=10)
        later = clock() + timedelta(seconds=30)
        assert await outbox.refresh(session, [r.id for r in rows], worker="a", now=later) == {
            r.id for r in rows
        }
        # Another worker's refresh changes nothing; the reclaim cutoff spares fresh leases.
        assert await outbox.refresh(session, [r.id for r in rows], worker="b", now=later) == set()
        assert await outbox.reclaim_expired(session, cutoff=later - timedelta(seconds=1)) == 0
        assert await outbox.reclaim_expired(session, cutoff=later + timedelta(seconds=1)) == 3
