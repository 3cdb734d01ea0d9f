"""`cppcc-bot console` as a person uses it: processes of their own reading stdin and writing stdout,
on the demo office, on SQLite and PostgreSQL. Sessions one after another and side by side are all
answered (update ids never repeat for one database), a message sent while someone's console was
not running is shown when it starts, a chart arrives as a saved PNG, buttons of any shown message
are pressed by their number, pop-ups are printed, multi-line input is one message."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from storage.db import Database
from tests.support import run_cli


class ConsoleProcess:
    """One `cppcc-bot console` process; what it printed so far, and waiting for more."""

    def __init__(self, tmp_path: Path, database_url: str, *args: str) -> None:
        self.tmp_path, self.database_url, self.args = tmp_path, database_url, args
        self.output = ""
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._mark = 0

    async def start(self) -> ConsoleProcess:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
        environ["DATABASE_URL"] = self.database_url
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "console",
            *self.args,
            cwd=self.tmp_path,
            env=environ,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        await self.expect("You are ")
        return self

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while chunk := await self._proc.stdout.read(4096):
            self.output += chunk.decode()

    async def expect(self, pattern: str, timeout: float = 30) -> re.Match[str]:  # noqa: ASYNC109
        """The first match of a regex in what was printed since the last expect."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = re.compile(pattern).search(self.output, self._mark)
            if found:
                self._mark = found.end()
                return found
            ended = self._reader is not None and self._reader.done()
            if ended or loop.time() > deadline:
                why = "console ended" if ended else f"nothing within {timeout}s"
                raise AssertionError(f"{why} matching {pattern!r}; it printed:\n{self.output}")
            await asyncio.sleep(0.05)

    def rewind(self) -> None:
        """The next expect looks at everything printed so far."""
        self._mark = 0

    async def send(self, text: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(text.encode() + b"\n")
        await self._proc.stdin.drain()

    async def quit(self) -> str:
        assert self._proc is not None
        assert self._proc.stderr is not None and self._reader is not None
        await self.send("/quit")
        async with asyncio.timeout(30):
            await self._reader
            errors = await self._proc.stderr.read()
            await self._proc.wait()
        assert self._proc.returncode == 0, errors.decode() + self.output
        return self.output

    async def kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()


async def _demo(tmp_path: Path, db: Database) -> None:
    done = await asyncio.to_thread(run_cli, tmp_path, "demo-data", database_url=db.url)
    assert done.returncode == 0, done.stderr
    assert "demo office: 3 activities" in done.stdout


RECORD = r"履职档案"


async def test_sessions_in_a_row_see_what_was_sent_while_away(tmp_path: Path, db: Database) -> None:
    await _demo(tmp_path, db)
    # 1. Staff first: their bot delivers the demo notices (to the members too) and draws a chart.
    staff = await ConsoleProcess(tmp_path, db.url, "--staff").start()
    try:
        await staff.expect(r"通知 #3 已全部处理完毕")
        await staff.send("/stats")
        chart = await staff.expect(r"file \(photo, \d+ bytes\): (\S+)")
        await staff.quit()
    finally:
        await staff.kill()
    path = Path(chart[1])
    assert path.suffix == ".png"
    assert (await asyncio.to_thread(path.read_bytes)).startswith(b"\x89PNG")  # it exists
    assert path.is_relative_to(tmp_path / "data" / "console" / "files")

    # 2. The member: the notices staff's console sent while they were away are shown at start.
    member = await ConsoleProcess(tmp_path, db.url).start()
    try:
        await member.expect(r"new for 林文华 since last time")
        await member.expect(r"关于报送2027年度提案线索的通知")
        ack = await member.expect(r"\[(\d+\.\d+)\] ✅ 收到")
        await member.send(f"[{ack[1]}]")  # a button of a message another console's bot sent
        await member.expect(r"bot \(edited\)[^\[]*关于召开[\s\S]*?已回执")
        await member.send(f"[{ack[1]}]")  # pressed twice: the bot answers with a pop-up
        await member.expect(r"\(pop-up\) 您已经回执过了")
        await member.send("/record")
        await member.expect(RECORD)
        await member.quit()
    finally:
        await member.kill()

    # 3. The member again (the ids of session 2 are not reused), and a two-line message.
    again = await ConsoleProcess(tmp_path, db.url, "--as", "13800000001").start()
    try:
        await again.send("/record")
        await again.expect(RECORD)
        await again.send('"""')
        await again.send("鼓楼区老旧小区加装电梯进展缓慢")
        await again.send("部分小区居民意见不一")
        await again.send('"""')
        # One message of two lines (the demo draft is open, so the bot offers to add it).
        await again.expect(r"要把刚才这条消息加入这份草稿吗")
        output = await again.quit()
    finally:
        await again.kill()
    assert "since last time" not in output  # all of it was seen in session 2


async def test_two_consoles_at_once_are_both_answered(tmp_path: Path, db: Database) -> None:
    await _demo(tmp_path, db)
    member = await ConsoleProcess(tmp_path, db.url).start()
    admin = await ConsoleProcess(tmp_path, db.url, "--admin").start()
    try:
        for _ in range(3):
            await member.send("/record")
            await admin.send("/record")
            await member.expect(RECORD)
            await admin.expect(r"机关管理员|" + RECORD)
        # The member answers a notice (whichever console's bot delivered it, shown here).
        member.rewind()
        number = (await member.expect(r"\[(\d+)\.1\] 参加"))[1]
        await member.send(f"[{number}.1]")
        await member.expect(r"已回执：参加")
        await member.send("/as 13800000002")
        await member.expect(r"You are 陈静")
        await member.send("/record")
        await member.expect(RECORD)
        await member.quit()
        await admin.quit()
    finally:
        await member.kill()
        await admin.kill()
