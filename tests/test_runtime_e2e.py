"""Running for real: webhook mode with its secret and health check, SIGTERM, roster upload."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.channels import TELEGRAM
from bot.runner import SECRET_HEADER, WEBHOOK_PATH, WebhookRunner
from bot.tryout import BotApiEmulator
from storage.db import Database
from storage.models import Identity, Member, ProcessedUpdate, Role
from tests import support
from tests.support import Harness, fresh_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def webhook_bot(
    emulator: BotApiEmulator, tmp_path: Path
) -> AsyncIterator[tuple[WebhookRunner, Database, int]]:
    async with (
        fresh_database("sqlite", tmp_path) as db,
        support.webhook_bot(emulator, db, tmp_path) as runner,
    ):
        assert runner.port is not None
        yield runner, db, runner.port


async def test_webhook_serves_updates_with_the_secret_and_refuses_others(
    webhook_bot: tuple[WebhookRunner, Database, int], emulator: BotApiEmulator
) -> None:
    _, db, port = webhook_bot
    assert emulator.webhook_url == f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    async with db.transaction() as session:
        member = Member(name="陈静", phone="+8613900139000")
        session.add(member)
        await session.flush()
        await support.bind_telegram(session, member.id, 1101)

    user = emulator.user(1101)
    await user.send_command("start")
    await emulator.wait_for(1101, "陈静")

    forged = {
        "update_id": 99,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 1101, "type": "private"},
            "from": {"id": 1101, "is_bot": False, "first_name": "x"},
            "text": "/start",
        },
    }
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        async with http.post(url, json=forged) as no_secret:
            assert no_secret.status == 403
        async with http.post(url, json=forged, headers={SECRET_HEADER: "wrong"}) as wrong:
            assert wrong.status == 403
        async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
            assert health.status == 200
            assert (await health.json())["status"] == "ok"
    await asyncio.sleep(0.3)
    assert len(emulator.messages_to(1101)) == 1  # the forged updates changed nothing


async def test_webhook_request_without_the_secret_is_not_processed(
    webhook_bot: tuple[WebhookRunner, Database, int], emulator: BotApiEmulator
) -> None:
    """A forged update that would bind a stranger to a roster member: refused, never handled."""
    _, db, port = webhook_bot
    async with db.transaction() as session:
        session.add(Member(name="林文华", phone="+8613800138009"))
    forged = {
        "update_id": 777,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 1102, "type": "private"},
            "from": {"id": 1102, "is_bot": False, "first_name": "x"},
            "contact": {"phone_number": "+8613800138009", "first_name": "x", "user_id": 1102},
        },
    }
    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {SECRET_HEADER: ""}, {SECRET_HEADER: "S3CRET-TOKEN"}):
            async with http.post(url, json=forged, headers=headers) as response:
                assert response.status == 403, headers
    # The same chat's next real update: one chat's updates are handled in order, so once it is
    # answered, a forged update let through would have been handled before it.
    await emulator.user(1102).send_command("start")
    await emulator.wait_for(1102, "分享手机号")
    async with db.transaction() as session:
        bound = await session.scalar(
            select(Identity).where(Identity.channel == TELEGRAM, Identity.external_id == "1102")
        )
        seen = await session.scalar(
            select(ProcessedUpdate.update_id).where(ProcessedUpdate.update_id == 777)
        )
    assert bound is None and seen is None
    assert len(emulator.messages_to(1102)) == 1


async def test_staff_uploads_roster_and_gets_the_report(bot: Harness) -> None:
    await bot.add_member("工作人员", "+8615000150000", role=Role.staff, telegram_user_id=2001)
    staff = bot.emu.user(2001)
    await staff.send_command("roster")
    await bot.emu.wait_for(2001, "名册文件")
    await staff.send_document(b"not a spreadsheet", "roster.pdf", "application/pdf")
    await bot.emu.wait_for(2001, "只支持 xlsx 或 csv")
    data = (ROOT / "samples" / "roster-bad-rows.csv").read_bytes()
    await staff.send_document(data, "roster.csv", "text/csv")
    report = await bot.emu.wait_for(2001, "名册导入完成")
    assert "新增 2" in (report.text or "") and "拒绝 5" in (report.text or "")
    assert "第 4 行：缺少手机号" in (report.text or "")
    async with bot.db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(Member))
    assert count == 3


async def test_member_cannot_upload_roster(bot: Harness) -> None:
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1102)
    user = bot.emu.user(1102)
    await user.send_command("roster")
    await bot.emu.wait_for(1102, "仅限机关工作人员")


async def test_sigterm_stops_polling_bot_cleanly(emulator: BotApiEmulator, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(
        BOT_TOKEN=emulator.token,
        TELEGRAM_API_BASE_URL=emulator.base_url,
        TELEGRAM_FILE_BASE_URL=emulator.base_file_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/run.db",
        ADMIN_IDS="[1201]",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        admin = emulator.user(1201, "Admin")
        await emulator.wait_for_call("getUpdates", timeout=30)
        await admin.send_command("start")
        await emulator.wait_for(1201, "Admin", timeout=15)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log
    assert "Application.stop() complete" in log
