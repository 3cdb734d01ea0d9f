"""Shared test helpers: SQLite and PostgreSQL databases, a controllable clock, the bot harness."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import BotApplication, build_application
from bot.channels import telegram_account
from bot.runner import PollingRunner, WebhookRunner
from bot.scheduler import SchedulerService
from bot.settings import Settings
from bot.tryout import BotApiEmulator
from storage import identities
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityType,
    Member,
    Role,
    SignupStatus,
)

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
TOKEN = "123456:TEST-TOKEN"
ADMIN_ID = 900001


def _asyncpg_dsn(url: str) -> str:
    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


async def postgres_unavailable_reason() -> str | None:
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(PG_URL), timeout=3)
    except Exception as exc:
        return f"PostgreSQL not reachable at {make_url(PG_URL).host}:{make_url(PG_URL).port}: {exc}"
    await conn.close()
    return None


@asynccontextmanager
async def fresh_database(
    kind: str, tmp_path: Path, *, revision: str = "heads"
) -> AsyncIterator[Database]:
    """A migrated (to `revision`), empty database of the given kind, dropped afterwards."""
    if kind == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/test.db")
        await upgrade(db.engine, revision)
        try:
            yield db
        finally:
            await db.dispose()
        return
    reason = await postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(_asyncpg_dsn(PG_URL))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    try:
        await upgrade(db.engine, revision)
        yield db
    finally:
        await db.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def run_cli(
    tmp_path: Path, *args: str, database_url: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`cppcc-bot <args>` in a process of its own, as an operator runs it: settings from the
    environment only (this machine's BOT_*/DATABASE_* left out), SQLite under tmp_path unless
    a database is named."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    environ["DATABASE_URL"] = database_url or f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


WEBHOOK_SECRET = "s3cret-token"


@asynccontextmanager
async def webhook_bot(
    emu: BotApiEmulator, db: Database, tmp_path: Path, **overrides: Any
) -> AsyncIterator[WebhookRunner]:
    """The real bot serving its webhook on 127.0.0.1, registered with the emulator."""
    port = free_port()
    settings = make_settings(
        emu,
        db.url,
        tmp_path,
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_secret=WEBHOOK_SECRET,
        **overrides,
    )
    app = build_application(settings, db=db, clock=FakeClock(), migrate=False)
    runner = WebhookRunner(app, settings)
    await runner.start()
    try:
        yield runner
    finally:
        app.bot_data.db = _NoDispose(db)  # type: ignore[assignment]
        await runner.stop()
        app.bot_data.db = db


@dataclass
class FakeClock:
    """A clock tests move by hand; handlers and the scheduler read it through the runtime."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 2, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def make_settings(emu: BotApiEmulator, db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": emu.token,
        "bot_username": "cppcc_test_bot",
        "database_url": db_url,
        "telegram_api_base_url": emu.base_url,
        "telegram_file_base_url": emu.base_file_url,
        "admin_ids": [ADMIN_ID],
        "data_dir": tmp_path / "data",
        "office_contact": "OFFICE-PHONE-0591",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def bind_telegram(
    session: AsyncSession, member_id: int, telegram_user_id: int, *, now: datetime | None = None
) -> None:
    """Bind the member to a Telegram account (its private chat has the user's id), as the
    bot does when they bind."""
    await identities.attach(session, member_id, telegram_account(telegram_user_id), now=now)


@dataclass
class Harness:
    """The real Application, polling a local Bot API emulator, on a real database."""

    emu: BotApiEmulator
    db: Database
    settings: Settings
    clock: FakeClock
    app: BotApplication | None = None
    runner: PollingRunner | None = None

    async def start(self) -> None:
        self.app = build_application(self.settings, db=self.db, clock=self.clock, migrate=False)
        self.runner = PollingRunner(self.app, poll_timeout=1)
        await self.runner.start()

    async def stop(self) -> None:
        if self.runner is not None:
            await _stop_keep_db(self.runner)
            self.runner = None

    async def restart(self) -> None:
        """Stop the bot and start a new Application on the same database (a redeploy)."""
        await self.stop()
        await self.start()

    async def add_member(
        self,
        name: str,
        phone: str,
        *,
        role: Role = Role.member,
        telegram_user_id: int | None = None,
        locale: str | None = None,
        **fields: Any,
    ) -> int:
        async with self.db.transaction() as session:
            member = Member(
                name=name,
                phone=phone,
                role=role,
                locale=locale,
                bound_at=self.clock.now if telegram_user_id else None,
                **fields,
            )
            session.add(member)
            await session.flush()
            if telegram_user_id is not None:
                await bind_telegram(session, member.id, telegram_user_id, now=self.clock.now)
            return member.id

    async def add_signed_up_activity(
        self, member_id: int, *, title: str, place: str, starts_at: datetime
    ) -> int:
        """A published two-hour micro-consultation the member is signed up for."""
        async with self.db.transaction() as session:
            activity = Activity(
                type=ActivityType.micro_consultation,
                status=ActivityStatus.published,
                title=title,
                place=place,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=2),
            )
            session.add(activity)
            await session.flush()
            session.add(
                ActivitySignup(
                    activity_id=activity.id,
                    member_id=member_id,
                    status=SignupStatus.signed_up,
                    position=1,
                )
            )
            return activity.id

    def scheduler(self) -> SchedulerService:
        """The running scheduler service (its scan is called by hand with a moved clock)."""
        assert self.app is not None
        return next(s for s in self.app.bot_data.services if isinstance(s, SchedulerService))


async def _stop_keep_db(runner: PollingRunner) -> None:
    """Stop like PollingRunner.stop, but leave the shared test database open."""
    app = runner.app
    db = app.bot_data.db
    app.bot_data.db = _NoDispose(db)  # type: ignore[assignment]
    await runner.stop()
    app.bot_data.db = db


class _NoDispose:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def dispose(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)
