"""Duty record on SQLite and PostgreSQL: counts from a known fixture, points under the rules,
who may see what, statistics, the xlsx export and the award candidates."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import TELEGRAM
from bot.i18n import Texts
from handlers.duty_record.export import write_awards, write_year
from storage import duty_record, reports
from storage.audit import Actor
from storage.db import Database
from storage.duty_record import Access, GroupBy
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityType,
    AuditLog,
    Committee,
    Identity,
    LiaisonPoint,
    Member,
    Role,
    Sector,
    SignupStatus,
)
from storage.models.notices import AckMode, Notice, NoticeRecipient, NoticeStatus
from storage.models.outbox import DeliveryStatus, OutboxMessage
from storage.reports import Limits, ReviewAction
from storage.scoring import Metric, ScoringRules, load_rules

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
RULES = load_rules()
LIMITS = Limits()


@dataclass
class World:
    a: int  # 林文华: 经济界, 经济委 + 提案委
    b: int  # 陈静: 科技界, 经济委; co-author of R1
    c: int  # 黄志强: 经济界, no committee
    staff: int
    r1: int  # A with co-author B: adopted, forwarded, instructed, excellent
    r2: int  # A: returned, revised, resubmitted, adopted
    point1: int
    point2: int


def at(text: str) -> datetime:
    """A Shanghai local time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(UTC)


async def _report(
    db: Database,
    author: int,
    staff: int,
    *,
    when: datetime,
    coauthors: tuple[int, ...] = (),
    review: tuple[ReviewAction, ...] = (),
    title: str = "老旧小区加装电梯",
) -> int:
    """A report through the opinion-report operations themselves (draft, submit, review)."""
    async with db.transaction() as s:
        for name, text in (
            ("title", title),
            ("situation", "基本情况"),
            ("problem", "存在问题"),
            ("suggestions", "意见建议"),
        ):
            assert (await reports.save_text(s, author, name, text, LIMITS)).ok
        draft = await reports.save_category(s, author, "livelihood", ["livelihood"])
        assert draft.report is not None
        report_id = draft.report.id
        for co in coauthors:
            assert (await reports.add_coauthor(s, author, report_id, co)).ok
        assert (await reports.submit(s, author, report_id, revision=None, now=when, tz=TZ)).ok
    for step, action in enumerate(review, start=1):
        async with db.transaction() as s:
            note = "请补充数据" if action is ReviewAction.return_ else "批示内容"
            result = await reports.review(
                s,
                Actor(member_id=staff),
                report_id,
                action,
                note=note,
                instructed_by="市领导" if action is ReviewAction.instruct else None,
                now=when + timedelta(days=step),
            )
            assert result.ok, result
    return report_id


async def _resubmit(db: Database, author: int, report_id: int, when: datetime) -> None:
    async with db.transaction() as s:
        assert (await reports.revise(s, author, report_id)).ok
        assert (await reports.save_text(s, author, "problem", "补充后的问题", LIMITS)).ok
        assert (await reports.submit(s, author, report_id, revision=None, now=when, tz=TZ)).ok


async def _activity(
    s: AsyncSession,
    *,
    starts: datetime,
    status: ActivityStatus = ActivityStatus.published,
    kind: ActivityType = ActivityType.visit,
    point: int | None = None,
    signups: dict[int, tuple[SignupStatus, bool]],
) -> int:
    """An activity with sign-ups: member -> (status, had signed up before)."""
    activity = Activity(
        type=kind,
        status=status,
        title="活动",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        liaison_point_id=point,
        cancelled_at=starts - timedelta(days=1) if status is ActivityStatus.cancelled else None,
    )
    s.add(activity)
    await s.flush()
    for member_id, (state, signed) in signups.items():
        s.add(
            ActivitySignup(
                activity_id=activity.id,
                member_id=member_id,
                status=state,
                signed_up_at=starts - timedelta(days=3) if signed else None,
                checked_in_at=starts if state is SignupStatus.checked_in else None,
            )
        )
    return activity.id


async def _notice(
    s: AsyncSession,
    *,
    sent: datetime,
    ack: AckMode = AckMode.received,
    recipients: dict[int, tuple[DeliveryStatus, datetime | None]],
) -> None:
    notice = Notice(body="请按时参加", status=NoticeStatus.done, ack_mode=ack, queued_at=sent)
    s.add(notice)
    await s.flush()
    for member_id, (delivery, acked) in recipients.items():
        row = OutboxMessage(
            kind="notice",
            member_id=member_id,
            channel=TELEGRAM,
            address=str(member_id),
            template="notices.message",
            status=delivery,
            source_type="notice",
            source_id=notice.id,
            sent_at=sent + timedelta(minutes=5) if delivery is DeliveryStatus.sent else None,
        )
        s.add(row)
        await s.flush()
        s.add(
            NoticeRecipient(
                notice_id=notice.id,
                member_id=member_id,
                outbox_id=row.id,
                ack_option=0 if acked else None,
                acked_at=acked,
            )
        )


