"""A notice to 10,000 members through the delivery worker, against an emulator enforcing limits.

The Bot API emulator runs in this process with Telegram's limits (30 messages/s overall, burst
30; 1 message/s per chat): every message over the limit is answered 429 with retry_after. The
delivery worker runs in a child process (`worker` mode below), as in production, so it can be
killed. The notice is queued the way staff queue one (storage.notices.queue).

Three runs, each on a fresh database and emulator:
  clean    — the worker sends everything, then stops;
  sigkill  — the worker is killed with SIGKILL at a random point and a new one is started;
  sigterm  — the worker gets SIGTERM at a random point (a clean stop) and a new one is started.
Reported: sustained rate against the cap, 429s, time to first message, the worker's peak memory,
and per member how many copies arrived (lost = 0 copies, duplicated = more than one).

    .venv/bin/python -m benchmarks.notice_delivery                 # 10,000 members, SQLite
    .venv/bin/python -m benchmarks.notice_delivery --members 2000 --runs clean
    .venv/bin/python -m benchmarks.notice_delivery --db postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benchmarks.common import insert_bound_members, machine, scratch_database
from bot.tryout import BotApiEmulator
from handlers.notices import messages as notice_messages
from storage import notices
from storage.db import Database
from storage.members import MemberRef
from storage.models import (
    AckMode,
    AudienceKind,
    DeliveryStatus,
    Member,
    OutboxMessage,
    Role,
    utcnow,
)

TOKEN = "123456:BENCH-TOKEN"
FIRST_CHAT = 7_000_000
CAP = 30.0
LEASE_SECONDS = 10  # short, so the restarted worker takes over the killed one's rows quickly
ROOT = Path(__file__).resolve().parent.parent


# -- the worker process ---------------------------------------------------------------------


async def run_worker(database_url: str, api_base: str, file_base: str) -> None:
    """Child process: a DeliveryWorker until the outbox is drained (or SIGTERM); prints stats."""
    from bot.delivery import DeliveryWorker
    from bot.i18n import Texts
    from bot.runtime import Runtime
    from bot.settings import Settings

    settings = Settings(
        _env_file=None,
        bot_token=TOKEN,
        database_url=database_url,
        telegram_api_base_url=api_base,
        telegram_file_base_url=file_base,
        delivery_lease_seconds=LEASE_SECONDS,
    )
    db = Database(database_url)
    runtime = Runtime(settings=settings, db=db, texts=Texts(settings.default_locale))
    worker = DeliveryWorker(runtime)
    tracemalloc.start()  # the worker's own allocations while it sends (imports excluded)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await worker.start()
    print("ready", flush=True)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        async with db.transaction() as session:
            left = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_((DeliveryStatus.pending, DeliveryStatus.sending)))
            )
        if not left:
            break
    await worker.stop()
    await db.dispose()
    _, traced_peak = tracemalloc.get_traced_memory()
    stats = worker.stats
    print(
        json.dumps(
            {
                "sent": stats.sent,
                "failed": stats.failed,
                "unreachable": stats.unreachable,
                "rate_limited": stats.rate_limited,
                "peak_rss_mib": round(peak_rss_kib() / 1024, 1),
                "peak_traced_mib": round(traced_peak / 1024 / 1024, 1),
            }
        ),
        flush=True,
    )


def peak_rss_kib() -> int:
    """This process's peak resident memory (VmHWM: reset at exec, unlike ru_maxrss)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- the driver -----------------------------------------------------------------------------


@dataclass
class RunResult:
    name: str
    members: int
    queue_seconds: float
    first_message_seconds: float
    sustained_rate: float
    steady_rate: float
    retry_after: int
    peak_rss_mib: list[float]
    peak_traced_mib: list[float]
    copies: Counter[int]
    in_flight_at_stop: int
    stopped_after: int | None
    total_seconds: float

    @property
    def lost(self) -> int:
        return self.copies.get(0, 0)

    @property
    def duplicated(self) -> int:
        return sum(n for copies, n in self.copies.items() if copies > 1)


async def seed(db: Database, members: int) -> MemberRef:
    """The roster: one staff member (the sender) and `members` members with Telegram."""
    async with db.transaction() as session:
        staff = Member(name="王干部", phone="+8615000150000", role=Role.staff)
        session.add(staff)
        await session.flush()
        rows = [
            {
                "name": f"委员{i:05d}",
                "phone": f"+86139{i:08d}",
                "role": Role.member,
                "reachable": True,
                "active": True,
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
            for i in range(members)
        ]
        await insert_bound_members(session, rows, [FIRST_CHAT + i for i in range(members)])
        return MemberRef.of(staff)


async def queue_notice(db: Database, staff: MemberRef) -> tuple[int, float]:
    """Compose and send now, as the bot's staff flow does; returns (notice id, seconds)."""
    body = "<b>关于召开年度全体委员会议的通知</b>\n请各位委员于12月1日上午9点准时参加。"
    started = time.perf_counter()
    async with db.transaction() as session:
        draft = await notices.open_draft(session, staff)
        assert not isinstance(draft, notices.Problem)
        await notices.set_body(session, staff, draft.id, html=body, visible_length=len(body))
        await notices.set_audience(session, staff, draft.id, AudienceKind.everyone)
        await notices.set_ack(session, staff, draft.id, AckMode.received)
        view = await notices.queue(
            session, staff, draft.id, now=utcnow(), message=notice_messages.message
        )
        assert not isinstance(view, notices.Problem)
    return view.id, time.perf_counter() - started


async def start_worker(db_url: str, emu: BotApiEmulator) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.notice_delivery",
        "worker",
        "--database-url",
        db_url,
        "--api",
        emu.base_url,
        "--files",
        emu.base_file_url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await process.stdout.readline()
    if line.strip() != b"ready":
        raise RuntimeError(f"worker did not start: {line!r}")
    return process


async def finish_worker(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    out = await process.stdout.read()
    await process.wait()
    for line in reversed(out.decode().splitlines()):
        if line.startswith("{"):
            result: dict[str, Any] = json.loads(line)
            return result
    return {}


async def in_flight(db: Database) -> int:
    async with db.transaction() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == DeliveryStatus.sending)
            )
            or 0
        )


