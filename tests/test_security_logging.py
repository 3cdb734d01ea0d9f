"""Personal data and the bot token never reach the logs, even with LOG_LEVEL=DEBUG.

The bot runs as it does in production (`python -m bot.cli run`, its own logging set-up) against
the emulator; a member binds with their phone number, writes a report with a distinctive text,
and staff export it; everything the process logged must name neither.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from bot.tryout import BotApiEmulator, SentMessage
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Member

PHONE = re.compile(r"139\D{0,3}1234\D{0,3}5678")  # the member's number, in any format
REPORT_TEXTS = ("鼓山脚下违建棚屋", "夜间施工噪声扰民", "建议城管夜查")
MEMBER, ADMIN = 1401, 1402
ROOT = Path(__file__).resolve().parent.parent


def _lines(log: str, pattern: str) -> list[str]:
    """The log lines that match (shortened), to show what leaked."""
    return [line[:300] for line in log.splitlines() if re.search(pattern, line)]


def _has_button(label: str) -> object:
    def check(message: SentMessage) -> bool:
        return label in message.buttons()

    return check


async def test_debug_logs_carry_no_phone_number_report_text_or_token(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/run.db"
    db = Database(url)
    await upgrade(db.engine)
    async with db.transaction() as s:
        s.add(Member(name="林文华", phone="+8613912345678"))
    await db.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(
        BOT_TOKEN=emulator.token,
        TELEGRAM_API_BASE_URL=emulator.base_url,
        TELEGRAM_FILE_BASE_URL=emulator.base_file_url,
        DATABASE_URL=url,
        ADMIN_IDS=f"[{ADMIN}]",
        LOG_LEVEL="DEBUG",
        DATA_DIR=str(tmp_path / "data"),
    )
    # A file, not a pipe: at DEBUG the bot writes more than a pipe holds before it is read.
    log_file = tmp_path / "bot.log"
    with log_file.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run",
            cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    try:
        await emulator.wait_for_call("getUpdates", timeout=30)
        member = emulator.user(MEMBER, "Wenhua")
        await member.send_command("start")
        await emulator.wait_for(MEMBER, "分享手机号", timeout=15)
        await member.send_contact("+86 139-1234-5678")
        await emulator.wait_for(MEMBER, "绑定成功")

        await member.send_text("📝 提交社情民意")
        await emulator.wait_for(MEMBER, "第 1/5 步")
        await member.send_text(REPORT_TEXTS[0])
        categories = await emulator.wait_for(MEMBER, "第 2/5 步")
        await member.tap(categories, "民生保障")
        await emulator.wait_for(MEMBER, "第 3/5 步")
        await member.send_text(REPORT_TEXTS[1])
        await emulator.wait_for(MEMBER, "第 4/5 步")
        await member.send_text("执法力量不足")
        await emulator.wait_for(MEMBER, "第 5/5 步")
        await member.send_text(REPORT_TEXTS[2])
        preview = await emulator.wait_for(MEMBER, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
        await member.tap(preview, "✅ 确认提交")
        done = await emulator.wait_for(MEMBER, "提交成功")
        receipt = re.search(r"SQ-\d{4}-\d{6}", done.text or "")
        assert receipt is not None

        admin = emulator.user(ADMIN, "Admin")
        await admin.send_command("reports", receipt.group(0))
        await emulator.wait_for(ADMIN, _has_button("📄 Word 文稿"))  # type: ignore[arg-type]
        await admin.send_callback(1, "rrv:xlsx:-")
        await emulator.wait_for(ADMIN, lambda m: (m.file_name or "").endswith(".xlsx"))
        await admin.send_command("invite", "139 1234 5678")
        await emulator.wait_for(ADMIN, "t.me/")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)
    log = log_file.read_text()
    assert process.returncode == 0, log[-3000:]
    # The process really logged at DEBUG, and our own INFO lines are there.
    assert " DEBUG " in log and "member 1 bound" in log, log[-3000:]
    assert not _lines(log, PHONE.pattern), _lines(log, PHONE.pattern)
    for text in REPORT_TEXTS:
        assert not _lines(log, re.escape(text)), _lines(log, re.escape(text))
    token_secret = emulator.token.split(":", 1)[1]
    assert not _lines(log, re.escape(token_secret)), _lines(log, re.escape(token_secret))


async def test_a_database_error_is_logged_without_the_values(
    db: Database, root_log: io.StringIO
) -> None:
    """PostgreSQL quotes the failing values ("Key (phone)=(...) already exists"); neither the
    statement's parameters nor that DETAIL may reach the log. The error itself still does."""
    logger = logging.getLogger("handlers.errors")
    async with db.transaction() as s:
        s.add(Member(name="林文华", phone="+8613912345678"))
    with pytest.raises(IntegrityError) as caught:
        async with db.transaction() as s:
            s.add(Member(name="鼓山脚下违建棚屋", phone="+8613912345678"))
    logger.error("update %s failed", 7, exc_info=caught.value)
    logger.warning("could not save: %s", caught.value)
    out = root_log.getvalue()
    assert "IntegrityError" in out and "update 7 failed" in out
    assert PHONE.search(out) is None, out
    assert "鼓山脚下违建棚屋" not in out
