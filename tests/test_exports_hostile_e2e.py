"""Hostile text in every field members and staff fill, then every file staff download.

Names, sectors, committees and liaison points come in through the roster import; reports,
co-authors and review notes through the report operations; leave reasons, notice reply options
and the activity's own fields through the bot. Each export is fetched through the bot and opened
with openpyxl (no formula anywhere, every value the exact text typed, minus the control
characters XML cannot hold) or python-docx: the reports (xlsx, the Word compilation, one
report), the duty record and award candidates, the activity roster and import template, and
the notice statistics. (The cell writer on its own: test_exports_hostile_cells.py.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from storage import reports
from storage.audit import Actor
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    Committee,
    LiaisonPoint,
    Member,
    Report,
    ReportEvent,
    Role,
    Sector,
    SignupStatus,
    TargetKind,
)
from storage.reports import Limits
from storage.roster import RosterRow, import_roster
from tests.exports_hostile_support import (
    FIRST_MEMBER,
    HOSTILE,
    LONG,
    STAFF,
    _book_strings,
    _document,
    _docx_text,
    _has_button,
    _utf16,
    _visible,
)
from tests.support import Harness

# A report stored before its text was cleaned on input (what broke both report exports).
LEGACY = {
    "title": "旧\x0b标题=1+1\x00",
    "situation": "第一段\x0b第二段\x00\x1f=SUM(A1)",
    "problem": "@SUM(A1)\x0c分页后",
    "suggestions": "\r=x\x08退格",
}


def _phone(index: int) -> str:
    return f"+86139{index:08d}"


async def _world(bot: Harness) -> dict[str, Any]:
    """Staff, one bound member per hostile value (the roster import gives each that value as
    name, sector, committee, liaison point and organisation), a report each with hostile
    sections, co-author and review, a legacy report with raw control characters, a 100,000
    character report, an activity with hostile fields and a micro-consultation at a liaison
    point."""
    staff_id = await bot.add_member(
        "审核员", "+8615000150000", role=Role.staff, telegram_user_id=STAFF
    )
    members = [
        await bot.add_member(f"委员{i}", _phone(i), telegram_user_id=FIRST_MEMBER + i)
        for i in range(len(HOSTILE))
    ]
    n = len(HOSTILE)
    rows = [
        RosterRow(
            row=i + 2,
            name=value,
            phone=_phone(i),
            sector=value,
            committees=(value, HOSTILE[(i + 1) % n]),
            liaison_point=value,
            organisation=value,
        )
        for i, value in enumerate(HOSTILE)
    ]
    async with bot.db.transaction() as s:
        imported = await import_roster(s, rows, source="test")
    assert imported.updated == n and not imported.rejected

    now = bot.clock.now
    tz = bot.settings.tz
    report_ids: list[int] = []
    for i, member_id in enumerate(members):
        async with bot.db.transaction() as s:
            for name, text in (
                ("title", HOSTILE[i]),
                ("situation", HOSTILE[i]),
                ("problem", HOSTILE[(i + 1) % n]),
                ("suggestions", HOSTILE[(i + 2) % n]),
            ):
                saved = await reports.save_text(s, member_id, name, text, Limits())
                assert saved.ok, (i, name)
            draft = await reports.save_category(s, member_id, "livelihood", ["livelihood"])
            assert draft.report is not None
            report_id = draft.report.id
            assert (await reports.add_coauthor(s, member_id, report_id, members[(i + 1) % n])).ok
            submitted = await reports.submit(s, member_id, report_id, revision=None, now=now, tz=tz)
            assert submitted.ok
            staff = Actor(staff_id)
            if i % 3 == 0:
                decision = await reports.review(
                    s, staff, report_id, reports.ReviewAction.adopt, note=HOSTILE[i], now=now
                )
            elif i % 3 == 1:
                decision = await reports.review(
                    s,
                    staff,
                    report_id,
                    reports.ReviewAction.instruct,
                    note=HOSTILE[i],
                    instructed_by=HOSTILE[(i + 3) % n],
                    now=now,
                )
            else:
                decision = await reports.review(
                    s, staff, report_id, reports.ReviewAction.excellent, note=None, now=now
                )
            assert decision.ok, i
            report_ids.append(report_id)

    # The legacy report: stored raw, as before text was cleaned on input.
    async with bot.db.transaction() as s:
        for name in ("title", "situation", "problem", "suggestions"):
            await reports.save_text(s, members[0], name, "待替换的内容", Limits())
        draft = await reports.save_category(s, members[0], "livelihood", ["livelihood"])
        assert draft.report is not None
        legacy_id = draft.report.id
        assert (await reports.submit(s, members[0], legacy_id, revision=None, now=now, tz=tz)).ok
        await s.execute(update(Report).where(Report.id == legacy_id).values(**LEGACY))
    # 100,000 characters in one section (a limit raised far beyond the settings' maximum).
    async with bot.db.transaction() as s:
        big = Limits(section=len(LONG))
        await reports.save_text(s, members[1], "title", "长篇情况", big)
        for name in ("situation", "problem", "suggestions"):
            await reports.save_text(s, members[1], name, LONG if name == "situation" else "略", big)
        draft = await reports.save_category(s, members[1], "livelihood", ["livelihood"])
        assert draft.report is not None
        long_id = draft.report.id
        assert (await reports.submit(s, members[1], long_id, revision=None, now=now, tz=tz)).ok

    async with bot.db.transaction() as s:
        activity = Activity(
            type=ActivityType.visit,
            status=ActivityStatus.published,
            title='=HYPERLINK("http://evil.example","开放日")',
            place="@SUM(A1)",
            starts_at=now + timedelta(days=7),
            ends_at=now + timedelta(days=7, hours=2),
            capacity=30,
            published_at=now,
        )
        s.add(activity)
        await s.flush()
        s.add(ActivityTarget(activity_id=activity.id, kind=TargetKind.everyone, ref_id=None))
        point = await s.scalar(select(LiaisonPoint).where(LiaisonPoint.name == "=1+1"))
        assert point is not None
        held = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
        consultation = Activity(
            type=ActivityType.micro_consultation,
            status=ActivityStatus.published,
            title="+cmd 微协商",
            starts_at=held,
            ends_at=held + timedelta(hours=2),
            liaison_point_id=point.id,
        )
        s.add(consultation)
        await s.flush()
        for member_id in members[:4]:
            s.add(
                ActivitySignup(
                    activity_id=consultation.id,
                    member_id=member_id,
                    status=SignupStatus.checked_in,
                    signed_up_at=held - timedelta(days=3),
                    checked_in_at=held,
                )
            )
    bot.emu.user(STAFF)
    return {
        "members": members,
        "reports": report_ids,
        "legacy": legacy_id,
        "long": long_id,
        "activity": activity.id,
    }


async def _leave_through_the_bot(bot: Harness, activity_id: int) -> None:
    """Each member asks for leave from the activity card and types a hostile reason."""
    for i, reason in enumerate(HOSTILE):
        user_id = FIRST_MEMBER + i
        user = bot.emu.user(user_id)
        await user.send_command("start", f"act_{activity_id}")
        card = await bot.emu.wait_for(user_id, _has_button("📝 请假"))
        await user.tap(card, "📝 请假")
        await bot.emu.wait_for(user_id, "请输入请假原因")
        await user.send_text(reason)
        await bot.emu.wait_for(user_id, "请假已登记")


async def _notice_with_hostile_options(bot: Harness) -> bytes:
    """Staff send a notice to everyone with hostile reply options; four members answer; the
    statistics export."""
    staff = bot.emu.user(STAFF)
    await staff.send_text("📢 发通知")
    await bot.emu.wait_for(STAFF, "请发送通知内容")
    await staff.send_text("请回复是否参加 =1+1 <b>会议</b>")
    ask = await bot.emu.wait_for(STAFF, "请选择接收对象")
    await staff.tap(ask, "全体委员")
    await staff.tap(await bot.emu.wait_for(STAFF, "是否需要委员回执"), "自定义回复选项")
    await bot.emu.wait_for(STAFF, "请输入回复选项")
    options = ["=1+1", "@SUM(A1)", "-2", "+cmd"]
    await staff.send_text("\n".join(options))
    summary = await bot.emu.wait_for(STAFF, "接收人数")
    await staff.tap(summary, "🚀 立即发送")
    for i, option in enumerate(options):
        user_id = FIRST_MEMBER + i
        copy = await bot.emu.wait_for(user_id, "请回复是否参加")
        await bot.emu.user(user_id).tap(copy, option)
        await bot.emu.wait_for(
            user_id,
            lambda m, c=copy: (
                m.message_id == c.message_id and any("已回执" in b for b in m.buttons())
            ),
            after=0,
        )
    await bot.emu.wait_for(STAFF, "已全部处理完毕", timeout=20)
    await staff.send_command("notices")
    recent = await bot.emu.wait_for(STAFF, "最近的通知")
    await staff.tap(recent, recent.buttons()[0])
    card = await bot.emu.wait_for(STAFF, _has_button("📥 导出 Excel"))
    await staff.tap(card, "📥 导出 Excel")
    sheet = await bot.emu.wait_for(STAFF, _document(".xlsx"))
    assert sheet.file_name and sheet.file_name.startswith("notice-") and sheet.data
    return sheet.data


async def test_every_export_keeps_hostile_text_as_text(bot: Harness) -> None:
    world = await _world(bot)
    await _leave_through_the_bot(bot, world["activity"])
    staff = bot.emu.user(STAFF)
    async with bot.db.transaction() as s:
        people = {
            m.id: m for m in await s.scalars(select(Member).where(Member.role == Role.member))
        }
        stored = {r.id: r for r in await s.scalars(select(Report))}
        notes = list(await s.scalars(select(ReportEvent.note).where(ReportEvent.note.is_not(None))))
        instructed = list(
            await s.scalars(
                select(ReportEvent.instructed_by).where(ReportEvent.instructed_by.is_not(None))
            )
        )
        reasons = list(
            await s.scalars(
                select(ActivitySignup.leave_reason).where(ActivitySignup.leave_reason.is_not(None))
            )
        )
        points = list(await s.scalars(select(LiaisonPoint.name)))
        sectors = list(await s.scalars(select(Sector.name)))
        committees = list(await s.scalars(select(Committee.name)))
    # The hostile text arrived where it was put (the roster import only squeezes whitespace).
    names = {m.name for m in people.values()}
    assert {"=1+1", "+cmd", "-2", "@SUM(A1)", "空字符\x00在此"} <= names
    assert '=HYPERLINK("http://evil.example","病假")' in reasons and "=1+1" in reasons
    assert len(reasons) == len(HOSTILE)
    legacy = stored[world["legacy"]]
    assert legacy.situation == LEGACY["situation"]

    # Reports: xlsx, the Word compilation, one report's Word document.
    await staff.send_command("reports", "类别=民生保障")
    found = await bot.emu.wait_for(STAFF, f"找到 {len(stored)} 篇")
    await staff.tap(found, "📊 导出 Excel")
    report_book = await bot.emu.wait_for(STAFF, _document(".xlsx"))
    assert report_book.data is not None
    values = _book_strings(report_book.data)
    for report in stored.values():
        if report.id == world["long"]:
            continue
        for text in (report.title, report.situation, report.problem, report.suggestions):
            assert text is not None and _visible(text) in values, text
    for member in people.values():
        assert _visible(member.name) in values, member.name  # as author
    for note in notes:
        assert any(_visible(note) in v for v in values), note  # feedback and history
    for name in instructed:
        assert _visible(name) in values, name
    assert "=1+1" in values and '=HYPERLINK("http://evil.example","病假")' in values
    assert "第一段\n第二段=SUM(A1)" in values and "\n分页后".join(["@SUM(A1)", ""]) in values
    long_cells = [v for v in values if v.startswith("情况说明👍情况说明")]
    assert len(long_cells) == 1 and long_cells[0].endswith("…")
    assert LONG.startswith(long_cells[0][:-1]) and 31_000 < _utf16(long_cells[0]) <= 32_000

    await staff.tap(found, "📄 导出 Word 汇编")
    compilation = await bot.emu.wait_for(STAFF, _document(".docx"))
    assert compilation.data is not None
    text = _docx_text(compilation.data)
    assert "第一段\n第二段=SUM(A1)" in text and "@SUM(A1)\n分页后" in text
    assert LONG in text and '=HYPERLINK("http://evil.example","病假")' in text
    for member in people.values():
        assert _visible(member.name) in text, member.name

    legacy_receipt = legacy.receipt_no
    assert legacy_receipt is not None
    await staff.send_command("reports", legacy_receipt)
    card = await bot.emu.wait_for(STAFF, _has_button("📄 Word 文稿"))
    await staff.tap(card, "📄 Word 文稿")
    one = await bot.emu.wait_for(STAFF, _document(f"{legacy_receipt}.docx"))
    assert one.data is not None
    assert _visible(LEGACY["title"]) in _docx_text(one.data)

    # The duty record and the award candidates.
    await staff.send_text("📊 履职统计")
    chart = await bot.emu.wait_for(STAFF, lambda m: m.kind == "photo")
    assert chart.data is not None and chart.data.startswith(b"\x89PNG")
    stats = await bot.emu.wait_for(STAFF, "2026年履职统计")
    await staff.tap(stats, "📥 导出2026年档案")
    records = await bot.emu.wait_for(STAFF, _document("履职档案-2026.xlsx"))
    assert records.data is not None
    values = _book_strings(records.data)
    for member in people.values():
        assert _visible(member.name) in values, member.name
    for point in points:
        assert _visible(point) in values, point
    for sector in sectors:
        assert _visible(sector) in values, sector
    for committee in committees:
        assert any(_visible(committee) in v.split("、") for v in values), committee
    await staff.tap(stats, "🏅 2026年评优候选")
    awards = await bot.emu.wait_for(STAFF, _document("评优候选-2026.xlsx"))
    assert awards.data is not None
    values = _book_strings(awards.data)
    excellent = [r for r in stored.values() if r.excellent]
    assert excellent
    for report in excellent:
        assert report.title is not None and _visible(report.title) in values, report.title
    assert "=1+1" in values  # the liaison point with the micro-consultation

    # The activity roster with the leave reasons, and the import template.
    await staff.send_command("activities")
    home = await bot.emu.wait_for(STAFF, "活动管理")
    listed = next(b for b in home.buttons() if "HYPERLINK" in b)
    await staff.tap(home, listed)
    activity_card = await bot.emu.wait_for(STAFF, _has_button("📥 导出名单"), after=0)
    await staff.tap(activity_card, "📥 导出名单")
    roster = await bot.emu.wait_for(STAFF, _document("-roster.xlsx"))
    assert roster.data is not None
    values = _book_strings(roster.data)
    for reason in reasons:
        assert _visible(reason) in values, reason
    for member in people.values():
        assert _visible(member.name) in values, member.name
    assert '=HYPERLINK("http://evil.example","开放日")' in values and "@SUM(A1)" in values
    await staff.send_command("activities")
    home = await bot.emu.wait_for(STAFF, "活动管理")
    await staff.tap(home, "📥 批量导入")
    template = await bot.emu.wait_for(STAFF, _document("activities-template.xlsx"))
    assert template.data is not None and "标题" in _book_strings(template.data)
    await staff.send_command("cancel")

    # Notice statistics: hostile reply options and the recipients' names.
    values = _book_strings(await _notice_with_hostile_options(bot))
    for option in ("=1+1", "@SUM(A1)", "-2", "+cmd"):
        assert option in values, option
    for member in people.values():
        assert _visible(member.name) in values, member.name
