"""The try-out package (bot/tryout): the runtime never imports it, and the two commands that use
it, `cppcc-bot demo-data` and `cppcc-bot console`, work as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.support import run_cli

ROOT = Path(__file__).resolve().parent.parent

_IMPORT_THE_RUNTIME = """
import importlib, pathlib, sys
for top in ("bot", "handlers", "storage"):
    for path in sorted(pathlib.Path(top).rglob("*.py")):
        name = ".".join(path.with_suffix("").parts).removesuffix(".__init__")
        if not name.startswith(("bot.tryout", "storage.migrations")):
            importlib.import_module(name)
loaded = sorted(name for name in sys.modules if name.startswith("bot.tryout"))
print(loaded)
sys.exit(1 if loaded or "bot.app" not in sys.modules else 0)
"""


def test_the_runtime_never_imports_the_tryout_package() -> None:
    """Every module of bot/, handlers/ and storage/ imported: the emulator, console and demo
    data stay out (bot.cli loads them only inside their commands)."""
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_THE_RUNTIME],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


async def test_demo_data_then_the_console_answers_a_command(tmp_path: Path) -> None:
    demo = await asyncio.to_thread(run_cli, tmp_path, "demo-data")
    assert demo.returncode == 0, demo.stderr
    assert "demo roster: 32 created" in demo.stdout

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    environ["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    console = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "console",
        cwd=tmp_path,
        env=environ,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert console.stdin is not None and console.stdout is not None
    output = ""
    try:
        async with asyncio.timeout(60):
            while "You are " not in output:
                output += (await console.stdout.read(4096)).decode()
            console.stdin.write(b"/start\n")
            await console.stdin.drain()
            while "] bot: " not in output:
                chunk = await console.stdout.read(4096)
                assert chunk, output
                output += chunk.decode()
            console.stdin.write(b"/quit\n")
            await console.stdin.drain()
            _, errors = await console.communicate()
    finally:
        if console.returncode is None:
            console.kill()
            await console.wait()
    assert console.returncode == 0, errors.decode()
    assert "You are 林文华" in output  # the first demo member
