"""Messages queued by the version before values were escaped at rendering time still arrive as
they were meant after an upgrade (migration 0093): a notice body keeps its formatting, an
activity title escaped in storage is not shown as `&amp;`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.tryout import BotApiEmulator
from storage.migrate import upgrade
from tests.support import FakeClock, Harness, fresh_database, make_settings

MEMBER = 1901


def _queued(kind: str, template: str, params: dict[str, str]) -> str:
    """An outbox row as the old version queued it (addressed by Telegram chat id)."""
    values = json.dumps(params, ensure_ascii=False)
    return (
        "INSERT INTO outbox_message (created_at, kind, priority, member_id, chat_id, template,"
        f" params, status, attempts) VALUES ('2026-11-25 01:00:00', '{kind}', 5, 1, {MEMBER},"
        f" '{template}', '{values}', 'pending', 0)"
    )


# The rows as they were at revision 0092: a bound member (Telegram columns on the member) and,
# as the old version queued them, the body a plain string of HTML, activity values escaped in
# storage.
OLD_ROWS = [
    "INSERT INTO member (id, name, phone, telegram_user_id, chat_id, role, reachable, active,"
    f" bound_at, created_at, updated_at) VALUES (1, '陈静', '+8613900139000', {MEMBER}, {MEMBER},"
    " 'member', true, true, '2026-11-01 00:00:00', '2026-11-01 00:00:00',"
    " '2026-11-01 00:00:00')",
    _queued("notice", "notices.message", {"body": "<b>周五</b>开会 &amp; 学习"}),
    _queued(
        "activity",
        "activities.notice_cancelled",
        {"title": "调研 &lt;鼓楼&gt; &amp; 台江", "reason": "天气", "when": "12月5日"},
    ),
]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_rows_queued_before_the_upgrade_render_as_meant(
    emulator: BotApiEmulator, tmp_path: Path, kind: str
) -> None:
    async with fresh_database(kind, tmp_path, revision="0092") as db:
        async with db.transaction() as session:
            for statement in OLD_ROWS:
                await session.execute(text(statement))
        await upgrade(db.engine)
        harness = Harness(emulator, db, make_settings(emulator, db.url, tmp_path), FakeClock())
        await harness.start()
        try:
            notice = await emulator.wait_for(MEMBER, lambda m: "开会" in (m.text or ""))
            cancelled = await emulator.wait_for(MEMBER, lambda m: "已取消" in (m.text or ""))
        finally:
            await harness.stop()
    assert "周五开会 & 学习" in (notice.text or "")
    assert any(e["type"] == "bold" for e in notice.entities)  # the body's own <b> still bold
    assert "调研 <鼓楼> & 台江" in (cancelled.text or "")