async def one_run(name: str, kind: str, members: int, folder: Path) -> RunResult:
    emu = BotApiEmulator(TOKEN, enforce_limits=True, global_rate=CAP, global_burst=int(CAP))
    await emu.start()
    sent_at: list[float] = []
    emu.add_listener(
        lambda event, m: sent_at.append(time.perf_counter()) if event == "sent" else None
    )
    try:
        async with scratch_database(kind, folder) as db:
            staff = await seed(db, members)
            worker = await start_worker(db.url, emu)
            _, queue_seconds = await queue_notice(db, staff)
            queued_at = time.perf_counter()
            peaks: list[float] = []
            traced: list[float] = []
            in_flight_at_stop = 0
            stopped_after: int | None = None
            if name in ("sigkill", "sigterm"):
                # Somewhere between 10% and 90% of the way.
                expected = members / (CAP * 0.95)
                await asyncio.sleep(random.uniform(0.1, 0.9) * expected)
                stopped_after = len(sent_at)
                if name == "sigkill":
                    worker.kill()
                    await worker.wait()
                else:
                    worker.send_signal(signal.SIGTERM)
                    stats = await finish_worker(worker)
                    peaks.append(float(stats.get("peak_rss_mib", 0)))
                    traced.append(float(stats.get("peak_traced_mib", 0)))
                in_flight_at_stop = await in_flight(db)
                worker = await start_worker(db.url, emu)
            stats = await finish_worker(worker)
            peaks.append(float(stats.get("peak_rss_mib", 0)))
            traced.append(float(stats.get("peak_traced_mib", 0)))
            total = time.perf_counter() - queued_at
    finally:
        await emu.stop()
    copies = Counter(emu.stats.messages_sent.get(FIRST_CHAT + i, 0) for i in range(members))
    sustained = (len(sent_at) - 1) / (sent_at[-1] - sent_at[0]) if len(sent_at) > 1 else 0.0
    # Steady state: the middle 80% of the messages, away from the start and the tail.
    lo, hi = int(len(sent_at) * 0.1), int(len(sent_at) * 0.9)
    steady = (hi - lo) / (sent_at[hi] - sent_at[lo]) if hi > lo + 1 else sustained
    return RunResult(
        name=name,
        members=members,
        queue_seconds=queue_seconds,
        first_message_seconds=(sent_at[0] - queued_at) if sent_at else float("nan"),
        sustained_rate=sustained,
        steady_rate=steady,
        retry_after=emu.stats.retry_after_responses,
        peak_rss_mib=peaks,
        peak_traced_mib=traced,
        copies=copies,
        in_flight_at_stop=in_flight_at_stop,
        stopped_after=stopped_after,
        total_seconds=total,
    )


def report(result: RunResult) -> str:
    lines = [
        f"== {result.name}: notice to {result.members:,} members",
        f"  queue ({result.members:,} outbox rows + recipients, one transaction):"
        f" {result.queue_seconds:.2f} s",
        f"  time to first message: {result.first_message_seconds:.2f} s",
        f"  sustained rate: {result.sustained_rate:.1f} msg/s = {result.sustained_rate / CAP:.0%}"
        f" of the {CAP:.0f}/s cap (steady middle 80%: {result.steady_rate:.1f} msg/s ="
        f" {result.steady_rate / CAP:.0%})",
        f"  total: {result.total_seconds:.0f} s; 429 answers: {result.retry_after}",
        "  worker peak memory: RSS "
        + ", ".join(f"{p:.0f} MiB" for p in result.peak_rss_mib)
        + "; Python allocations while sending "
        + ", ".join(f"{p:.1f} MiB" for p in result.peak_traced_mib),
        f"  exactly one copy: {result.copies.get(1, 0):,}; lost: {result.lost};"
        f" duplicated: {result.duplicated}",
    ]
    if result.stopped_after is not None:
        lines.append(
            f"  stopped after {result.stopped_after:,} messages; rows in `sending` left by the"
            f" stopped worker (the bound on duplicates): {result.in_flight_at_stop}"
        )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    print(f"database: {args.db}; members: {args.members:,}; runs: {', '.join(args.runs)}")
    for name in args.runs:
        with tempfile.TemporaryDirectory() as tmp:
            result = await one_run(name, args.db, args.members, Path(tmp))
        print(report(result), flush=True)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode")
    worker = sub.add_parser("worker", help="(internal) run one delivery worker")
    worker.add_argument("--database-url", required=True)
    worker.add_argument("--api", required=True)
    worker.add_argument("--files", required=True)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--runs",
        nargs="+",
        choices=("clean", "sigkill", "sigterm"),
        default=["clean", "sigkill", "sigterm"],
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed for the stop point")
    args = parser.parse_args()
    if args.mode == "worker":
        asyncio.run(run_worker(args.database_url, args.api, args.files))
        return
    if args.seed is not None:
        random.seed(args.seed)
    asyncio.run(main(args))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    cli()
