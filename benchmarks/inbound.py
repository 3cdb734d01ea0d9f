"""Inbound throughput and handler latency of the real bot, against its framework's floor.

N simulated members each run real flows as fast as the bot answers (send, wait for the answer,
send the next). The bot runs as `cppcc-bot run` in its own process, polling a Bot API emulator in
this process; the floor is a bare PTB echo bot under the same load on the same emulator.

    .venv/bin/python -m benchmarks.inbound --members 50 --seconds 20 --db sqlite
    .venv/bin/python -m benchmarks.inbound --db postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import insert_bound_members, machine, percentile, scratch_database
from bot.tryout import ApiCall, BotApiEmulator, SentMessage, SimUser
from storage.db import Database
from storage.models import Role
from storage.models.activities import (
    Activity,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    TargetKind,
)

FIRST_USER_ID = 5_000_000
ANSWER_METHODS = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendDocument"}
Step = tuple[str, Callable[[SimUser], Awaitable[int]]]


def _last_with_buttons(user: SimUser) -> SentMessage | None:
    for message in reversed(user.messages()):
        if message.buttons() and not message.deleted:
            return message
    return None


async def _open_first_activity(user: SimUser) -> int:
    listing = _last_with_buttons(user)
    if listing is None:
        return await user.send_command("menu")
    return await user.tap(listing, listing.buttons()[0])


async def _toggle_signup(user: SimUser) -> int:
    card = _last_with_buttons(user)
    if card is None:
        return await user.send_command("menu")
    labels = card.buttons()
    for label in (SIGN_UP, CANCEL):
        if label in labels:
            return await user.tap(card, label)
    return await user.tap(card, labels[0])


SIGN_UP, CANCEL = "✅ 报名", "↩️ 取消报名"
# The flows a member runs, in a cycle: open the menu, browse activities, open one, sign up (or
# cancel, on the next round), submit a short report as a free message. One answer each.
MEMBER_STEPS: list[Step] = [
    ("menu", lambda u: u.send_command("menu")),
    ("browse activities", lambda u: u.send_text("📅 活动报名")),
    ("open activity card", _open_first_activity),
    ("sign up / cancel", _toggle_signup),
    ("quick report", lambda u: u.send_text("小区路灯坏了两个月，晚上出行不便，建议尽快维修。")),
]
ECHO_STEPS: list[Step] = [("echo", lambda u: u.send_text("你好"))]


@dataclass
class Load:
    """Closed-loop load: every member waits for the answer before the next update."""

    emu: BotApiEmulator
    steps: list[Step]
    latencies: dict[str, list[float]] = field(default_factory=dict)
    answered: dict[int, asyncio.Event] = field(default_factory=dict)  # user id → chat answer
    tapped: dict[str, asyncio.Event] = field(default_factory=dict)  # query id → button answer

    def on_call(self, call: ApiCall) -> None:
        """An answer: a message or an edit in the chat, or a button's spinner stopped. A step is
        done when both of its answers have come (a tap has two), so a late second answer is
        never taken for the next step's."""
        if call.method == "answerCallbackQuery":
            tapped = self.tapped.pop(str(call.params.get("callback_query_id")), None)
            if tapped is not None:
                tapped.set()
        elif call.method in ANSWER_METHODS and call.chat_id is not None:
            waiting = self.answered.get(call.chat_id)
            if waiting is not None:
                waiting.set()

    async def member(self, user: SimUser, deadline: float) -> None:
        index = user.user_id % len(self.steps)
        while time.perf_counter() < deadline:
            name, send = self.steps[index % len(self.steps)]
            index += 1
            event = self.answered[user.user_id] = asyncio.Event()
            started = time.perf_counter()
            update_id = await send(user)
            waits = [event.wait()]
            if self.emu.callback_unanswered(str(update_id)):
                tapped = self.tapped[str(update_id)] = asyncio.Event()
                waits.append(tapped.wait())
            try:
                await asyncio.wait_for(asyncio.gather(*waits), timeout=10)
            except TimeoutError:
                self.latencies.setdefault("timeout", []).append(10.0)
                continue
            self.latencies.setdefault(name, []).append(time.perf_counter() - started)

    async def run(self, members: int, seconds: float, pid: int) -> tuple[int, float, float, float]:
        """Updates answered, seconds taken, CPU seconds of the bot and of this process."""
        self.emu.add_call_listener(self.on_call)
        users = [self.emu.user(FIRST_USER_ID + i, f"委员{i}") for i in range(members)]
        # Warm up: one round for every member, not counted.
        warm = time.perf_counter() + 2
        await asyncio.gather(*(self.member(u, warm) for u in users))
        self.latencies.clear()
        # The load generator's own full garbage collections (the emulator keeps every message)
        # paused all simulated members at once for up to half a second, which showed up as the
        # bot's latency; it collects after the measured run instead.
        gc.collect()
        gc.disable()
        started, bot_cpu, load_cpu = time.perf_counter(), _cpu_seconds(pid), time.process_time()
        try:
            await asyncio.gather(*(self.member(u, started + seconds) for u in users))
        finally:
            gc.enable()
        elapsed = time.perf_counter() - started
        bot_cpu, load_cpu = _cpu_seconds(pid) - bot_cpu, time.process_time() - load_cpu
        done = sum(len(v) for k, v in self.latencies.items() if k != "timeout")
        return done, elapsed, bot_cpu, load_cpu


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads (Linux /proc), 0 where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _roster(db: Database, members: int) -> None:
    """Bound members, and five upcoming activities open to everyone without a place limit."""
    start = datetime.now(UTC) + timedelta(days=7)
    async with db.transaction() as session:
        for i in range(5):
            activity = Activity(
                type=ActivityType.visit,
                status=ActivityStatus.published,
                title=f"走进政协 第{i + 1}期",
                place="政协大楼",
                starts_at=start + timedelta(days=i),
                ends_at=start + timedelta(days=i, hours=2),
                published_at=datetime.now(UTC),
            )
            session.add(activity)
            await session.flush()
            session.add(ActivityTarget(activity_id=activity.id, kind=TargetKind.everyone))
        rows: list[dict[str, object]] = [
            {"name": f"委员{i}", "phone": f"+86139{i:08d}", "role": Role.member}
            for i in range(members)
        ]
        await insert_bound_members(session, rows, [FIRST_USER_ID + i for i in range(members)])


