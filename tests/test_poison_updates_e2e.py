"""One update the library cannot read never stops the bot: it is quarantined, logged once by id
and kind (never its payload), and every other update flows on — polling and webhook, SQLite and
PostgreSQL, and after a restart."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.channels import TELEGRAM
from bot.log_budget import RepeatLimiter
from bot.runner import SECRET_HEADER, WEBHOOK_PATH
from bot.tryout import BotApiEmulator
from storage.db import Database
from storage.models import InboxUpdate, QuarantinedUpdate
from tests.support import (
    WEBHOOK_SECRET,
    FakeClock,
    Harness,
    fresh_database,
    make_settings,
    run_cli,
    webhook_bot,
)

MEMBER = 1701
PHONE_DIGITS = "13912345678"
ROOT = Path(__file__).resolve().parent.parent


def _poisons() -> dict[str, dict[str, Any]]:
    """The kinds seen in the field, each carrying a phone number that must not reach the log."""
    sender = {"id": 1799, "is_bot": False, "first_name": "x"}
    return {
        # PTB: KeyError 'date'.
        "minimal": {"message": {"message_id": 1, "text": f"hi {PHONE_DIGITS}"}},
        # PTB: TypeError, a field required since Bot API 9.6 (a member forwarded a poll).
        "poll": {
            "message": {
                "message_id": 4,
                "date": 1700000000,
                "chat": {"id": MEMBER, "type": "private"},
                "from": {"id": MEMBER, "is_bot": False, "first_name": "x"},
                "poll": {
                    "id": "1",
                    "question": f"q {PHONE_DIGITS}",
                    "options": [],
                    "total_voter_count": 0,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                },
            }
        },
        # Parsed by PTB, but no handler can answer a message that belongs to no chat.
        "no_chat": {
            "message": {
                "message_id": 2,
                "date": 1700000000,
                "from": sender,
                "contact": {"phone_number": PHONE_DIGITS, "first_name": "x", "user_id": 1799},
            }
        },
        # Parsed by PTB; text filters and handlers expect a string.
        "number_text": {
            "message": {
                "message_id": 3,
                "date": 1700000000,
                "chat": {"id": 1799, "type": "private"},
                "from": sender,
                "text": int(PHONE_DIGITS),
            }
        },
    }


async def _quarantined(db: Database) -> list[QuarantinedUpdate]:
    async with db.read() as session:
        return list(await session.scalars(select(QuarantinedUpdate).order_by(QuarantinedUpdate.id)))


async def _inbox_drains(db: Database) -> bool:
    """Handled updates leave the inbox (it flushes every half second): nothing is left to replay."""
    for _ in range(50):
        async with db.read() as session:
            if await session.scalar(select(func.count()).select_from(InboxUpdate)) == 0:
                return True
        await asyncio.sleep(0.1)
    return False


async def _canary(emu: BotApiEmulator, user_id: int) -> None:
    """A member's message sent after the poison is answered within a few seconds."""
    before = len(emu.messages_to(user_id))
    await emu.user(user_id).send_command("help")
    await emu.wait_for(user_id, lambda m: "本助手可以" in (m.text or ""), timeout=5)
    assert len(emu.messages_to(user_id)) > before


@pytest.fixture(params=["sqlite", "postgresql"])
async def polling_bot(
    request: pytest.FixtureRequest, emulator: BotApiEmulator, tmp_path: Path
) -> AsyncIterator[Harness]:
    async with fresh_database(request.param, tmp_path) as database:
        harness = Harness(
            emulator, database, make_settings(emulator, database.url, tmp_path), FakeClock()
        )
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()


async def test_polling_quarantines_poison_and_answers_the_rest(
    polling_bot: Harness, root_log: io.StringIO
) -> None:
    bot = polling_bot
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=MEMBER)
    emu = bot.emu
    # One batch: good and poisoned updates mixed, the poison last (the case where only its own
    # id can move the offset on).
    ids = {}
    await emu.user(MEMBER).send_text("谢谢")
    for kind, raw in _poisons().items():
        ids[kind] = emu.inject_update(raw)
    await _canary(emu, MEMBER)
    assert emu.pending_updates == 0  # every update, poison included, was confirmed

    rows = await _quarantined(bot.db)
    assert Counter((r.channel, r.update_id) for r in rows) == Counter(
        (TELEGRAM, i) for i in ids.values()
    )
    assert {r.kind for r in rows} == {"message"}
    by_id = {r.update_id: r for r in rows}
    assert "allows_revoting" in by_id[ids["poll"]].error
    assert json.loads(by_id[ids["minimal"]].raw)["message"]["text"].endswith(PHONE_DIGITS)

    # After a restart nothing sticks: the poison is not replayed, members are answered.
    await bot.restart()
    await _canary(emu, MEMBER)
    assert len(await _quarantined(bot.db)) == len(ids)
    assert await _inbox_drains(bot.db)

    log = root_log.getvalue()
    assert PHONE_DIGITS not in log, [line for line in log.splitlines() if PHONE_DIGITS in line]
    warnings = [line for line in log.splitlines() if "quarantined" in line]
    for update_id in ids.values():
        assert sum(f"update {update_id} " in line for line in warnings) == 1, warnings
    assert all(line.startswith("WARNING") for line in warnings)


