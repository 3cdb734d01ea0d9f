"""Messages queued by the version before values were escaped at rendering time still arrive as
they were meant after an upgrade (migration 0093): a notice body keeps its formatting, an
activity title escaped in storage is not shown as `&amp;`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.tryout import BotApiEmulator
from storage.migrate import upgrade
from storage.models import Member, OutboxMessage
from tests.support import FakeClock, Harness, fresh_database, make_settings

MEMBER = 1901


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_rows_queued_before_the_upgrade_render_as_meant(
    emulator: BotApiEmulator, tmp_path: Path, kind: str
) -> None:
    async with fresh_database(kind, tmp_path, revision="0092") as db:
        async with db.transaction() as session:
            member = Member(
                name="陈静", phone="+8613900139000", telegram_user_id=MEMBER, chat_id=MEMBER
            )
            session.add(member)
            await session.flush()
            # As the old version queued them: the body a plain string of HTML, activity values
            # escaped in storage.
            session.add_all(
                [
                    OutboxMessage(
                        kind="notice",
                        member_id=member.id,
                        chat_id=MEMBER,
                        template="notices.message",
                        params={"body": "<b>周五</b>开会 &amp; 学习"},
                    ),
                    OutboxMessage(
                        kind="activity",
                        member_id=member.id,
                        chat_id=MEMBER,
                        template="activities.notice_cancelled",
                        params={
                            "title": "调研 &lt;鼓楼&gt; &amp; 台江",
                            "reason": "天气",
                            "when": "12月5日",
                        },
                    ),
                ]
            )
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
