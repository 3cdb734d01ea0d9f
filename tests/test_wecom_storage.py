"""The WeCom channel's storage on SQLite and PostgreSQL: messages kept once per key, claimed
once, replayed only when never begun; numbered choices; migration 0095 goes down and up."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import inspect

from storage import channel_inbox
from storage.db import Database
from storage.migrate import alembic_config, upgrade


async def test_messages_are_kept_once_and_claimed_once(db: Database) -> None:
    fields = {"FromUserName": "chen", "Content": "你好😀<b>", "MsgId": "1"}
    async with db.transaction() as session:
        first = await channel_inbox.keep(session, "wecom", "msg:1", "chen", fields)
        again = await channel_inbox.keep(session, "wecom", "msg:1", "chen", fields)
        other = await channel_inbox.keep(session, "wecom", "msg:2", "chen", fields)
    assert first is not None and other is not None and again is None
    async with db.transaction() as session:
        assert await channel_inbox.claim(session, first)
        assert not await channel_inbox.claim(session, first)
        left = await channel_inbox.waiting(session, "wecom")
    assert [k.id for k in left] == [other]
    assert left[0].payload == fields


async def test_numbered_choices_replace_each_other(db: Database) -> None:
    async with db.transaction() as session:
        await channel_inbox.offer_choices(session, "wecom", "chen", ["a:b:1", "a:b:2"])
        assert await channel_inbox.choice(session, "wecom", "chen", 2) == "a:b:2"
        assert await channel_inbox.choice(session, "wecom", "chen", 3) is None
        await channel_inbox.offer_choices(session, "wecom", "chen", [])
        assert await channel_inbox.choice(session, "wecom", "chen", 1) is None


async def test_migration_0095_goes_down_and_up(db: Database) -> None:
    def tables(connection: Any) -> set[str]:
        return set(inspect(connection).get_table_names())

    def downgrade(connection: Any) -> None:
        cfg = alembic_config(db.url)
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0094")

    async with db.engine.begin() as conn:
        await conn.run_sync(downgrade)
        assert not {"channel_message", "channel_choice"} & await conn.run_sync(tables)
    await upgrade(db.engine)
    async with db.engine.connect() as conn:
        assert {"channel_message", "channel_choice"} <= await conn.run_sync(tables)
