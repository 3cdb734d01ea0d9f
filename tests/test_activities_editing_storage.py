"""Activities in storage, on SQLite and PostgreSQL, staff editing and publishing: capacity and
time edits (checked, signed-up members told), postponing, publishing a complete draft once,
audiences named in text, and a place that names a liaison point."""

from __future__ import annotations

from datetime import timedelta

from storage import activities as acts
from storage.activities import Change, Field, Outcome, Problem, TargetSpec
from storage.db import Database
from storage.models import (
    Activity,
    ActivityStatus,
    ActivityType,
    LiaisonPoint,
    Member,
    Sector,
    TargetKind,
)
from tests.activities_storage_support import (
    NOW,
    STAFF,
    TZ,
    _activity,
    _members,
    _outbox,
    _sign_up,
    with_news,
)

# -- staff edits ---------------------------------------------------------------------------


async def test_capacity_below_signed_up_is_refused_and_raising_it_promotes(db: Database) -> None:
    member_ids = await _members(db, 5)
    aid = await _activity(db, capacity=3)
    for m in member_ids:
        await _sign_up(db, aid, m)
    async with db.transaction() as s:
        low = await with_news(
            s,
            await acts.update_field(s, aid, Change(Field.capacity, 2), actor=STAFF, now=NOW, tz=TZ),
        )
        zero = await with_news(
            s,
            await acts.update_field(s, aid, Change(Field.capacity, 0), actor=STAFF, now=NOW, tz=TZ),
        )
    assert low.problem is Problem.capacity_below_signed and low.detail == "3"
    assert zero.problem is Problem.capacity_invalid
    async with db.transaction() as s:
        up = await with_news(
            s,
            await acts.update_field(s, aid, Change(Field.capacity, 4), actor=STAFF, now=NOW, tz=TZ),
        )
    assert up.ok and up.promoted == (member_ids[3],)
    async with db.transaction() as s:
        view = await acts.view(s, aid)
    assert view is not None and (view.capacity, view.signed_up, view.waiting) == (4, 4, 1)


async def test_time_edits_are_checked_and_signed_up_members_are_told(db: Database) -> None:
    (a,) = await _members(db, 1)
    aid = await _activity(db)
    await _sign_up(db, aid, a)
    async with db.transaction() as s:
        activity = await s.get(Activity, aid)
        assert activity is not None and activity.starts_at is not None
        start = activity.starts_at
        before_start = await with_news(
            s,
            await acts.update_field(
                s,
                aid,
                Change(Field.ends_at, start - timedelta(hours=1)),
                actor=STAFF,
                now=NOW,
                tz=TZ,
            ),
        )
        late_deadline = await with_news(
            s,
            await acts.update_field(
                s,
                aid,
                Change(Field.signup_deadline, start + timedelta(hours=1)),
                actor=STAFF,
                now=NOW,
                tz=TZ,
            ),
        )
        past = await with_news(
            s,
            await acts.update_field(
                s,
                aid,
                Change(Field.starts_at, NOW - timedelta(hours=1)),
                actor=STAFF,
                now=NOW,
                tz=TZ,
            ),
        )
    assert before_start.problem is Problem.end_before_start
    assert late_deadline.problem is Problem.deadline_after_start
    assert past.problem is Problem.start_in_past
    assert await _outbox(db, "activities.notice_changed") == []
    async with db.transaction() as s:
        moved = await with_news(
            s,
            await acts.update_field(
                s, aid, Change(Field.place, "新会场"), actor=STAFF, now=NOW, tz=TZ
            ),
        )
    assert moved.ok and len(moved.news) == 1
    (notice,) = await _outbox(db, "activities.notice_changed")
    assert notice.member_id == a
    assert notice.params["change"] == {
        "key": "activities.change_place",
        "params": {"old": "政协大楼", "new": "新会场"},
    }


async def test_postpone_moves_end_and_deadline_and_tells_everyone(db: Database) -> None:
    a, b = await _members(db, 2)
    aid = await _activity(db, capacity=1, deadline_in=timedelta(days=5))
    await _sign_up(db, aid, a)
    await _sign_up(db, aid, b)
    new_start = NOW + timedelta(days=14)
    async with db.transaction() as s:
        result = await with_news(
            s, await acts.postpone(s, aid, new_start, actor=STAFF, now=NOW, tz=TZ)
        )
        view = await acts.view(s, aid)
    assert result.ok and len(result.news) == 2
    assert view is not None and view.status is ActivityStatus.postponed
    assert view.starts_at == new_start and view.ends_at == new_start + timedelta(hours=2)
    assert view.signup_deadline == NOW + timedelta(days=12)
    assert (await _sign_up(db, aid, a)).outcome is Outcome.already_signed_up  # still open
    notices = await _outbox(db, "activities.notice_postponed")
    assert {n.member_id for n in notices} == {a, b}


