"""Fixtures: `db` runs a storage test on SQLite and PostgreSQL; `bot` is the e2e harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.emulator import BotApiEmulator
from storage.db import Database
from tests.support import TOKEN, FakeClock, Harness, fresh_database, make_settings


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with fresh_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emu = BotApiEmulator(TOKEN, per_chat_burst=20)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()
    assert not emu.unknown_methods, (
        f"the bot called methods the emulator does not know: {emu.unknown_methods}"
    )


@pytest.fixture
async def bot(emulator: BotApiEmulator, tmp_path: Path) -> AsyncIterator[Harness]:
    """The real bot on SQLite, polling the emulator; a FakeClock drives its time."""
    async with fresh_database("sqlite", tmp_path) as database:
        settings = make_settings(emulator, database.url, tmp_path)
        harness = Harness(emulator, database, settings, FakeClock())
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()
