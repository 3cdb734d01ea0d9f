"""Inviting by tapping, end to end through the Bot API emulator: an activity's audience step
offers the liaison points (and sectors, committees) as buttons, as notices do; sectors are
listed in the office's official order (SECTOR_ORDER) in both places, those it does not name
after them; typing the names still works."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.settings import load_settings
from bot.tryout import BotApiEmulator, SentMessage
from storage.models import (
    Activity,
    ActivityStatus,
    ActivityTarget,
    LiaisonPoint,
    Role,
    Sector,
    TargetKind,
)
from tests.activities_e2e_support import STAFF, _activity, _has_buttons
from tests.support import FakeClock, Harness, fresh_database, make_settings

# Stored in this order (and by name: 中共 < 九三学社 < 农业界 < 民革 < 经济界 by code point).
SECTORS = ["经济界", "民革", "农业界", "中共", "九三学社"]
OFFICIAL = "中共，民革, 九三学社,不存在界"


@pytest.fixture
async def office(emulator: BotApiEmulator, tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot with the office's sector order set, a staff member, sectors and points."""
    async with fresh_database("sqlite", tmp_path) as database:
        settings = make_settings(emulator, database.url, tmp_path, sector_order=OFFICIAL)
        harness = Harness(emulator, database, settings, FakeClock())
        await harness.start()
        try:
            await harness.add_member(
                "王干事", "+8615000150001", role=Role.staff, telegram_user_id=STAFF
            )
            async with database.transaction() as s:
                s.add_all(Sector(name=name) for name in SECTORS)
                s.add_all(
                    LiaisonPoint(name=name)
                    for name in ("鼓楼区委员联系点", "台江区委员联系点", "仓山区委员联系点")
                )
            yield harness
        finally:
            await harness.stop()


def _choices(message: SentMessage) -> list[str]:
    """The buttons to pick from, without the tick of a chosen one and the button ending it."""
    return [b.removeprefix("✅ ") for b in message.buttons() if "选好了" not in b]


def test_the_sector_order_setting_reads_names_and_keeps_the_unnamed_in_order() -> None:
    settings = load_settings(_env_file=None, sector_order=" 中共，民革,, 九三学社、中共 ")
    assert settings.sector_order == ["中共", "民革", "九三学社", "中共"]
    assert settings.in_sector_order(SECTORS, str) == [
        "中共",
        "民革",
        "九三学社",
        "经济界",
        "农业界",
    ]
    assert load_settings(_env_file=None).in_sector_order(SECTORS, str) == SECTORS


async def test_an_activity_audience_is_tapped_liaison_points_and_sectors_in_office_order(
    office: Harness,
) -> None:
    bot = office
    emu, staff = bot.emu, bot.emu.user(STAFF)
    draft = await _activity(bot, status=ActivityStatus.draft, published_at=None, title="微协商")
    await staff.send_command("activities")
    home = await emu.wait_for(STAFF, "活动管理")
    await staff.tap(home, next(b for b in home.buttons() if "微协商" in b))
    card = await emu.wait_for(STAFF, _has_buttons("✏️ 修改"), after=0)
    await staff.tap(card, "✏️ 修改")
    await staff.tap(await emu.wait_for(STAFF, "请选择要修改的项目", after=0), "邀请范围")
    await staff.tap(await emu.wait_for(STAFF, "请选择邀请范围"), "按联系点")

    points = await emu.wait_for(STAFF, "请点选联系点")
    assert sorted(_choices(points)) == sorted(
        ["鼓楼区委员联系点", "台江区委员联系点", "仓山区委员联系点"]
    )
    assert points.buttons()[-1] == "➡️ 选好了，下一步"
    # Done with nothing chosen is refused; two tapped on, one tapped off again.
    await staff.tap(points, "➡️ 选好了，下一步")
    await emu.wait_for_call("answerCallbackQuery", lambda c: "还没有选择" in str(c.params))
    for name in ("鼓楼区委员联系点", "台江区委员联系点"):
        await staff.tap(points, name)
        await emu.wait_for(STAFF, lambda m, n=name: f"✅ {n}" in m.buttons(), after=0)
    await staff.tap(points, "✅ 台江区委员联系点")
    await emu.wait_for(STAFF, lambda m: "台江区委员联系点" in m.buttons(), after=0)
    await staff.tap(points, "➡️ 选好了，下一步")
    await emu.wait_for(STAFF, "已保存")
    saved = await emu.wait_for(STAFF, "邀请：联系点：鼓楼区委员联系点")
    async with bot.db.transaction() as s:
        rows = list(
            await s.scalars(select(ActivityTarget).where(ActivityTarget.activity_id == draft))
        )
        gulou = await s.scalar(
            select(LiaisonPoint.id).where(LiaisonPoint.name == "鼓楼区委员联系点")
        )
    assert [(r.kind, r.ref_id) for r in rows] == [(TargetKind.liaison_point, gulou)]

    # Sectors: the office's order first, the others after in their stored order.
    await staff.tap(saved, "✏️ 修改")
    await staff.tap(await emu.wait_for(STAFF, "请选择要修改的项目", after=0), "邀请范围")
    await staff.tap(await emu.wait_for(STAFF, "请选择邀请范围"), "按界别")
    sectors = await emu.wait_for(STAFF, "请点选界别")
    assert _choices(sectors) == ["中共", "民革", "九三学社", "农业界", "经济界"]
    # Typing the names still works.
    await staff.send_text("经济界、农业界")
    await emu.wait_for(STAFF, "邀请：界别：经济界、农业界")
    async with bot.db.transaction() as s:
        activity = await s.get(Activity, draft)
        kinds = set(
            await s.scalars(select(ActivityTarget.kind).where(ActivityTarget.activity_id == draft))
        )
    assert activity is not None and activity.status is ActivityStatus.draft
    assert kinds == {TargetKind.sector}


async def test_a_notice_lists_sectors_in_the_office_order(office: Harness) -> None:
    bot = office
    staff = bot.emu.user(STAFF)
    await staff.send_text("📢 发通知")
    await bot.emu.wait_for(STAFF, "请发送通知内容")
    await staff.send_text("周五下午开会。")
    await staff.tap(await bot.emu.wait_for(STAFF, "请选择接收对象"), "按界别")
    sectors = await bot.emu.wait_for(STAFF, "请点选界别")
    assert sectors.buttons()[:-1] == [  # the last one ends the choice
        "中共",
        "民革",
        "九三学社",
        "农业界",
        "经济界",
    ]
    await staff.tap(sectors, "九三学社")
    again = await bot.emu.wait_for(STAFF, lambda m: "✅ 九三学社" in m.buttons(), after=0)
    assert [b.removeprefix("✅ ") for b in again.buttons()][:3] == ["中共", "民革", "九三学社"]
