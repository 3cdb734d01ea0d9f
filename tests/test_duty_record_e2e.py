"""Duty record end to end: a member's own card and earlier years, refusals for other members'
records and for staff statistics, and the staff statistics, chart, export and award lists."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityType,
    AuditLog,
    LiaisonPoint,
    Member,
    Report,
    ReportEvent,
    ReportStatus,
    Role,
    Sector,
    SignupStatus,
)
from tests.support import Harness

LIN, CHEN, STAFF = 3001, 3002, 3009


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 2, 0, tzinfo=UTC)


async def _world(bot: Harness) -> dict[str, int]:
    """林文华 (经济界): an adopted excellent report and an attended micro-consultation this
    year, a report last year; 陈静 (科技界): nothing yet; a staff member."""
    async with bot.db.transaction() as s:
        economy, science = Sector(name="经济界"), Sector(name="科技界")
        point = LiaisonPoint(name="鼓楼联系点")
        s.add_all([economy, science, point])
        await s.flush()
        ids = {"economy": economy.id, "science": science.id, "point": point.id}
    ids["lin"] = await bot.add_member(
        "林文华", "+8613800138001", telegram_user_id=LIN, sector_id=ids["economy"]
    )
    ids["chen"] = await bot.add_member(
        "陈静", "+8613800138002", telegram_user_id=CHEN, sector_id=ids["science"]
    )
    ids["staff"] = await bot.add_member(
        "王干部", "+8615000150000", role=Role.staff, telegram_user_id=STAFF
    )
    async with bot.db.transaction() as s:
        for seq, (year, adopted) in enumerate(((2026, True), (2025, False)), start=1):
            report = Report(
                member_id=ids["lin"],
                status=ReportStatus.adopted if adopted else ReportStatus.submitted,
                title=f"{year}年的信息",
                category="livelihood",
                receipt_no=f"SQ-{year}-{seq:06d}",
                receipt_year=year,
                receipt_seq=seq,
                excellent=adopted,
                submitted_at=_at(year, 3, 1),
                revision=1,
            )
            s.add(report)
            await s.flush()
            s.add(
                ReportEvent(
                    report_id=report.id,
                    at=_at(year, 3, 1),
                    action="submitted",
                    status=ReportStatus.submitted,
                )
            )
            if adopted:
                s.add(
                    ReportEvent(
                        report_id=report.id,
                        at=_at(year, 3, 5),
                        action="adopt",
                        status=ReportStatus.adopted,
                    )
                )
        activity = Activity(
            type=ActivityType.micro_consultation,
            status=ActivityStatus.published,
            title="社区微协商",
            starts_at=_at(2026, 6, 1),
            ends_at=_at(2026, 6, 1) + timedelta(hours=2),
            liaison_point_id=ids["point"],
        )
        s.add(activity)
        await s.flush()
        s.add(
            ActivitySignup(
                activity_id=activity.id,
                member_id=ids["lin"],
                status=SignupStatus.checked_in,
                signed_up_at=_at(2026, 5, 20),
                checked_in_at=_at(2026, 6, 1),
            )
        )
    for user in (LIN, CHEN, STAFF):
        bot.emu.user(user)
    return ids


async def test_member_sees_own_card_and_an_earlier_year(bot: Harness) -> None:
    await _world(bot)
    lin = bot.emu.user(LIN)
    await lin.send_command("start")
    menu = await bot.emu.wait_for(LIN, "林文华")
    assert "🏅 我的履职" in menu.keyboard_texts()
    assert "📊 履职统计" not in menu.keyboard_texts()

    await lin.send_text("🏅 我的履职")
    card = await bot.emu.wait_for(LIN, "2026年履职档案")
    assert "界别：经济界" in card.text
    assert "提交 1 篇 × 1 分 = +1 分" in card.text
    assert "被采用 1 篇 × 3 分 = +3 分" in card.text
    assert "评为优秀 1 篇 × 5 分 = +5 分" in card.text
    assert "出席 1 次 × 2 分 = +2 分" in card.text
    assert "积分合计：11 分" in card.text
    assert card.buttons() == ["2025年"]

    await lin.tap(card, "2025年")
    earlier = await bot.emu.wait_for(LIN, lambda m: "2025年履职档案" in (m.text or ""), after=0)
    assert earlier.message_id == card.message_id  # the card is replaced, not repeated
    assert "全年统计" in (earlier.text or "") and "积分合计：1 分" in (earlier.text or "")
    assert earlier.buttons() == ["2026年"]


async def test_member_cannot_see_another_members_record(bot: Harness) -> None:
    ids = await _world(bot)
    chen = bot.emu.user(CHEN)
    await chen.send_command("record", f"#{ids['lin']}")
    await bot.emu.wait_for(CHEN, "只能查看本人的履职档案")
    # A forged button asking for someone else's card.
    await chen.send_command("record")
    own = await bot.emu.wait_for(CHEN, "陈静 · 2026年履职档案")
    assert "暂无" in (own.text or "")
    await chen.send_callback(own.message_id, f"duty:member:{ids['lin']}:2026")
    await bot.emu.wait_for_call(
        "answerCallbackQuery", lambda c: "仅限机关工作人员" in str(c.params.get("text"))
    )
    await chen.send_callback(own.message_id, "duty:mine:1999x")
    await bot.emu.wait_for_call(
        "answerCallbackQuery", lambda c: "按钮已失效" in str(c.params.get("text"))
    )
    assert all("林文华" not in (m.text or "") for m in bot.emu.messages_to(CHEN))


async def test_statistics_and_exports_are_refused_to_members(bot: Harness) -> None:
    await _world(bot)
    lin = bot.emu.user(LIN)
    await lin.send_command("stats")
    await bot.emu.wait_for(LIN, "仅限机关工作人员")
    await lin.send_text("📊 履职统计")  # typed: members have no such button
    await bot.emu.wait_for(LIN, "仅限机关工作人员")
    await lin.send_command("record")
    card = await bot.emu.wait_for(LIN, "2026年履职档案")
    for forged in ("duty:export:2026", "duty:awards:2026", "duty:stats:2026:sector"):
        await lin.send_callback(card.message_id, forged)
        await bot.emu.wait_for_call(
            "answerCallbackQuery", lambda c: "仅限机关工作人员" in str(c.params.get("text"))
        )
    assert [m for m in bot.emu.messages_to(LIN) if m.kind in ("document", "photo")] == []
    async with bot.db.transaction() as s:
        audits = await s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action.like("duty.%"))
        )
    assert audits == 0


async def test_staff_statistics_chart_export_and_awards(bot: Harness) -> None:
    await _world(bot)
    staff = bot.emu.user(STAFF)
    await staff.send_text("📊 履职统计")
    chart = await bot.emu.wait_for(STAFF, lambda m: m.kind == "photo")
    assert chart.data is not None and chart.data.startswith(b"\x89PNG")
    assert "2026年履职情况 · 按界别" in (chart.text or "")
    stats = await bot.emu.wait_for(STAFF, "2026年履职统计 · 按界别")
    text = stats.text or ""
    assert "全体委员 2 人：提交信息 1 篇，采用率 100%，出席率 100%" in text
    assert "经济界（1人）：信息 1 篇，采用率 100%，出席率 100%，回执率 —" in text
    assert "科技界（1人）：信息 0 篇，采用率 —" in text

    await staff.tap(stats, "按专委会")
    await bot.emu.wait_for(STAFF, "2026年履职统计 · 按专委会")

    await staff.tap(stats, "📥 导出2026年档案")
    document = await bot.emu.wait_for(STAFF, lambda m: m.kind == "document")
    assert document.file_name == "履职档案-2026.xlsx" and document.data is not None
    book = load_workbook(io.BytesIO(document.data))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "姓名"
    assert {r[0]: r[-2] for r in rows[1:]} == {"林文华": 11, "陈静": 0}
    assert "2 人" in (document.text or "")

    await staff.tap(stats, "🏅 2026年评优候选")
    awards = await bot.emu.wait_for(STAFF, "五优评选候选")
    assert "1. 林文华（经济界）11 分" in (awards.text or "")
    assert "SQ-2026-000001「2026年的信息」— 林文华" in (awards.text or "")
    assert "1. 鼓楼联系点：微协商 1 次，参与 1 人次" in (awards.text or "")
    candidates = await bot.emu.wait_for(
        STAFF, lambda m: m.kind == "document" and m.file_name == "评优候选-2026.xlsx"
    )
    assert candidates.data is not None
    sheets = load_workbook(io.BytesIO(candidates.data)).sheetnames
    assert sheets == ["2026优秀委员候选", "2026优秀信息候选", "2026优秀联系点候选"]
    async with bot.db.transaction() as s:
        actions = set(await s.scalars(select(AuditLog.action)))
    assert {"duty.export", "duty.awards_export"} <= actions


async def test_staff_opens_a_members_card_by_id_and_year(bot: Harness) -> None:
    ids = await _world(bot)
    staff = bot.emu.user(STAFF)
    await staff.send_command("record", f"#{ids['lin']} 2025")
    card = await bot.emu.wait_for(STAFF, "林文华 · 2025年履职档案")
    await staff.tap(card, "2026年")
    await bot.emu.wait_for(STAFF, lambda m: "林文华 · 2026年履职档案" in (m.text or ""), after=0)
    await staff.send_command("record", "#999999")
    await bot.emu.wait_for(STAFF, "没有找到「#999999」")
    await staff.send_command("record", "1999")
    await bot.emu.wait_for(STAFF, "年份「1999」不正确")


async def test_the_english_card_counts_in_words_that_agree_with_the_number(bot: Harness) -> None:
    ids = await _world(bot)
    async with bot.db.transaction() as s:
        member = await s.get(Member, ids["lin"])
        assert member is not None
        member.locale = "en"
    lin = bot.emu.user(LIN)
    await lin.send_command("record")
    card = await bot.emu.wait_for(LIN, "2026")
    text = card.text or ""
    assert "1 report ×" in text and "1 time ×" in text
    assert "(s)" not in text