async def test_a_redelivered_poison_is_quarantined_once(polling_bot: Harness) -> None:
    bot = polling_bot
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=MEMBER)
    raw = dict(_poisons()["poll"], update_id=424242)
    bot.emu.inject_update(raw)
    await _canary(bot.emu, MEMBER)
    bot.emu.inject_update(raw)  # Telegram sends it again (e.g. our confirmation was lost)
    await _canary(bot.emu, MEMBER)
    assert [r.update_id for r in await _quarantined(bot.db)] == [424242]


async def test_poison_kept_by_an_older_version_is_quarantined_at_start(
    bot: Harness,
) -> None:
    """An inbox row left by a version that did not screen updates is never replayed again."""
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=MEMBER)
    await bot.stop()
    async with bot.db.transaction() as session:
        session.add(
            InboxUpdate(update_id=5151, payload=dict(_poisons()["minimal"], update_id=5151))
        )
    await bot.start()
    await _canary(bot.emu, MEMBER)
    assert [r.update_id for r in await _quarantined(bot.db)] == [5151]
    async with bot.db.read() as session:
        assert await session.get(InboxUpdate, 5151) is None


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_webhook_answers_poison_200_and_bad_bodies_400(
    emulator: BotApiEmulator, tmp_path: Path, kind: str, root_log: io.StringIO
) -> None:
    async with (
        fresh_database(kind, tmp_path) as db,
        webhook_bot(emulator, db, tmp_path) as runner,
    ):
        harness = Harness(emulator, db, runner.settings, FakeClock())
        await harness.add_member("陈静", "+8613900139000", telegram_user_id=MEMBER)
        # Through the emulator, as Telegram would post them; it retries anything but a 2xx,
        # holding back every update behind it, so the canary proves each poison got a 200.
        ids = [emulator.inject_update(raw) for raw in _poisons().values()]
        await _canary(emulator, MEMBER)
        assert Counter((r.channel, r.update_id) for r in await _quarantined(db)) == Counter(
            (TELEGRAM, i) for i in ids
        )

        url = f"http://127.0.0.1:{runner.port}{WEBHOOK_PATH}"
        headers = {SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as http:
            for body in (b"[1, 2]", b'"text"', b"null", b"{not json", b"\xff\xfe", b""):
                async with http.post(url, data=body, headers=headers) as response:
                    assert response.status == 400, body
            poison = dict(_poisons()["no_chat"], update_id=888)
            async with http.post(url, data=json.dumps(poison), headers=headers) as response:
                assert response.status == 200
        await _canary(emulator, MEMBER)
        assert 888 in {r.update_id for r in await _quarantined(db)}
    assert PHONE_DIGITS not in root_log.getvalue()


async def test_webhook_closes_connections_that_send_too_slowly(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """A client that opens connections and never finishes its request does not hold them."""
    async with (
        fresh_database("sqlite", tmp_path) as db,
        webhook_bot(emulator, db, tmp_path, webhook_read_timeout=1.0) as runner,
    ):
        assert runner.port is not None
        streams = [await asyncio.open_connection("127.0.0.1", runner.port) for _ in range(20)]
        for _, writer in streams:  # headers begun, never finished
            writer.write(b"POST /telegram HTTP/1.1\r\nHost: x\r\n")
            await writer.drain()
        slow_body_reader, slow_body = await asyncio.open_connection("127.0.0.1", runner.port)
        slow_body.write(
            f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: {WEBHOOK_SECRET}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
        )
        await slow_body.drain()
        started = asyncio.get_running_loop().time()
        for reader, _ in streams:
            assert await asyncio.wait_for(reader.read(), timeout=5) is not None  # closed: EOF
        status_line = await asyncio.wait_for(slow_body_reader.readline(), timeout=5)
        assert b" 408 " in status_line
        await asyncio.wait_for(slow_body_reader.read(), timeout=5)  # then closed
        assert asyncio.get_running_loop().time() - started < 5
        for _, writer in [*streams, (slow_body_reader, slow_body)]:
            writer.close()


def test_a_failure_loop_is_logged_once_per_interval_with_a_count() -> None:
    """A library retrying at once (PTB's polling loop did, 1–3 MB/s) writes one line."""
    now = [0.0]
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RepeatLimiter(burst=3, interval=60, clock=lambda: now[0]))
    logger = logging.getLogger("telegram.ext.Updater.test_loop")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for attempt in range(10_000):
            logger.error("Exception happened while polling for updates (%s)", attempt)
        now[0] = 61
        logger.error("Exception happened while polling for updates (%s)", "last")
    finally:
        logger.removeHandler(handler)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 4, lines
    assert "repeated 9997 more times" in lines[3]


async def test_dropped_redeliveries_are_counted_in_the_log(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.updates")
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=MEMBER)
    user = bot.emu.user(MEMBER)
    update_id = await user.send_command("help")
    await bot.emu.wait_for(MEMBER, "本助手可以")
    original = next(c for c in bot.emu.calls if c.method == "getUpdates" and c.result)
    raw = next(u for u in original.result if u["update_id"] == update_id)
    bot.emu.inject_update(raw)
    await _canary(bot.emu, MEMBER)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.updates"]
    assert lines == ["dropped 1 updates already handled (redelivered by Telegram or replayed)"]


def test_cli_lists_shows_and_drops_quarantined_updates(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(tmp_path, "updates", "quarantine", *args)

    assert cli().stdout.strip() == "no quarantined updates"
    asyncio.run(_quarantine_one(f"sqlite+aiosqlite:///{tmp_path}/cli.db"))
    listed = cli()
    assert listed.returncode == 0
    assert "update 31337" in listed.stdout and "message" in listed.stdout
    assert PHONE_DIGITS not in listed.stdout  # the payload only on request
    entry = listed.stdout.split()[0].lstrip("#")
    shown = cli("--show", entry)
    assert PHONE_DIGITS in shown.stdout
    dropped = cli("--drop", entry)
    assert dropped.stdout.strip() == "dropped 1 of 1 quarantined updates"
    assert cli().stdout.strip() == "no quarantined updates"
    assert cli("--drop", entry).returncode == 1


async def _quarantine_one(url: str) -> None:
    from storage import quarantine
    from storage.migrate import upgrade

    db = Database(url)
    try:
        await upgrade(db.engine)
        raw = dict(_poisons()["poll"], update_id=31337)
        async with db.transaction() as session:
            await quarantine.keep(
                session,
                channel="telegram",
                update_id=31337,
                kind="message",
                raw=json.dumps(raw),
                error="TypeError: allows_revoting",
            )
    finally:
        await db.dispose()


async def test_control_characters_are_cleaned_as_updates_arrive(polling_bot: Harness) -> None:
    """A NUL in a name failed the write on PostgreSQL (every /start of that admin answered
    "something went wrong"); a vertical tab broke the exports. Both are replaced as the update
    arrives (a command's entity moved to match, so it still reads as one)."""
    from storage.models import Member
    from tests.support import ADMIN_ID

    bot = polling_bot
    admin = bot.emu.user(ADMIN_ID, "管理\x00员\x0b组")
    await admin.send_command("start")
    await bot.emu.wait_for(ADMIN_ID, lambda m: "管理" in (m.text or ""), timeout=10)
    async with bot.db.read() as session:
        names = list(await session.scalars(select(Member.name)))
    assert names == ["管理员\n组"]
    assert not [m for m in bot.emu.messages_to(ADMIN_ID) if "出了点问题" in (m.text or "")]
    # A command after a control character: its entity moved with the text, it still works.
    bot.emu.inject_update(
        {
            "message": {
                "message_id": 90,
                "date": 1700000000,
                "chat": {"id": ADMIN_ID, "type": "private"},
                "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "x"},
                "text": "\x00\x01/help",
                "entities": [{"type": "bot_command", "offset": 2, "length": 5}],
            }
        }
    )
    await bot.emu.wait_for(ADMIN_ID, lambda m: "/invite" in (m.text or ""), timeout=5)
