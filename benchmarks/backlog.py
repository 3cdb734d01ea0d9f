"""Backlog drain: 50,000 updates queued while the bot was down, then the bot starts.

2,000 bound members wrote while the bot was down, 25 updates each, in a realistic mix: commands
(/menu, /help), free text, main-menu buttons (activities, my reports) and inline-button taps
(opening an activity card). The Bot API emulator in this process holds them for getUpdates,
without Telegram's flood limits (as in benchmarks/inbound.py: this measures the bot, not
Telegram's 30 messages/s; --telegram-limits turns them on). Then the bot starts as
`python -m bot.cli run` in its own process and drains the queue.

Measured: start-up (process start to first getUpdates), drain time (first getUpdates to the
last answer), throughput, the bot's peak memory. Checked: every update got exactly its one
answer (each of these updates is answered with one message; a tap also answers its callback
query), so nothing was dropped and nothing answered twice.

With --kill-at F the bot is killed with SIGKILL once a fraction F of the updates was answered,
and started again: the updates it had fetched but not handled come back from the inbox
(bot/inbox.py); only those inside a handler at that moment may go unanswered.

    .venv/bin/python -m benchmarks.backlog                       # 50,000 updates, SQLite
    .venv/bin/python -m benchmarks.backlog --db postgresql
    .venv/bin/python -m benchmarks.backlog --updates 5000 --kill-at 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from benchmarks.common import insert_bound_members, machine, scratch_database
from bot.tryout import ApiCall, BotApiEmulator, SentMessage, SimUser
from storage.db import Database
from storage.models import (
    Activity,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    Role,
    TargetKind,
    utcnow,
)

FIRST_USER_ID = 6_000_000
ROOT = Path(__file__).resolve().parent.parent

Send = Callable[[SimUser], Awaitable[int]]


def mix(activity_ids: list[int]) -> list[tuple[str, int, Send]]:
    """(name, weight, how to send it): what members send, and how often."""
    return [
        ("/menu", 15, lambda u: u.send_command("menu")),
        ("/help", 10, lambda u: u.send_command("help")),
        ("free text", 20, lambda u: u.send_text("你好")),
        ("button: activities", 20, lambda u: u.send_text("📅 活动报名")),
        ("button: my reports", 10, lambda u: u.send_text("📋 我的社情民意")),
        (
            "tap: open an activity",
            25,
            lambda u: u.send_callback(1, f"act:open:{activity_ids[u.user_id % len(activity_ids)]}"),
        ),
    ]


@dataclass
class Drain:
    """Counts answers as the emulator sees them."""

    emu: BotApiEmulator
    messages: Counter[int] = field(default_factory=Counter)  # chat -> bot messages sent
    answered_queries: int = 0
    first_poll: float | None = None
    last_answer: float = 0.0

    def on_message(self, event: str, message: SentMessage) -> None:
        if event == "sent":
            self.messages[message.chat_id] += 1
            self.last_answer = time.perf_counter()

    def on_call(self, call: ApiCall) -> None:
        if call.method == "getUpdates" and self.first_poll is None:
            self.first_poll = time.perf_counter()
        elif call.method == "answerCallbackQuery":
            self.answered_queries += 1
            self.last_answer = time.perf_counter()

    @property
    def answered(self) -> int:
        return sum(self.messages.values())


async def seed(db: Database, members: int) -> list[int]:
    """The roster (bound members) and three published activities everyone is invited to."""
    now = utcnow()
    async with db.transaction() as session:
        rows = [
            {
                "name": f"委员{i:04d}",
                "phone": f"+86139{i:08d}",
                "role": Role.member,
                "reachable": True,
                "active": True,
                "bound_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(members)
        ]
        await insert_bound_members(session, rows, [FIRST_USER_ID + i for i in range(members)])
        ids = []
        for n, title in enumerate(("走进政协开放日", "社区养老服务微协商", "乡村振兴专题调研")):
            starts = now + timedelta(days=7 + n)
            activity = Activity(
                type=ActivityType.visit,
                status=ActivityStatus.published,
                title=title,
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                place="政协大楼",
                capacity=500,
                published_at=now,
            )
            session.add(activity)
            await session.flush()
            session.add(ActivityTarget(activity_id=activity.id, kind=TargetKind.everyone))
            ids.append(activity.id)
    return ids


async def queue_backlog(
    emu: BotApiEmulator, members: int, updates: int, activity_ids: list[int], rng: random.Random
) -> tuple[Counter[int], int, Counter[str]]:
    """Queue the updates (each member's in order, members interleaved at random)."""
    kinds = mix(activity_ids)
    weights = [w for _, w, _ in kinds]
    users = [emu.user(FIRST_USER_ID + i, f"委员{i:04d}") for i in range(members)]
    order = [i % members for i in range(updates)]
    rng.shuffle(order)
    expected: Counter[int] = Counter()
    taps = 0
    names: Counter[str] = Counter()
    for index in order:
        name, _, send = rng.choices(kinds, weights)[0]
        user = users[index]
        await send(user)
        expected[user.user_id] += 1  # every one of these is answered with one message
        taps += name.startswith("tap")
        names[name] += 1
    return expected, taps, names


async def start_bot(env: dict[str, str], folder: Path, n: int) -> asyncio.subprocess.Process:
    with (folder / f"bot-{n}.log").open("wb") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip


def peak_rss_mib(pid: int) -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    emu = BotApiEmulator(enforce_limits=args.telegram_limits)
    await emu.start()
    drain = Drain(emu)
    emu.add_listener(drain.on_message)
    emu.add_call_listener(drain.on_call)
    folder = Path(tempfile.mkdtemp(prefix="backlog-"))
    try:
        async with scratch_database(args.db, folder) as db:
            activity_ids = await seed(db, args.members)
            queued_at = time.perf_counter()
            expected, taps, names = await queue_backlog(
                emu, args.members, args.updates, activity_ids, rng
            )
            queue_seconds = time.perf_counter() - queued_at
            print(
                f"queued {args.updates:,} updates from {args.members:,} members while the bot was"
                f" down ({queue_seconds:.1f} s): "
                + ", ".join(f"{name} {n:,}" for name, n in names.most_common())
            )
            env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
            env.update(
                BOT_TOKEN=emu.token,
                TELEGRAM_API_BASE_URL=emu.base_url,
                TELEGRAM_FILE_BASE_URL=emu.base_file_url,
                DATABASE_URL=db.url,
                DATA_DIR=str(folder / "data"),
                LOG_LEVEL="WARNING",
            )
            total = sum(expected.values())
            started = time.perf_counter()
            bot = await start_bot(env, folder, 0)
            peaks: list[float] = []
            killed_after: int | None = None
            last_report = last_progress = started
            seen = 0
            while drain.answered < total or drain.answered_queries < taps:
                await asyncio.sleep(0.2)
                now = time.perf_counter()
                if drain.answered != seen:
                    seen, last_progress = drain.answered, now
                elif now - last_progress > args.stall and drain.first_poll is not None:
                    print(f"  no answer for {args.stall:.0f} s: stopping")
                    break
                if bot.returncode is not None:
                    log = (folder / "bot-0.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"the bot exited with {bot.returncode}\n{log}")
                kill_now = args.kill_at is not None and drain.answered >= args.kill_at * total
                if kill_now and killed_after is None:
                    peaks.append(peak_rss_mib(bot.pid))
                    bot.kill()
                    await bot.wait()
                    killed_after = drain.answered
                    print(f"  SIGKILL after {killed_after:,} answers; starting again")
                    bot = await start_bot(env, folder, 1)
                if now - last_report >= 15:
                    last_report = now
                    print(f"  {now - started:5.0f} s: {drain.answered:,} answered", flush=True)
            # Anything answered twice shows up within moments of the last answer.
            await asyncio.sleep(2.0)
            peaks.append(peak_rss_mib(bot.pid))
            bot.terminate()
            await bot.wait()
    finally:
        await emu.stop()
    assert drain.first_poll is not None
    startup = drain.first_poll - started
    seconds = drain.last_answer - drain.first_poll
    missing = sum(max(0, n - drain.messages[chat]) for chat, n in expected.items())
    doubled = sum(max(0, drain.messages[chat] - n) for chat, n in expected.items())
    unanswered_taps = taps - drain.answered_queries
    print(
        f"start-up (process start to first getUpdates): {startup:.1f} s\n"
        f"drain: {drain.answered:,} of {total:,} updates answered in {seconds:.1f} s"
        f" = {drain.answered / seconds:.0f} updates/s (first getUpdates to last answer)\n"
        f"bot peak memory (RSS): " + ", ".join(f"{p:.0f} MiB" for p in peaks) + "\n"
        f"unanswered: {missing} messages, {unanswered_taps} taps; answered twice: {doubled}"
        f"; 429 answers from the emulator: {emu.stats.retry_after_responses}"
    )
    if killed_after is not None:
        print(
            f"killed once with SIGKILL after {killed_after:,} answers; lost at most what was"
            f" inside a handler then (CONCURRENT_UPDATES, default 32)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=50_000)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--stall", type=float, default=30, help="stop when nothing was answered for this long"
    )
    parser.add_argument(
        "--telegram-limits",
        action="store_true",
        help="the emulator enforces Telegram's flood limits (30/s overall, 1/s per chat)",
    )
    parser.add_argument(
        "--kill-at", type=float, default=None, help="SIGKILL once this fraction was answered"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    limits = "Telegram's flood limits" if args.telegram_limits else "no flood limits"
    print(f"database: {args.db}; emulator: {limits}")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