async def _world(db: Database) -> World:
    async with db.transaction() as s:
        economy, science = Sector(name="经济界"), Sector(name="科技界")
        c1, c2 = Committee(name="经济委"), Committee(name="提案委")
        p1, p2 = LiaisonPoint(name="鼓楼联系点"), LiaisonPoint(name="台江联系点")
        s.add_all([economy, science, c1, c2, p1, p2])
        await s.flush()
        a = Member(name="林文华", phone="+8613800000001", sector_id=economy.id, committees=[c1, c2])
        b = Member(name="陈静", phone="+8613800000002", sector_id=science.id, committees=[c1])
        c = Member(name="黄志强", phone="+8613800000003", sector_id=economy.id, committees=[])
        staff = Member(name="机关干部", phone="+8613800000009", role=Role.staff, committees=[])
        s.add_all([a, b, c, staff])
        await s.flush()
        ids = (a.id, b.id, c.id, staff.id, p1.id, p2.id)
    a_id, b_id, c_id, staff_id, p1_id, p2_id = ids

    r1 = await _report(
        db,
        a_id,
        staff_id,
        when=at("2026-03-02 09:00"),
        coauthors=(b_id,),
        review=(
            ReviewAction.adopt,
            ReviewAction.forward,
            ReviewAction.instruct,
            ReviewAction.excellent,
        ),
    )
    r2 = await _report(
        db, a_id, staff_id, when=at("2026-04-01 09:00"), review=(ReviewAction.return_,)
    )
    await _resubmit(db, a_id, r2, at("2026-04-10 09:00"))
    async with db.transaction() as s:
        assert (
            await reports.review(
                s,
                Actor(member_id=staff_id),
                r2,
                ReviewAction.adopt,
                note=None,
                now=at("2026-04-12 09:00"),
            )
        ).ok
    # B's own report: returned and not (yet) resubmitted.
    await _report(db, b_id, staff_id, when=at("2026-05-01 09:00"), review=(ReviewAction.return_,))
    # A's report of the previous year, and an unsubmitted draft: not on the 2026 record.
    await _report(db, a_id, staff_id, when=at("2025-06-01 09:00"), title="上一年度的信息")
    async with db.transaction() as s:
        assert (await reports.save_text(s, a_id, "title", "还没提交的草稿", LIMITS)).ok

    async with db.transaction() as s:
        checked, signed, leave = SignupStatus.checked_in, SignupStatus.signed_up, SignupStatus.leave
        # Over: A attended, B held a place and did not come (absent), C asked for leave
        # without ever signing up.
        await _activity(
            s,
            starts=at("2026-05-10 09:00"),
            kind=ActivityType.micro_consultation,
            point=p1_id,
            signups={a_id: (checked, True), b_id: (signed, True), c_id: (leave, False)},
        )
        # Cancelled by the office after A and B signed up: counts for nothing.
        await _activity(
            s,
            starts=at("2026-06-01 09:00"),
            status=ActivityStatus.cancelled,
            kind=ActivityType.micro_consultation,
            point=p2_id,
            signups={a_id: (signed, True), b_id: (signed, True)},
        )
        # Not held yet: A holds a place (upcoming), B is on the waiting list.
        await _activity(
            s,
            starts=at("2026-12-05 09:00"),
            kind=ActivityType.micro_consultation,
            point=p2_id,
            signups={a_id: (signed, True), b_id: (SignupStatus.waiting, False)},
        )
        # Over: A signed up then asked for leave, B attended, C cancelled in time.
        await _activity(
            s,
            starts=at("2026-09-01 14:00"),
            kind=ActivityType.micro_consultation,
            point=p2_id,
            signups={
                a_id: (leave, True),
                b_id: (checked, True),
                c_id: (SignupStatus.cancelled, True),
            },
        )
        # 1 January 2026, 01:00 in Shanghai (still 2025 in UTC): a 2026 activity.
        await _activity(s, starts=at("2026-01-01 01:00"), signups={a_id: (checked, True)})
        # Last year's activity.
        await _activity(s, starts=at("2025-11-01 09:00"), signups={a_id: (checked, True)})

        sent = at("2026-10-01 09:00")
        await _notice(
            s,
            sent=sent,
            recipients={
                a_id: (DeliveryStatus.sent, sent + timedelta(hours=10)),  # on time
                b_id: (DeliveryStatus.sent, sent + timedelta(hours=100)),  # late
                c_id: (DeliveryStatus.sent, None),  # missed
            },
        )
        recent = NOW - timedelta(days=1)
        await _notice(
            s,
            sent=recent,
            recipients={
                a_id: (DeliveryStatus.sent, None),  # still within the on-time window
                b_id: (DeliveryStatus.failed, None),  # never reached B: not asked
            },
        )
        # No acknowledgement asked: not on the record.
        await _notice(
            s, sent=sent, ack=AckMode.none, recipients={a_id: (DeliveryStatus.sent, None)}
        )
    return World(a_id, b_id, c_id, staff_id, r1, r2, p1_id, p2_id)


