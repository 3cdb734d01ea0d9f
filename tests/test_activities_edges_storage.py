"""Activities in storage, on SQLite and PostgreSQL, the rough edges of staff input: a postponed
start earlier than (or equal to) the current one, zero places, titles of only emoji or
punctuation (typed or in the spreadsheet), roster names of only emoji, and sectors, committees
or liaison points tapped on and off a draft's audience."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.channels import telegram_account
from storage import activities as acts
from storage.activities import Change, Field, Problem, TargetSpec, importer
from storage.audit import Actor
from storage.db import Database
from storage.models import (
    Activity,
    ActivityStatus,
    ActivityType,
    LiaisonPoint,
    Member,
    OutboxMessage,
    Sector,
    TargetKind,
)
from storage.roster import RejectedRow, RejectReason, RosterRow, import_roster
from tests.activities_storage_support import NOW, STAFF, TZ, _activity, _members, _sign_up

NO_WORDS = ["🎉", "🎉🎉🎉", "🇨🇳", "……", "!!!", "？？", "★☆", "👨‍👩‍👧", "—— 🎊 ——", "\u200d🎉"]
WITH_WORDS = ["🎉 新年联欢会", "走进政协", "2027", "Open day 🎉", "《政协章程》学习"]


async def test_postpone_to_an_earlier_or_the_same_start_is_refused(db: Database) -> None:
    (a,) = await _members(db, 1)
    aid = await _activity(db, starts_in=timedelta(days=7))
    await _sign_up(db, aid, a)
    async with db.transaction() as s:
        before = await acts.view(s, aid)
    assert before is not None and before.starts_at is not None
    for new_start in (
        before.starts_at - timedelta(days=1),  # earlier, still in the future
        before.starts_at - timedelta(minutes=1),
        before.starts_at,  # the same: no postponement
    ):
        async with db.transaction() as s:
            result = await acts.postpone(s, aid, new_start, actor=STAFF, now=NOW, tz=TZ)
        assert result.problem is Problem.postpone_not_later, new_start
        assert result.detail == acts.format_local(before.starts_at, TZ)
        assert not result.news
    # A time already past says so (the more useful answer), not "not later".
    async with db.transaction() as s:
        past = await acts.postpone(s, aid, NOW - timedelta(days=1), actor=STAFF, now=NOW, tz=TZ)
    assert past.problem is Problem.start_in_past
    async with db.transaction() as s:
        after = await acts.view(s, aid)
        told = await s.scalar(select(func.count()).select_from(OutboxMessage))
    assert after == before and told == 0
    # Later is still a postponement.
    async with db.transaction() as s:
        later = await acts.postpone(
            s, aid, before.starts_at + timedelta(minutes=1), actor=STAFF, now=NOW, tz=TZ
        )
    assert later.ok and len(later.news) == 1


def test_zero_places_is_refused_never_read_as_unlimited() -> None:
    for text in ("0", "０", "0人", "0名", " 0 ", "0.0", "00"):
        assert importer.parse_capacity(text) is importer.CapacityError.zero, text
    for text in ("不限", "", "unlimited", "—"):
        assert importer.parse_capacity(text) is None, text
    assert importer.parse_capacity("30人") == 30
    assert importer.parse_capacity("-1") is importer.CapacityError.invalid
    assert importer.parse_capacity("100001") is importer.CapacityError.invalid


async def test_zero_places_is_refused_as_an_edit(db: Database) -> None:
    aid = await _activity(db, capacity=30)
    async with db.transaction() as s:
        zero = await acts.update_field(
            s, aid, Change(Field.capacity, 0), actor=STAFF, now=NOW, tz=TZ
        )
        activity = await s.get(Activity, aid)
    assert zero.problem is Problem.capacity_invalid
    assert activity is not None and activity.capacity == 30


@pytest.mark.parametrize("title", NO_WORDS)
def test_a_title_of_only_emoji_or_punctuation_is_refused(title: str) -> None:
    assert acts.check_title(title) is Problem.title_no_words


@pytest.mark.parametrize("title", WITH_WORDS)
def test_a_title_with_words_and_emoji_is_taken(title: str) -> None:
    assert acts.check_title(title) is None


async def test_an_emoji_title_is_refused_as_an_edit_and_the_old_one_kept(db: Database) -> None:
    aid = await _activity(db, title="走进政协开放日")
    async with db.transaction() as s:
        emoji = await acts.update_field(
            s, aid, Change(Field.title, "🎉🎉🎉"), actor=STAFF, now=NOW, tz=TZ
        )
        mixed = await acts.update_field(
            s, aid, Change(Field.title, "🎉 新年联欢会"), actor=STAFF, now=NOW, tz=TZ
        )
        activity = await s.get(Activity, aid)
    assert emoji.problem is Problem.title_no_words
    assert mixed.ok and activity is not None and activity.title == "🎉 新年联欢会"


def _sheet(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["类型", "标题", "开始时间", "结束时间", "地点", "人数"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_the_spreadsheet_refuses_emoji_titles_and_zero_places(db: Database) -> None:
    rows = [
        ["微协商", "🎉🎉", "2026-12-05 14:30", "16:30", "政协大楼", 20],
        ["微协商", "养老微协商", "2026-12-06 14:30", "16:30", "政协大楼", 0],
        ["微协商", "养老微协商", "2026-12-07 14:30", "16:30", "政协大楼", "0"],
        ["微协商", "🎉 联欢会", "明天下午3点", "下午5点", "政协大楼", "不限"],
    ]
    async with db.transaction() as s:
        report = await importer.import_activities(
            s, importer.parse_sheet(_sheet(rows)), actor=STAFF, tz=TZ, now=NOW
        )
    assert [(p.row, p.error, p.detail) for p in report.problems] == [
        (2, importer.RowError.title_no_words, "🎉🎉"),
        (3, importer.RowError.bad_capacity, "0"),
        (4, importer.RowError.bad_capacity, "0"),
    ]
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Activity)) == 0
    async with db.transaction() as s:
        report = await importer.import_activities(
            s, importer.parse_sheet(_sheet(rows[3:])), actor=STAFF, tz=TZ, now=NOW
        )
        (created,) = [await s.get(Activity, i) for i in report.created]
    assert created is not None and created.status is ActivityStatus.draft
    assert created.capacity is None and created.title == "🎉 联欢会"


async def test_a_roster_name_of_only_emoji_is_refused(db: Database) -> None:
    rows = [
        RosterRow(2, "🎉🎉", "13800138001"),
        RosterRow(3, "……", "13800138002"),
        RosterRow(4, "王芳🎉", "13800138003"),
        RosterRow(5, "Li Ming", "13800138004"),
    ]
    async with db.transaction() as s:
        report = await import_roster(
            s, rows, actor=Actor.of(None, telegram_account(42)), source="test"
        )
    assert report.rejected == [
        RejectedRow(2, RejectReason.bad_name, "🎉🎉"),
        RejectedRow(3, RejectReason.bad_name, "……"),
    ]
    async with db.transaction() as s:
        names = set(await s.scalars(select(Member.name)))
    assert names == {"王芳🎉", "Li Ming"}


async def test_picking_liaison_points_toggles_a_drafts_audience(db: Database) -> None:
    async with db.transaction() as s:
        points = [LiaisonPoint(name=n) for n in ("鼓楼联系点", "台江联系点", "仓山联系点")]
        sector = Sector(name="经济界")
        s.add_all([*points, sector])
        await s.flush()
        gulou, taijiang, cangshan = (p.id for p in points)
        sector_id = sector.id
        aid = await acts.create_draft(s, ActivityType.micro_consultation, STAFF)
        await acts.set_targets(s, aid, [TargetSpec(TargetKind.everyone)], actor=STAFF)
        choices = await acts.target_choices(s, TargetKind.liaison_point)
        assert await acts.target_choices(s, TargetKind.member) == []
    assert [c.name for c in choices] == sorted(["鼓楼联系点", "台江联系点", "仓山联系点"])
    assert {c.ref_id for c in choices} == {gulou, taijiang, cangshan}

    async def tap(kind: TargetKind, ref: int) -> list[int] | Problem:
        async with db.transaction() as s:
            return await acts.toggle_target(s, aid, kind, ref, actor=STAFF)

    async def audience() -> list[tuple[TargetKind, int | None]]:
        async with db.transaction() as s:
            return [(t.kind, t.ref_id) for t in await acts.targets(s, aid)]

    # The first point replaces "everyone"; a second adds; tapping one again takes it off.
    assert await tap(TargetKind.liaison_point, gulou) == [gulou]
    assert await tap(TargetKind.liaison_point, taijiang) == [gulou, taijiang]
    assert await tap(TargetKind.liaison_point, gulou) == [taijiang]
    assert await audience() == [(TargetKind.liaison_point, taijiang)]
    # Another kind starts afresh; an id that does not exist changes nothing.
    assert await tap(TargetKind.sector, sector_id) == [sector_id]
    assert await tap(TargetKind.liaison_point, 999_999) is Problem.not_found
    assert await tap(TargetKind.member, 1) is Problem.not_found
    assert await audience() == [(TargetKind.sector, sector_id)]
    # Once published, who was invited is fixed.
    published = await _activity(db)
    async with db.transaction() as s:
        refused = await acts.toggle_target(
            s, published, TargetKind.liaison_point, gulou, actor=STAFF
        )
        assert refused is Problem.not_editable
        assert [t.kind for t in await acts.targets(s, published)] == [TargetKind.everyone]
