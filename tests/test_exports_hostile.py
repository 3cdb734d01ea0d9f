"""Hostile text in every field members and staff fill, then every file staff download.

Names, sectors, committees and liaison points come in through the roster import; reports,
co-authors and review notes through the report operations; leave reasons, notice reply options
and the activity's own fields through the bot. Each export is fetched through the bot and opened
with openpyxl (no formula anywhere, every value the exact text typed, minus the control
characters XML cannot hold) or python-docx. Also: control characters are dropped when a member's
report text is stored, a quick report's waiting messages stay bounded, and a refused first file
leaves no empty draft.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import docx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, update

from bot.channels import telegram_account
from bot.exports.cells import add_run, append_row, cell
from bot.tryout import SentMessage, SimUser
from storage import dialogs, reports
from storage.audit import Actor
from storage.db import Database
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    Committee,
    DialogState,
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
from tests.support import Harness

STAFF = 7001
FIRST_MEMBER = 7100
FIRST_ACCOUNT = telegram_account(FIRST_MEMBER).key  # whose dialog it is

# What members type, or paste from Word, or what a hostile member types on purpose.
HOSTILE: tuple[str, ...] = (
    "软换行\x0b第二行",  # Word's soft line break
    "空字符\x00在此",
    "单元分隔\x1f符",
    "=1+1",
    "+cmd",
    "-2",
    "@SUM(A1)",
    "\t=x",
    "\r=x",
    '=HYPERLINK("http://evil.example","病假")',
    "<b>加粗</b> & <i>x",
    "委员👍🏻🇨🇳",
    "成本$x^$元",  # matplotlib reads text between dollar signs as a formula
)
# A report stored before its text was cleaned on input (what broke both report exports).
LEGACY = {
    "title": "旧\x0b标题=1+1\x00",
    "situation": "第一段\x0b第二段\x00\x1f=SUM(A1)",
    "problem": "@SUM(A1)\x0c分页后",
    "suggestions": "\r=x\x08退格",
}
LONG = "情况说明👍" * 20_000  # 100,000 characters (120,000 UTF-16 units)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _visible(text: str) -> str:
    """What a file may show for text: Word's soft line and page breaks as new lines, other
    characters XML forbids gone, everything else exactly as typed. (Written out here, not
    imported, so the test does not trust the code it checks.)"""
    text = text.replace("\x0b", "\n").replace("\x0c", "\n")
    return "".join(
        ch
        for ch in text
        if (ch in "\t\n\r" or ord(ch) >= 0x20)
        and not 0xD800 <= ord(ch) <= 0xDFFF
        and ch not in "\ufffe\uffff"
    )


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _book_strings(data: bytes) -> list[str]:
    """Every string cell of a workbook, after checking the whole book holds no formula and no
    character XML forbids, and that text a spreadsheet would read as a formula is marked as
    typed text."""
    book = load_workbook(io.BytesIO(data))
    values: list[str] = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for c in row:
                assert c.data_type != "f", (sheet.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    assert c.data_type == "s", (sheet.title, c.coordinate)
                    assert c.value == _visible(c.value), (sheet.title, c.coordinate)
                    if c.value.startswith(FORMULA_STARTS):
                        assert c.quotePrefix, (sheet.title, c.coordinate, c.value)
                    values.append(c.value)
    return values


def _docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    return "\n".join(p.text for p in document.paragraphs)


def _phone(index: int) -> str:
    return f"+86139{index:08d}"


def _has_button(*labels: str) -> Any:
    def match(m: SentMessage) -> bool:
        return all(label in m.buttons() for label in labels)

    return match


def _document(name_end: str) -> Any:
    def match(m: SentMessage) -> bool:
        return m.kind == "document" and (m.file_name or "").endswith(name_end)

    return match


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


def test_the_cell_writer_keeps_text_numbers_and_dates() -> None:
    """Text that cannot reach a file through the bot (a lone surrogate, 100,000 characters),
    in both kinds of workbook openpyxl writes and in Word: the file is written and opens."""
    hostile = [*HOSTILE, "\x00=2+2", "孤立\ud800代理", "\ufffe反字节序", LONG]
    plain = [3, -2, 2.5, date(2026, 11, 25), datetime(2026, 11, 25, 9, 30), None]
    for write_only in (False, True):
        book = Workbook(write_only=write_only)
        sheet = book.create_sheet("x") if write_only else book.active
        assert sheet is not None
        append_row(sheet, hostile)
        append_row(sheet, [*plain, cell(sheet, 0.25, number_format="0.0%")])
        out = io.BytesIO()
        book.save(out)
        values = _book_strings(out.getvalue())
        assert values[:-1] == [_visible(v) for v in hostile[:-1]]
        assert values[-1].endswith("…") and _utf16(values[-1]) <= 32_000
        back = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
        numbers = [c.value for c in back[2]]
        assert numbers[:3] == [3, -2, 2.5] and numbers[5] is None and numbers[6] == 0.25
        assert numbers[3] == datetime(2026, 11, 25) and numbers[4] == datetime(2026, 11, 25, 9, 30)
        assert back.cell(2, 7).number_format == "0.0%"

    document = docx.Document()
    for value in hostile:
        add_run(document.add_paragraph(), value)
    out = io.BytesIO()
    document.save(out)
    text = _docx_text(out.getvalue())
    for value in hostile:
        # Word has no carriage return: python-docx writes it as a line break, read back as \n.
        assert _visible(value).replace("\r", "\n") in text, value[:20]


# -- input: what the report dialog stores -------------------------------------------------------


async def test_report_text_is_stored_without_control_characters(bot: Harness) -> None:
    member_id = await bot.add_member("林文华", "+8613800138001", telegram_user_id=FIRST_MEMBER)
    user = bot.emu.user(FIRST_MEMBER)
    await user.send_text("📝 提交社情民意")
    await bot.emu.wait_for(FIRST_MEMBER, "第 1/5 步")
    await user.send_text("路灯\x0b不亮\x00")
    categories = await bot.emu.wait_for(FIRST_MEMBER, "第 2/5 步")
    await user.tap(categories, "民生保障")
    await bot.emu.wait_for(FIRST_MEMBER, "第 3/5 步")
    await user.send_text("第一段\x0b第二段\x1f完\x0c第三段")
    await bot.emu.wait_for(FIRST_MEMBER, "第 4/5 步")
    async with bot.db.transaction() as s:
        draft = await s.scalar(select(Report).where(Report.member_id == member_id))
    assert draft is not None
    assert draft.title == "路灯 不亮"  # the soft break became a space in a one-line title
    assert draft.situation == "第一段\n第二段完\n第三段"
    await user.send_command("cancel")

    # A quick report from pasted Word text: its soft breaks split title and situation.
    other = await bot.add_member("陈静", "+8613800138002", telegram_user_id=FIRST_MEMBER + 1)
    quick = bot.emu.user(FIRST_MEMBER + 1)
    await quick.send_text("背街小巷路灯不亮\x0b三条小巷晚上漆黑一片\x00，居民出行不便。")
    await bot.emu.wait_for(FIRST_MEMBER + 1, "存为社情民意草稿")
    async with bot.db.transaction() as s:
        report = await s.scalar(select(Report).where(Report.member_id == other))
    assert report is not None
    assert report.title == "背街小巷路灯不亮"
    assert report.situation == "三条小巷晚上漆黑一片，居民出行不便。"


async def test_report_text_is_cleaned_before_either_database_sees_it(db: Database) -> None:
    """PostgreSQL refuses a NUL in text and a lone surrogate in any string: the same report
    text is stored cleaned on both, as what the member meant."""
    async with db.transaction() as s:
        member = Member(name="林文华", phone="+8613800138001")
        s.add(member)
        await s.flush()
        member_id = member.id
        saved = await reports.save_text(
            s, member_id, "situation", "第一段\x0b第二段\x00完\ud800", Limits()
        )
        assert saved.ok
        merged = await reports.merge_quick(
            s, member_id, "标题：路灯\x00不亮\n存在问题：缺\x1f维护\x0c无人管", Limits()
        )
        assert merged.ok
        suggestions = await reports.save_text(s, member_id, "suggestions", "\x08建立机制", Limits())
        assert suggestions.ok
    async with db.transaction() as s:
        report = await s.scalar(select(Report).where(Report.member_id == member_id))
    assert report is not None
    assert (report.title, report.situation) == ("路灯不亮", "第一段\n第二段完")
    assert (report.problem, report.suggestions) == ("缺维护\n无人管", "建立机制")


async def test_a_dialog_never_keeps_more_than_its_bound(db: Database) -> None:
    """The last line of defence behind the quick report's own limit: whatever a flow tries to
    keep, the state rewritten on every message stays small, and what was kept stays."""
    async with db.transaction() as s:
        await dialogs.set(s, FIRST_ACCOUNT, "report_quick", "merge", {"pending": {"texts": ["a"]}})
    with pytest.raises(dialogs.DialogStateTooLarge):
        async with db.transaction() as s:
            big = {"pending": {"texts": ["情况" * 20_000]}}
            await dialogs.set(s, FIRST_ACCOUNT, "report_quick", "merge", big)
    async with db.transaction() as s:
        kept = await dialogs.get(s, FIRST_ACCOUNT)
    assert kept is not None and kept.data == {"pending": {"texts": ["a"]}}


# -- the quick report's waiting messages ----------------------------------------------------------


async def _state_size(bot: Harness, user_id: int) -> int:
    async with bot.db.transaction() as s:
        row = await s.get(DialogState, telegram_account(user_id).key)
        return len(json.dumps(row.data if row else {}, ensure_ascii=False).encode())


async def test_messages_waiting_for_the_merge_answer_stay_bounded(bot: Harness) -> None:
    member_id = await bot.add_member("林文华", "+8613800138001", telegram_user_id=FIRST_MEMBER)
    async with bot.db.transaction() as s:
        for name, text in (("title", "老旧小区加装电梯"), ("situation", "全市老旧小区约三百个")):
            await reports.save_text(s, member_id, name, text, Limits())
    user = bot.emu.user(FIRST_MEMBER)
    await user.send_text("另外，电梯维保费用也应明确。")
    await bot.emu.wait_for(FIRST_MEMBER, "要把刚才的 1 条消息加入这份草稿吗")
    # Long messages, each for one section: three fit what the draft can hold (a title and
    # three sections of 2,000 characters), the rest are refused.
    body = "加装电梯需要全体业主同意，" * 146  # 1,898 characters
    sections = ("存在问题：", "意见建议：", "基本情况：")
    sizes = []
    for number in range(12):
        await user.send_text(sections[number % 3] + body)
        reply = await bot.emu.wait_for(
            FIRST_MEMBER, lambda m: "加入这份草稿" in (m.text or "") or "没有保存" in (m.text or "")
        )
        sizes.append(await _state_size(bot, FIRST_MEMBER))
        assert reply.buttons() == ["➕ 加入草稿", "✖ 不用了"]
    # Each refusal asks to answer first and says what waits; the state stopped growing.
    refusals = [
        m for m in bot.emu.messages_to(FIRST_MEMBER) if "这条消息没有保存" in (m.text or "")
    ]
    assert len(refusals) == 9
    assert "之前发送的 4 条消息已保留" in (refusals[-1].text or "")
    assert max(sizes) < 32 * 1024 and len(set(sizes[2:])) == 1
    # Answering adds everything that waited, and the draft's own text is still there.
    await user.tap(refusals[-1], "➕ 加入草稿")
    await bot.emu.wait_for(FIRST_MEMBER, "已把您的消息存为社情民意草稿")
    async with bot.db.transaction() as s:
        draft = await s.scalar(select(Report).where(Report.member_id == member_id))
    assert draft is not None and draft.title == "老旧小区加装电梯"
    assert draft.situation == f"全市老旧小区约三百个\n另外，电梯维保费用也应明确。\n{body}"
    assert draft.problem == body and draft.suggestions == body


# -- a refused first file -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "mime", "answer"),
    [
        ("big.pdf", b"%PDF" + b"0" * (1024 * 1024), "application/pdf", "文件太大了"),
        ("tool.exe", b"MZ-binary", "application/octet-stream", "不支持这种文件"),
    ],
)
async def test_a_refused_first_file_leaves_no_empty_draft(
    bot: Harness, name: str, data: bytes, mime: str, answer: str
) -> None:
    await bot.stop()
    bot.settings = bot.settings.model_copy(update={"report_max_attachment_mb": 1})
    await bot.start()
    await bot.add_member("林文华", "+8613800138001", telegram_user_id=FIRST_MEMBER)
    user: SimUser = bot.emu.user(FIRST_MEMBER)
    await user.send_document(data, name, mime)
    await bot.emu.wait_for(FIRST_MEMBER, answer)
    await user.send_text("📋 我的社情民意")
    await bot.emu.wait_for(FIRST_MEMBER, "还没有提交过")
    async with bot.db.transaction() as s:
        assert await s.scalar(select(func.count(Report.id))) == 0
        assert await s.get(DialogState, FIRST_ACCOUNT) is None
    assert not any("无标题" in (m.text or "") for m in bot.emu.messages_to(FIRST_MEMBER))


# -- an imported spreadsheet's cells ----------------------------------------------------------


async def test_cells_of_an_imported_activity_stay_text_in_its_export(bot: Harness) -> None:
    """Staff import activities from a spreadsheet whose cells start like formulas (as text:
    that is how a clerk's sheet holds them); the roster export shows them as written."""
    await bot.add_member("审核员", "+8615000150000", role=Role.staff, telegram_user_id=STAFF)
    staff = bot.emu.user(STAFF)
    upload = Workbook()
    sheet = upload.active
    assert sheet is not None
    sheet.append(["类型", "标题", "说明", "开始时间", "结束时间", "地点", "人数", "邀请范围"])
    sheet.append(
        [
            "视察调研",
            "=1+1 导入的视察",
            "+cmd|' /C calc'!A0",
            "2026-12-10 09:00",
            "12:00",
            "-2 号楼 <b>会议室</b>",
            20,
            "全体",
        ]
    )
    # A title typed as text (Excel's apostrophe), not a formula: openpyxl needs telling.
    sheet["B2"].data_type = "s"
    out = io.BytesIO()
    upload.save(out)
    await staff.send_command("activities")
    home = await bot.emu.wait_for(STAFF, "活动管理")
    await staff.tap(home, "📥 批量导入")
    await bot.emu.wait_for(STAFF, _document("activities-template.xlsx"))
    await staff.send_document(out.getvalue(), "plan.xlsx", "application/vnd.ms-excel")
    done = await bot.emu.wait_for(STAFF, "已导入 1 个活动")
    await staff.tap(done, "🚀 全部发布并通知")
    await bot.emu.wait_for(STAFF, "已发布 1 个活动")
    await staff.send_command("activities")
    home = await bot.emu.wait_for(STAFF, "活动管理")
    await staff.tap(home, next(b for b in home.buttons() if "导入的视察" in b))
    card = await bot.emu.wait_for(STAFF, _has_button("📥 导出名单"), after=0)
    await staff.tap(card, "📥 导出名单")
    roster = await bot.emu.wait_for(STAFF, _document("-roster.xlsx"))
    assert roster.data is not None
    values = _book_strings(roster.data)
    assert "=1+1 导入的视察" in values and "-2 号楼 <b>会议室</b>" in values