async def _record(
    db: Database,
    viewer: int,
    year: int = 2026,
    member_id: int | None = None,
    rules: ScoringRules = RULES,
) -> duty_record.RecordResult:
    async with db.snapshot() as s:
        return await duty_record.record(
            s, viewer, year, now=NOW, tz=TZ, rules=rules, member_id=member_id
        )


async def test_record_counts_every_edge_case(db: Database) -> None:
    w = await _world(db)
    a = (await _record(db, w.a)).record
    assert a is not None and a.name == "林文华" and a.sector == "经济界"
    f = a.facts
    # R1 and R2 (returned, resubmitted, adopted: once, and adopted); not last year's, no draft.
    assert (f.reports_submitted, f.reports_adopted, f.reports_forwarded) == (2, 2, 1)
    assert (f.reports_instructed, f.reports_excellent, f.reports_used, f.co_submitted) == (
        1,
        1,
        2,
        0,
    )
    # Attended 10 May and 1 January (local); leave after signing up; the cancelled activity
    # counts for nothing; 5 December is still to come.
    assert (f.activities_attended, f.activities_leave, f.activities_absent) == (2, 1, 0)
    assert (f.activities_upcoming, f.activities_signed_up) == (1, 4)
    assert (f.notices_asked, f.notices_on_time, f.notices_open, f.notices_missed) == (2, 1, 1, 0)
    # 2 + 2x3 + 2 + 5 + 5 for reports, 2x2 for attendance, 0.5 for the acknowledgement.
    assert a.score.total == 24.5
    lines = {line.metric: line for line in a.score.lines}
    assert lines[Metric.report_adopted].count == 2 and lines[Metric.report_adopted].points == 6


async def test_coauthor_and_absence_and_late_acknowledgement(db: Database) -> None:
    w = await _world(db)
    b = (await _record(db, w.b)).record
    assert b is not None
    f = b.facts
    # R1 as co-author (adopted, forwarded, instructed, excellent) and its own returned report.
    assert (f.reports_submitted, f.co_submitted, f.reports_adopted, f.co_adopted) == (2, 1, 1, 1)
    assert (f.reports_instructed, f.reports_excellent, f.reports_used, f.co_used) == (1, 1, 1, 1)
    # Held a place on 10 May and never came: absent; waiting list and cancelled: nothing.
    assert (f.activities_attended, f.activities_absent, f.activities_leave) == (1, 1, 0)
    assert f.activities_signed_up == 2
    # Late answer to the first notice; the second never reached B.
    assert (f.notices_asked, f.notices_late, f.notices_on_time) == (1, 1, 0)
    assert b.score.total == 2 + 3 + 2 + 5 + 5 + 2 - 2

    c = (await _record(db, w.c)).record
    assert c is not None
    assert (c.facts.activities_leave, c.facts.activities_signed_up) == (1, 0)
    assert (c.facts.notices_missed, c.facts.reports_submitted) == (1, 0)
    assert c.score.total == 0


async def test_changed_rules_recompute_without_rewriting(db: Database, tmp_path: Path) -> None:
    w = await _world(db)
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(
        "[reports]\ncoauthor_factor = 0.5\n[activities]\nabsent = -5\n", encoding="utf-8"
    )
    custom = load_rules(rules_file)
    before = (await _record(db, w.b)).record
    after = (await _record(db, w.b, rules=custom)).record
    assert before is not None and after is not None
    assert before.facts == after.facts
    # Co-authored R1 at half points: 1 + 0.5 + 1.5 + 1 + 2.5 + 2.5, attended 2, absent -5.
    assert after.score.total == 1.5 + 1.5 + 1 + 2.5 + 2.5 + 2 - 5
    again = (await _record(db, w.b)).record
    assert again is not None and again.score.total == before.score.total