async def _start_process(args: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    command = [sys.executable, *args]
    profile = os.environ.get("BENCH_PROFILE")  # e.g. /tmp/bot.svg: record the bot with py-spy
    if profile and "bot.cli" in args and profile.endswith(".pstats"):
        command = [sys.executable, "-m", "cProfile", "-o", profile, *args]
    elif profile and "bot.cli" in args:
        command = ["py-spy", "record", "--format", "raw", "-o", profile, "--", *command]
    return await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )


async def _measure(
    label: str, command: list[str], env: dict[str, str], steps: list[Step], members: int,
    seconds: float,
) -> tuple[float, dict[str, list[float]]]:  # fmt: skip
    emu = BotApiEmulator(enforce_limits=False)
    await emu.start()
    env = {
        **env,
        "BOT_TOKEN": emu.token,
        "TELEGRAM_API_BASE_URL": emu.base_url,
        "TELEGRAM_FILE_BASE_URL": emu.base_file_url,
    }
    process = await _start_process(command, env)
    try:
        await emu.wait_for_call("getUpdates", timeout=60)
        load = Load(emu, steps)
        done, elapsed, bot_cpu, load_cpu = await load.run(members, seconds, process.pid)
    finally:
        process.send_signal(signal.SIGINT)  # the bot (and py-spy) stop cleanly on SIGINT
        await process.wait()
        await emu.stop()
    rate = done / elapsed
    everything = [x for k, v in load.latencies.items() if k != "timeout" for x in v]
    timeouts = len(load.latencies.get("timeout", []))
    print(
        f"{label:<28} {rate:8.1f} updates/s  p50 {percentile(everything, 50) * 1000:6.1f} ms  "
        f"p95 {percentile(everything, 95) * 1000:6.1f} ms  "
        f"p99 {percentile(everything, 99) * 1000:6.1f} ms  ({done} answered, {timeouts} timeouts)"
    )
    print(
        f"{'':<28} CPU per update: bot {bot_cpu / done * 1000:5.2f} ms, "
        f"emulator and simulated members {load_cpu / done * 1000:5.2f} ms"
    )
    return rate, load.latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"load: {args.members} members, {args.seconds:.0f} s each run, database {args.db}")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    base_env["LOG_LEVEL"] = "WARNING"
    with tempfile.TemporaryDirectory() as folder:
        async with scratch_database(args.db, Path(folder)) as db:
            await _roster(db, args.members)
            bot_env = {**base_env, "DATABASE_URL": db.url, "DATA_DIR": folder}
            echo = [str(Path(__file__).with_name("echo_bot.py"))]
            echo_rate, _ = await _measure(
                "floor: bare PTB echo bot", echo, base_env, ECHO_STEPS, args.members, args.seconds
            )
            ours_rate, _ = await _measure(
                "floor, our HTTP client+loop", echo, {**base_env, "FLOOR_AS_OURS": "1"},
                ECHO_STEPS, args.members, args.seconds,
            )  # fmt: skip
            bot_rate, latencies = await _measure(
                f"cppcc-bot ({args.db})", ["-m", "bot.cli", "run"], bot_env, MEMBER_STEPS,
                args.members, args.seconds,
            )  # fmt: skip
    for name, values in sorted(latencies.items()):
        if name != "timeout":
            print(
                f"  step {name:<20} n={len(values):6d}  p50 {percentile(values, 50) * 1000:6.1f} ms"
                f"  p99 {percentile(values, 99) * 1000:6.1f} ms"
            )
    print(
        f"ratio to the floor: {bot_rate / echo_rate:.2f} "
        f"(to the floor on our HTTP client and event loop: {bot_rate / ours_rate:.2f})"
    )


if __name__ == "__main__":
    asyncio.run(main())
