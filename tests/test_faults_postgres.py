"""PostgreSQL restarted while the bot runs: members get "try again in a moment", then service
resumes by itself. Uses a private PostgreSQL server (initdb in a temp folder, its own port), so
the shared one is never disturbed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from glob import glob
from pathlib import Path

import pytest

from bot.tryout import BotApiEmulator
from storage.db import Database
from storage.migrate import upgrade
from tests.support import FakeClock, Harness, make_settings


def _pg_bin() -> Path | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivatePostgres:
    def __init__(self, bindir: Path, folder: Path) -> None:
        self.bindir, self.folder, self.port = bindir, folder, _free_port()
        self.data = folder / "data"

    def _as_postgres(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        log = str(self.folder / "server.log")  # the server must not hold our output pipes
        self._as_postgres("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def private_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start a private PostgreSQL")
    server = PrivatePostgres(bindir, Path(f"/tmp/pgfault-{os.getpid()}-{_free_port()}"))
    try:
        server.init()
        server.start()
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"could not start a private PostgreSQL: {exc.stderr.decode()[-300:]}")
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture
async def pg_bot(
    private_postgres: PrivatePostgres, emulator: BotApiEmulator, tmp_path: Path
) -> AsyncIterator[tuple[Harness, PrivatePostgres]]:
    db = Database(private_postgres.url)
    await upgrade(db.engine)
    harness = Harness(emulator, db, make_settings(emulator, db.url, tmp_path), FakeClock())
    await harness.start()
    try:
        yield harness, private_postgres
    finally:
        await harness.stop()
        await db.dispose()


async def test_bot_survives_a_postgres_restart(pg_bot: tuple[Harness, PrivatePostgres]) -> None:
    bot, server = pg_bot
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1501)
    user = bot.emu.user(1501)
    await user.send_command("help")
    await bot.emu.wait_for(1501, "本助手可以")

    await asyncio.to_thread(server.stop)
    await user.send_command("help")
    down = await bot.emu.wait_for(1501, timeout=30)
    assert "稍等片刻" in (down.text or "")

    await asyncio.to_thread(server.start)
    await user.send_command("help")
    back = await bot.emu.wait_for(1501, timeout=30)
    assert "本助手可以" in (back.text or "")