async def test_earlier_year_and_year_buttons(db: Database) -> None:
    w = await _world(db)
    result = await _record(db, w.a, year=2025)
    assert result.record is not None
    f = result.record.facts
    assert (f.reports_submitted, f.activities_attended, result.record.score.total) == (1, 1, 3)
    assert result.other_years == (2026,)
    assert (await _record(db, w.a)).other_years == (2025,)
    assert (await _record(db, w.c)).other_years == ()


async def test_a_member_cannot_see_another_members_record(db: Database) -> None:
    w = await _world(db)
    refused = await _record(db, w.b, member_id=w.a)
    assert refused.access is Access.forbidden and refused.record is None
    own = await _record(db, w.b, member_id=w.b)
    assert own.access is Access.ok and own.record is not None and own.record.name == "陈静"
    staff = await _record(db, w.staff, member_id=w.a)
    assert staff.record is not None and staff.record.name == "林文华"
    assert (await _record(db, w.staff, member_id=999_999)).access is Access.not_found
    async with db.transaction() as s:
        member = await s.get(Member, w.staff)
        assert member is not None
        member.active = False
    assert (await _record(db, w.staff, member_id=w.a)).access is Access.forbidden


async def test_statistics_by_sector_and_committee_for_staff_only(db: Database) -> None:
    w = await _world(db)
    async with db.snapshot() as s:
        assert await duty_record.statistics(s, w.a, 2026, now=NOW, tz=TZ, rules=RULES) is None
        totals = await duty_record.statistics(s, w.staff, 2026, now=NOW, tz=TZ, rules=RULES)
    assert totals is not None
    sectors = {g.name: g for g in totals.groups(GroupBy.sector)}
    assert list(sectors) == ["科技界", "经济界"] or list(sectors) == ["经济界", "科技界"]
    economy, science = sectors["经济界"], sectors["科技界"]
    assert (economy.members, economy.reports, economy.used) == (2, 2, 2)
    assert economy.adoption_rate == 1.0 and economy.attendance_rate == 0.5
    assert (
        economy.acknowledgement_rate is not None
        and abs(economy.acknowledgement_rate - 1 / 3) < 1e-9
    )
    # B's only own report was returned; the co-authored R1 counts for A's sector.
    assert (science.reports, science.adoption_rate, science.acknowledgement_rate) == (1, 0.0, 1.0)
    committees = {g.name: g.members for g in totals.groups(GroupBy.committee)}
    assert committees == {"经济委": 2, "提案委": 1, None: 1}
    assert totals.overall.members == 3  # staff are not on the roster's record


async def test_year_export_opens_with_expected_rows(db: Database, tmp_path: Path) -> None:
    w = await _world(db)
    texts = Texts("zh-CN")
    path = tmp_path / "records.xlsx"
    async with db.transaction() as s:  # 林文华 uses the bot; the others do not yet
        s.add(Identity(member_id=w.a, channel=TELEGRAM, external_id="501", address="501"))

    def text(key: str) -> str:
        return texts.get("zh-CN", key)

    refused = await write_year(
        db, path, 2026, viewer_id=w.a, now=NOW, tz=TZ, rules=RULES, text=text
    )
    assert refused is None and not path.exists()
    export = await write_year(
        db, path, 2026, viewer_id=w.staff, now=NOW, tz=TZ, rules=RULES, text=text
    )
    assert export is not None and export.rows == 3
    book = load_workbook(path)
    assert book.sheetnames == ["2026年委员履职档案", "界别汇总", "专委会汇总"]
    sheet = book["2026年委员履职档案"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["姓名", "手机号", "使用本助手", "界别"]
    assert header[-2:] == ["积分", "状态"] and "编号" not in header  # no database ids
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == 12
    rows = {
        row[0]: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(2, values_only=True)
    }
    assert set(rows) == {"林文华", "陈静", "黄志强"}
    assert rows["林文华"]["积分"] == 24.5 and rows["林文华"]["采用"] == 2
    assert rows["林文华"]["专委会"] in ("提案委、经济委", "经济委、提案委")
    assert rows["陈静"]["其中联名"] == 1 and rows["陈静"]["无故缺席"] == 1
    assert rows["黄志强"]["请假"] == 1 and rows["黄志强"]["未回执"] == 1
    # Phones as staff dial them; who is not on the bot yet, in words, never a blank.
    assert rows["林文华"]["手机号"] == "138 0000 0001" and rows["陈静"]["手机号"] == "138 0000 0002"
    assert [rows[n]["使用本助手"] for n in ("林文华", "陈静", "黄志强")] == ["是", "否", "否"]
    for each in book.worksheets:  # every table filters, and says how wide its columns are
        assert each.auto_filter.ref is not None and each.auto_filter.ref.startswith("A1:")
        assert each.column_dimensions["A"].width
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}4"
    sectors = book["界别汇总"]
    summary = {r[0]: r for r in sectors.iter_rows(2, values_only=True)}
    assert set(summary) == {"经济界", "科技界"} and summary["经济界"][1] == 2
    assert sectors["E2"].number_format == "0.0%"


