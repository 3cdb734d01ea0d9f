"""Fixtures: `db` runs a storage test on SQLite and PostgreSQL; `bot` is the e2e harness."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot import log_privacy
from bot.cli import LIBRARY_FLOORS, configure_logging
from bot.log_budget import RepeatLimiter
from bot.tryout import BotApiEmulator
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


# The filters configure_logging attaches to every root handler (pytest's own included).
_OUR_FILTERS = (log_privacy.HideDatabaseValues, log_privacy.HideUpdatePayloads, RepeatLimiter)


@pytest.fixture
def root_log() -> Iterator[io.StringIO]:
    """What reaches the root logger's handlers once configure_logging("DEBUG") has run."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    names = ["", *LIBRARY_FLOORS]
    levels = {name: logging.getLogger(name).level for name in names}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    configure_logging("DEBUG")
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        for other in root.handlers:
            for item in [f for f in other.filters if isinstance(f, _OUR_FILTERS)]:
                other.removeFilter(item)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
