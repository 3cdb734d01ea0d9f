"""Opinion report storage on SQLite and PostgreSQL: drafts, receipt numbers, review, search."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.settings import SettingsError, load_settings
from storage import reports
from storage.audit import Actor
from storage.db import Database
from storage.models import AuditLog, Member, Report, ReportStatus, Role, Sector
from storage.reports import Limits, Outcome, ReportFilter, ReviewAction

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
LIMITS = Limits(title=30, section=200, max_attachments=2, max_bytes=1000, file_types=("pdf",))


async def _members(db: Database, count: int, *, sector: str | None = None) -> list[int]:
    async with db.transaction() as session:
        sector_id = None
        if sector is not None:
            row = Sector(name=sector)
            session.add(row)
            await session.flush()
            sector_id = row.id
        people = [
            Member(name=f"委员{i:03d}", phone=f"+86139{i:08d}", sector_id=sector_id)
            for i in range(count)
        ]
        session.add_all(people)
        await session.flush()
        return [m.id for m in people]


async def _complete_draft(db: Database, member_id: int, title: str = "老旧小区加装电梯") -> int:
    async with db.transaction() as session:
        for name, text in (
            ("title", title),
            ("situation", "基本情况的描述"),
            ("problem", "存在的问题"),
            ("suggestions", "意见和建议"),
        ):
            assert (await reports.save_text(session, member_id, name, text, LIMITS)).ok
        result = await reports.save_category(session, member_id, "livelihood", ["livelihood"])
        assert result.report is not None
        return result.report.id


async def _submit(db: Database, member_id: int, report_id: int, now: datetime = NOW) -> str:
    async with db.transaction() as session:
        result = await reports.submit(session, member_id, report_id, revision=None, now=now, tz=TZ)
    assert result.ok and result.report is not None and result.report.receipt_no
    return result.report.receipt_no


async def test_receipt_numbers_are_sequential_under_concurrent_submission(db: Database) -> None:
    count = 20
    member_ids = await _members(db, count)
    drafts = [await _complete_draft(db, m) for m in member_ids]

    async def submit_one(member_id: int, report_id: int) -> str:
        # Each submission is its own transaction on its own connection, all at once.
        return await _submit(db, member_id, report_id)

    receipts = await asyncio.gather(
        *(submit_one(m, r) for m, r in zip(member_ids, drafts, strict=True))
    )
    assert sorted(receipts) == [f"SQ-2026-{n:06d}" for n in range(1, count + 1)]
    async with db.transaction() as session:
        stored = list(await session.scalars(select(Report.receipt_no)))
    assert sorted(r for r in stored if r) == sorted(receipts)


async def test_a_rolled_back_submission_leaves_no_gap_and_years_restart(db: Database) -> None:
    first, second, third = await _members(db, 3)
    a, b, c = [await _complete_draft(db, m) for m in (first, second, third)]
    assert await _submit(db, first, a) == "SQ-2026-000001"

    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            result = await reports.submit(session, second, b, revision=None, now=NOW, tz=TZ)
            assert result.report is not None and result.report.receipt_no == "SQ-2026-000002"
            raise RuntimeError("crash after numbering")
    assert await _submit(db, second, b) == "SQ-2026-000002"
    # 31 Dec 17:00 UTC is already 1 January in Shanghai: a new year, a new sequence.
    new_year = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    assert await _submit(db, third, c, now=new_year) == "SQ-2027-000001"


async def test_one_open_draft_per_member_and_answers_are_checked(db: Database) -> None:
    (member,) = await _members(db, 1)
    async with db.transaction() as session:
        empty = await reports.save_text(session, member, "title", "   \n ", LIMITS)
        long = await reports.save_text(session, member, "situation", "字" * 201, LIMITS)
        assert await reports.open_draft(session, member) is None
        first = await reports.save_text(session, member, "title", "  标题  一 ", LIMITS)
        again = await reports.save_text(session, member, "problem", "问题", LIMITS)
        bad = await reports.save_category(session, member, "space", ["economy"])
    assert empty.outcome is Outcome.empty
    assert long.outcome is Outcome.too_long and (long.length, long.limit) == (201, 200)
    assert bad.outcome is Outcome.bad_category
    assert first.report is not None and again.report is not None
    assert first.report.id == again.report.id
    assert again.report.title == "标题 一" and again.report.problem == "问题"
    assert again.report.missing == ("category", "situation", "suggestions")


async def test_double_submit_and_stale_preview(db: Database) -> None:
    (member,) = await _members(db, 1)
    report_id = await _complete_draft(db, member)
    async with db.transaction() as session:
        view = await reports.open_draft(session, member)
        assert view is not None
        old_revision = view.revision
        await reports.save_text(session, member, "title", "新标题", LIMITS)
        stale = await reports.submit(
            session, member, report_id, revision=old_revision, now=NOW, tz=TZ
        )
        assert stale.outcome is Outcome.stale
        current = await reports.open_draft(session, member)
        assert current is not None
        ok = await reports.submit(
            session, member, report_id, revision=current.revision, now=NOW, tz=TZ
        )
        twice = await reports.submit(
            session, member, report_id, revision=current.revision, now=NOW, tz=TZ
        )
        edit = await reports.save_text(session, member, "title", "改", LIMITS)
        count = await session.scalar(select(func.count(Report.id)))
    assert ok.ok and twice.outcome is Outcome.already_submitted
    assert twice.report is not None and twice.report.receipt_no == "SQ-2026-000001"
    # Typing after submission starts a fresh draft; the submitted report is untouched.
    assert edit.report is not None and edit.report.id != report_id and count == 2


async def test_incomplete_draft_cannot_be_submitted(db: Database) -> None:
    (member,) = await _members(db, 1)
    async with db.transaction() as session:
        saved = await reports.save_text(session, member, "title", "只有标题", LIMITS)
        assert saved.report is not None
        result = await reports.submit(
            session, member, saved.report.id, revision=None, now=NOW, tz=TZ
        )
    assert result.outcome is Outcome.incomplete
    assert result.report is not None and "problem" in result.report.missing


async def test_quick_text_fills_labelled_sections_and_never_overwrites(db: Database) -> None:
    (member,) = await _members(db, 1)
    text = "标题：背街小巷路灯不亮\n基本情况：三条小巷\n晚上漆黑一片\n意见建议：尽快维修"
    async with db.transaction() as session:
        first = await reports.merge_quick(session, member, text, LIMITS)
        more = await reports.merge_quick(session, member, "居民反映多次", LIMITS)
        too_long = await reports.merge_quick(session, member, "长" * 250, LIMITS)
    assert first.report is not None and more.report is not None
    assert first.report.source.value == "quick"
    assert first.report.title == "背街小巷路灯不亮"
    assert first.report.suggestions == "尽快维修"
    assert more.report.situation == "三条小巷\n晚上漆黑一片\n居民反映多次"
    assert more.report.missing == ("category", "problem")
    assert too_long.outcome is Outcome.too_long
    assert reports.parse_quick_text("路灯\n坏了三天", title_max=30, guess_title=True) == {
        "title": "路灯",
        "situation": "坏了三天",
    }
    # One line: its first clause is the title as well (tests/test_reports_quick_text.py).
    assert reports.parse_quick_text("路灯坏了三天", title_max=30, guess_title=True) == {
        "title": "路灯坏了三天",
        "situation": "路灯坏了三天",
    }


async def test_attachment_rules(db: Database, tmp_path: Path) -> None:
    (member,) = await _members(db, 1)
    async with db.transaction() as session:
        draft = await reports.ensure_draft(session, member)

        async def add(kind: str, name: str, size: int) -> Outcome:
            result = await reports.add_attachment(
                session,
                member,
                draft.id,
                kind=kind,
                file_name=name,
                mime_type=None,
                size=size,
                path=reports.attachment_path(draft.id, name),
                file_ref=None,
                limits=LIMITS,
            )
            return result.outcome

        assert await add("document", "plan.exe", 10) is Outcome.bad_file_type
        assert await add("video", "clip.mp4", 10) is Outcome.bad_file_type
        assert await add("photo", "p.jpg", 1001) is Outcome.file_too_big
        assert await add("photo", "p.jpg", 10) is Outcome.ok
        assert await add("document", "plan.PDF", 10) is Outcome.ok
        assert await add("voice", "v.ogg", 10) is Outcome.too_many_files
        cleared, paths = await reports.clear_attachments(session, member)
    assert len(paths) == 2 and cleared.report is not None and not cleared.report.attachments
    path = reports.attachment_path(7, "../../etc/passwd")
    assert path.startswith("reports/7/") and ".." not in path


async def test_review_workflow_history_and_audit(db: Database) -> None:
    author, staff = await _members(db, 2)
    report_id = await _complete_draft(db, author)
    await _submit(db, author, report_id)
    actor = Actor(member_id=staff)
    later = NOW + timedelta(hours=1)
    async with db.transaction() as session:
        no_reason = await reports.review(
            session, actor, report_id, ReviewAction.return_, note="  ", now=later
        )
        no_leader = await reports.review(
            session, actor, report_id, ReviewAction.instruct, note="请研究", now=later
        )
        adopt = await reports.review(
            session, actor, report_id, ReviewAction.adopt, note="写得好", now=later
        )
        again = await reports.review(
            session, actor, report_id, ReviewAction.adopt, note=None, now=later
        )
        back = await reports.review(
            session, actor, report_id, ReviewAction.return_, note="理由", now=later
        )
        fwd = await reports.review(
            session, actor, report_id, ReviewAction.forward, note=None, now=later
        )
        instr = await reports.review(
            session,
            actor,
            report_id,
            ReviewAction.instruct,
            note="请有关部门研究办理",
            instructed_by="王副市长",
            now=later,
        )
        star = await reports.review(
            session, actor, report_id, ReviewAction.excellent, note=None, now=later
        )
        audits = list(await session.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert no_reason.outcome is Outcome.reason_required
    assert no_leader.outcome is Outcome.empty and no_leader.field == "instructed_by"
    assert adopt.ok and again.outcome is Outcome.not_allowed
    assert back.outcome is Outcome.not_allowed
    assert fwd.ok and instr.ok and star.ok
    assert star.report is not None and star.report.excellent
    assert star.report.status is ReportStatus.instructed
    actions = [e.action for e in star.report.events]
    assert actions == ["submitted", "adopt", "forward", "instruct", "excellent"]
    assert star.report.events[3].instructed_by == "王副市长"
    assert star.report.latest_feedback is not None
    assert star.report.latest_feedback.note == "请有关部门研究办理"
    assert audits == ["report.adopt", "report.forward", "report.instruct", "report.excellent"]


async def test_returned_report_is_revised_and_keeps_its_receipt(db: Database) -> None:
    author, other = await _members(db, 2)
    report_id = await _complete_draft(db, author)
    receipt = await _submit(db, author, report_id)
    async with db.transaction() as session:
        under_review = await reports.revise(session, author, report_id)
        await reports.review(
            session, Actor(other), report_id, ReviewAction.return_, note="补充数据", now=NOW
        )
        not_mine = await reports.revise(session, other, report_id)
        revising = await reports.revise(session, author, report_id)
        await reports.save_text(session, author, "problem", "补充了数据", LIMITS)
        kept = await reports.discard(session, author, report_id)
        await reports.revise(session, author, report_id)
    assert under_review.outcome is Outcome.not_editable
    assert not_mine.outcome is Outcome.not_found
    assert revising.ok and kept[0].report is not None
    assert kept[0].report.status is ReportStatus.returned and kept[1] == []
    assert kept[0].report.problem == "补充了数据"
    assert await _submit(db, author, report_id) == receipt
    async with db.transaction() as session:
        view = await reports.get(session, report_id)
    assert view is not None and view.status is ReportStatus.submitted
    assert [e.action for e in view.events][-1] == "resubmitted"


async def test_visibility_coauthors_and_listing(db: Database) -> None:
    author, coauthor, stranger = await _members(db, 3)
    report_id = await _complete_draft(db, author)
    async with db.transaction() as session:
        assert (await reports.add_coauthor(session, author, report_id, author)).outcome is (
            Outcome.self_coauthor
        )
        assert (await reports.add_coauthor(session, stranger, report_id, coauthor)).outcome is (
            Outcome.not_found
        )
        added = await reports.add_coauthor(session, author, report_id, coauthor)
        assert added.report is not None and [p.id for p in added.report.coauthors] == [coauthor]
        assert await reports.get_visible(session, coauthor, report_id) is None  # still a draft
        assert await reports.get(session, report_id) is None  # staff do not see drafts
    await _submit(db, author, report_id)
    async with db.transaction() as session:
        assert await reports.get_visible(session, stranger, report_id) is None
        assert await reports.get_visible(session, coauthor, report_id) is not None
        mine = await reports.list_mine(session, coauthor, 0, 5)
        theirs = await reports.list_mine(session, stranger, 0, 5)
    assert [s.id for s in mine.items] == [report_id] and mine.items[0].coauthored
    assert theirs.total == 0


async def test_search_filters_and_export(db: Database) -> None:
    (economist,) = await _members(db, 1, sector="经济界")
    async with db.transaction() as session:
        farmer = Member(name="农业委员", phone="+8613000000001")
        session.add(farmer)
        staff = Member(name="工作人员", phone="+8613000000002", role=Role.staff)
        session.add(staff)
        await session.flush()
        farmer_id, staff_id = farmer.id, staff.id
    a = await _complete_draft(db, economist, "经济报告")
    await _submit(db, economist, a)
    b = await _complete_draft(db, farmer_id, "农业报告")
    await _submit(db, farmer_id, b, now=NOW + timedelta(days=40))
    async with db.transaction() as session:
        await reports.review(
            session, Actor(staff_id), b, ReviewAction.adopt, note=None, now=NOW + timedelta(days=41)
        )
        sector = await reports.find_sector(session, "经济")
        assert sector is not None
        by_sector = await reports.search(session, ReportFilter(sector_id=sector.id), 0, 10)
        adopted = await reports.search(session, ReportFilter(status=ReportStatus.adopted), 0, 10)
        december = await reports.search(
            session, ReportFilter(submitted_from=NOW + timedelta(days=10)), 0, 10
        )
        by_member = await reports.search(session, ReportFilter(member_id=economist), 0, 10)
        queue = await reports.queue_count(session)
        first = await reports.next_in_queue(session)
        rows = await reports.export(session, ReportFilter(category="livelihood"))
    assert [s.title for s in by_sector.items] == ["经济报告"]
    assert [s.title for s in adopted.items] == ["农业报告"]
    assert [s.title for s in december.items] == ["农业报告"]
    assert [s.id for s in by_member.items] == [a]
    assert queue == 1 and first is not None and first.id == a
    assert [r.title for r in rows] == ["经济报告", "农业报告"]
    assert [e.action for e in rows[1].events] == ["submitted", "adopt"]


def test_category_setting_is_checked() -> None:
    with pytest.raises(SettingsError, match="REPORT_CATEGORIES"):
        load_settings(_env_file=None, report_categories=["economy", "economy"])
    with pytest.raises(SettingsError, match="REPORT_CATEGORIES"):
        load_settings(_env_file=None, report_categories=["x" * 61])
    assert load_settings(_env_file=None, report_categories=[" 教育 "]).report_categories == ["教育"]