async def test_snapshot_read_does_not_block_writers(db: Database) -> None:
    await _world(db)
    async with db.snapshot() as s:
        before = await s.scalar(select(func.count()).select_from(Member))

        async def write() -> None:
            async with db.transaction() as w:
                w.add(Member(name="新委员", phone="+8613800000099"))

        # A writer finishes while the long read is still open (SQLite: no write lock held).
        await asyncio.wait_for(write(), timeout=10)
        during = await s.scalar(select(func.count()).select_from(Member))
    assert during == before  # one consistent view for the whole export
    async with db.snapshot() as s:
        assert await s.scalar(select(func.count()).select_from(Member)) == before + 1


async def test_award_candidates(db: Database, tmp_path: Path) -> None:
    w = await _world(db)
    async with db.snapshot() as s:
        assert await duty_record.award_candidates(s, w.b, 2026, now=NOW, tz=TZ, rules=RULES) is None
        awards = await duty_record.award_candidates(s, w.staff, 2026, now=NOW, tz=TZ, rules=RULES)
    assert awards is not None
    # C has no points: not a candidate.
    assert [(m.name, m.score.total) for m in awards.members] == [("林文华", 24.5), ("陈静", 17)]
    assert [r.report_id for r in awards.reports] == [w.r1]
    excellent = awards.reports[0]
    assert excellent.coauthors == ("陈静",) and excellent.instructed and excellent.adopted
    # Micro-consultations held: one at each point (the cancelled and the future one don't count).
    assert {(p.name, p.activities, p.participants) for p in awards.liaison_points} == {
        ("鼓楼联系点", 1, 1),
        ("台江联系点", 1, 1),
    }
    texts = Texts("zh-CN")
    path = tmp_path / "awards.xlsx"
    write_awards(
        awards,
        path,
        tz=TZ,
        text=lambda key: texts.get("zh-CN", key),
        label=lambda kind, value: value,
    )
    book = load_workbook(path)
    members = list(book.worksheets[0].iter_rows(2, values_only=True))
    assert [(r[0], r[1], r[4]) for r in members] == [(1, "林文华", 24.5), (2, "陈静", 17)]
    report_rows = list(book.worksheets[1].iter_rows(2, values_only=True))
    assert report_rows[0][4] == "林文华" and report_rows[0][6] == "陈静"
    # Submitted: an Excel datetime, the office's wall-clock time (Excel has no zones).
    submitted = report_rows[0][8]
    assert isinstance(submitted, datetime) and submitted.tzinfo is None
    assert book.worksheets[1].cell(2, 9).number_format == "yyyy-mm-dd hh:mm"
    assert [s.auto_filter.ref for s in book.worksheets] == ["A1:M3", "A1:J2", "A1:E3"]
    assert "批示" in report_rows[0][7]
    assert book.worksheets[2].max_row == 3


async def test_audit_of_exports(db: Database) -> None:
    w = await _world(db)
    async with db.transaction() as s:
        await duty_record.record_export(s, Actor(member_id=w.staff), "duty.export", 2026, 3)
    async with db.snapshot() as s:
        row = await s.scalar(select(AuditLog).where(AuditLog.action == "duty.export"))
        assert row is not None and row.actor_member_id == w.staff
        assert (row.object_id, row.details) == ("2026", {"rows": 3})


def test_top_with_ties_keeps_the_tied_last_place() -> None:
    def entry(member_id: int, points: float) -> duty_record.MemberYear:
        facts = duty_record.Facts(activities_attended=int(points // 2))
        return duty_record.MemberYear(
            member_id, f"委员{member_id}", None, (), None, True, 2026, facts,
            duty_record.Score((), points),
        )  # fmt: skip

    chosen = duty_record.top_with_ties(
        [entry(1, 10), entry(2, 8), entry(3, 8), entry(4, 6), entry(5, 0)], 2
    )
    assert [e.member_id for e in chosen] == [1, 2, 3]
    assert duty_record.top_with_ties([entry(5, 0)], 3) == []