async def test_publish_needs_a_complete_draft_and_notifies_invited_members_once(
    db: Database,
) -> None:
    member_ids = await _members(db, 3)
    async with db.transaction() as s:
        unbound = Member(name="未绑定")
        s.add(unbound)
        aid = await acts.create_draft(s, ActivityType.micro_consultation, STAFF)
        incomplete = await with_news(
            s, await acts.publish(s, aid, actor=STAFF, now=NOW, notify_members=True)
        )
        assert incomplete.problem is Problem.incomplete and incomplete.detail == "title"
        for change in (
            Change(Field.title, "  社区养老微协商 "),
            Change(Field.starts_at, NOW + timedelta(days=3)),
            Change(Field.ends_at, NOW + timedelta(days=3, hours=2)),
            Change(Field.place, "鼓楼区联系点"),
            Change(Field.capacity, 20),
        ):
            assert (
                await with_news(
                    s, await acts.update_field(s, aid, change, actor=STAFF, now=NOW, tz=TZ)
                )
            ).ok
        no_audience = await with_news(
            s, await acts.publish(s, aid, actor=STAFF, now=NOW, notify_members=True)
        )
        assert no_audience.detail == "audience"
        await acts.set_targets(s, aid, [TargetSpec(TargetKind.everyone)], actor=STAFF)
        done = await with_news(
            s, await acts.publish(s, aid, actor=STAFF, now=NOW, notify_members=True)
        )
        twice = await with_news(
            s, await acts.publish(s, aid, actor=STAFF, now=NOW, notify_members=True)
        )
    assert done.ok and len(done.news) == 3
    assert twice.problem is Problem.already_published
    notices = await _outbox(db, "activities.notice_published")
    assert sorted(n.member_id for n in notices if n.member_id) == sorted(member_ids)
    assert notices[0].params["title"] == "社区养老微协商"
    assert notices[0].params["when"] == "2026-11-28 10:00–12:00"


async def test_resolve_targets_reports_unknown_names(db: Database) -> None:
    async with db.transaction() as s:
        s.add_all([Sector(name="经济界"), Sector(name="农业界")])
        await s.flush()
        found = await acts.resolve_targets(s, TargetKind.sector, "经济界，农业界、科幻界")
    assert [t.name for t in found.targets] == ["经济界", "农业界"]
    assert found.unknown == ["科幻界"]


async def test_place_naming_a_liaison_point_takes_its_name_and_coordinates(db: Database) -> None:
    async with db.transaction() as s:
        s.add_all(
            [
                LiaisonPoint(name="鼓楼区委员联系点", latitude=26.08, longitude=119.29),
                LiaisonPoint(name="台江区委员联系点"),
            ]
        )
        aid = await acts.create_draft(s, ActivityType.micro_consultation, STAFF)
        point = await acts.find_liaison_point(s, "鼓楼")
        ambiguous = await acts.find_liaison_point(s, "委员联系点")
        assert point is not None and ambiguous is None
        result = await with_news(
            s,
            await acts.update_field(
                s, aid, Change(Field.place, "鼓楼", point), actor=STAFF, now=NOW, tz=TZ
            ),
        )
        assert result.ok
        plain = await with_news(
            s,
            await acts.update_field(
                s, aid, Change(Field.place, "政协大楼三楼"), actor=STAFF, now=NOW, tz=TZ
            ),
        )
        assert plain.ok
        first = await acts.view(s, aid)
    assert first is not None
    assert (first.place, first.liaison_point_id, first.latitude) == ("政协大楼三楼", None, None)
    async with db.transaction() as s:
        point = await acts.find_liaison_point(s, "鼓楼")
        await with_news(
            s,
            await acts.update_field(
                s, aid, Change(Field.place, "鼓楼", point), actor=STAFF, now=NOW, tz=TZ
            ),
        )
        view = await acts.view(s, aid)
    assert view is not None and view.place == "鼓楼区委员联系点"
    assert (view.latitude, view.longitude) == (26.08, 119.29)
    assert view.liaison_point == "鼓楼区委员联系点"
