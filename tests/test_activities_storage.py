"""Activities in storage, on SQLite and PostgreSQL: capacity under concurrent taps, exactly-once
promotion, deadlines, leave, check-in, invitations, edits, roster and the batch import."""

from __future__ import annotations

import asyncio
import io
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import func, select

from bot.channels import telegram_account
from bot.i18n import Texts
from storage import activities as acts
from storage.activities import (
    Change,
    CheckinRules,
    Field,
    Notify,
    Outcome,
    Problem,
    TargetSpec,
)
from storage.activities import importer as activity_import
from storage.audit import Actor
from storage.db import Database
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    Committee,
    LiaisonPoint,
    Member,
    OutboxMessage,
    Sector,
    SignupStatus,
    TargetKind,
    member_committee,
)
from storage.outbox import button
from tests.support import bind_telegram

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
STAFF = Actor.of(None, telegram_account(1))
NOTIFY = Notify(TZ, lambda aid, kind: [[button("activities.btn_open", f"act:open:{aid}")]])
RULES = CheckinRules(timedelta(minutes=60), timedelta(minutes=120), 500.0)


_serial = itertools.count()


async def _members(db: Database, n: int, **fields: Any) -> list[int]:
    """n bound members with distinct phones (and names, unless one is given)."""
    async with db.transaction() as s:
        rows = []
        for _ in range(n):
            i = next(_serial)
            values = {"name": f"委员{i:03d}", **fields}
            rows.append((10_000 + i, Member(phone=f"+86139{i:08d}", **values)))
        s.add_all(m for _, m in rows)
        await s.flush()
        for user_id, member in rows:
            await bind_telegram(s, member.id, user_id)
        return [m.id for _, m in rows]


async def _activity(
    db: Database,
    *,
    capacity: int | None = 30,
    starts_in: timedelta = timedelta(days=7),
    deadline_in: timedelta | None = None,
    reply_required: bool = False,
    targets: list[tuple[TargetKind, int | None]] | None = None,
    **fields: Any,
) -> int:
    starts = NOW + starts_in
    async with db.transaction() as s:
        values: dict[str, Any] = {
            "type": ActivityType.visit,
            "status": ActivityStatus.published,
            "title": "走进政协开放日",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=2),
            "signup_deadline": NOW + deadline_in if deadline_in is not None else None,
            "place": "政协大楼",
            "capacity": capacity,
            "reply_required": reply_required,
            "published_at": NOW,
            **fields,
        }
        activity = Activity(**values)
        s.add(activity)
        await s.flush()
        for kind, ref in targets or [(TargetKind.everyone, None)]:
            s.add(ActivityTarget(activity_id=activity.id, kind=kind, ref_id=ref))
        return activity.id


async def _statuses(db: Database, activity_id: int) -> dict[int, tuple[SignupStatus, int | None]]:
    async with db.transaction() as s:
        rows = await s.execute(
            select(ActivitySignup.member_id, ActivitySignup.status, ActivitySignup.position).where(
                ActivitySignup.activity_id == activity_id
            )
        )
        return {m: (st, p) for m, st, p in rows}


async def _sign_up(db: Database, aid: int, mid: int, now: datetime = NOW) -> acts.Result:
    async with db.transaction() as s:
        return await acts.sign_up(s, aid, mid, now=now)


async def _cancel(db: Database, aid: int, mid: int, now: datetime = NOW) -> acts.Result:
    async with db.transaction() as s:
        return await acts.cancel(s, aid, mid, now=now, notify=NOTIFY)


async def _outbox(db: Database, template: str) -> list[OutboxMessage]:
    async with db.transaction() as s:
        return list(
            await s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.template == template)
                .order_by(OutboxMessage.id)
            )
        )


# -- capacity under load -------------------------------------------------------------------


async def test_200_simultaneous_signups_fill_30_places_and_queue_170_in_tap_order(
    db: Database,
) -> None:
    member_ids = await _members(db, 200)
    aid = await _activity(db, capacity=30)

    results = await asyncio.gather(*(_sign_up(db, aid, m) for m in member_ids))

    outcomes = [r.outcome for r in results]
    assert outcomes.count(Outcome.signed_up) == 30
    assert outcomes.count(Outcome.waiting) == 170
    rows = await _statuses(db, aid)
    signed = sorted(p for st, p in rows.values() if st is SignupStatus.signed_up if p)
    waiting = sorted(p for st, p in rows.values() if st is SignupStatus.waiting if p)
    # Positions are the commit order: 1..200 without gaps, the first 30 hold the places.
    assert signed == list(range(1, 31))
    assert waiting == list(range(31, 201))
    # Each member was told their own place in the queue, and the queue is the tap order.
    told = sorted(
        r.queue_position for r in results if r.outcome is Outcome.waiting if r.queue_position
    )
    assert told == list(range(1, 171))
    for result, member_id in zip(results, member_ids, strict=True):
        if result.outcome is Outcome.waiting:
            assert result.queue_position == rows[member_id][1] - 30  # type: ignore[operator]
    async with db.transaction() as s:
        view = await acts.view(s, aid)
    assert view is not None and (view.signed_up, view.waiting) == (30, 170)


async def test_sign_up_and_cancel_return_the_card_as_it_now_stands(db: Database) -> None:
    first, second = await _members(db, 2)
    aid = await _activity(db, capacity=1)

    taken = await _sign_up(db, aid, first)
    queued = await _sign_up(db, aid, second)
    again = await _sign_up(db, aid, second)
    assert taken.card is not None and taken.card.me.status is SignupStatus.signed_up
    assert (taken.card.activity.signed_up, taken.card.invited) == (1, True)
    assert queued.card is not None and queued.card.me.status is SignupStatus.waiting
    assert queued.card.me.queue_position == 1 and queued.card.activity.waiting == 1
    assert again.outcome is Outcome.already_waiting and again.card == queued.card

    # The place given back goes to the waiting member before the card is drawn.
    freed = await _cancel(db, aid, first)
    assert freed.card is not None and freed.card.me.status is SignupStatus.cancelled
    assert (freed.card.activity.signed_up, freed.card.activity.waiting) == (1, 0)
    assert freed.promoted == (second,)


async def test_simultaneous_cancels_promote_different_members_exactly_once(db: Database) -> None:
    member_ids = await _members(db, 40)
    aid = await _activity(db, capacity=30)
    for m in member_ids:
        await _sign_up(db, aid, m)
    leaving = member_ids[:6]

    results = await asyncio.gather(*(_cancel(db, aid, m) for m in leaving))

    promoted = [p for r in results for p in r.promoted]
    assert sorted(promoted) == sorted(member_ids[30:36])  # the first six waiting, each once
    rows = await _statuses(db, aid)
    assert sum(st is SignupStatus.signed_up for st, _ in rows.values()) == 30
    assert [m for m in member_ids[30:] if rows[m][0] is SignupStatus.waiting] == member_ids[36:]
    messages = await _outbox(db, "activities.notice_promoted")
    assert sorted(m.member_id for m in messages if m.member_id) == sorted(member_ids[30:36])
    assert all(
        m.buttons == [[{"key": "activities.btn_open", "data": f"act:open:{aid}"}]] for m in messages
    )
    # A repeat of the same cancel changes nothing and promotes nobody.
    again = await _cancel(db, aid, leaving[0])
    assert again.outcome is Outcome.not_signed_up and again.promoted == ()
    assert len(await _outbox(db, "activities.notice_promoted")) == 6


# -- sign-up rules -----------------------------------------------------------------------------


async def test_signing_up_twice_is_refused_and_changes_nothing(db: Database) -> None:
    (member,) = await _members(db, 1)
    aid = await _activity(db, capacity=1)
    assert (await _sign_up(db, aid, member)).outcome is Outcome.signed_up
    assert (await _sign_up(db, aid, member)).outcome is Outcome.already_signed_up
    rows = await _statuses(db, aid)
    assert rows == {member: (SignupStatus.signed_up, 1)}


async def test_waiting_member_signing_again_learns_their_place(db: Database) -> None:
    a, b, c = await _members(db, 3)
    aid = await _activity(db, capacity=1)
    await _sign_up(db, aid, a)
    await _sign_up(db, aid, b)
    await _sign_up(db, aid, c)
    again = await _sign_up(db, aid, c)
    assert again.outcome is Outcome.already_waiting and again.queue_position == 2


async def test_after_deadline_signup_closes_and_cancel_becomes_leave(db: Database) -> None:
    a, b = await _members(db, 2)
    aid = await _activity(db, capacity=1, deadline_in=timedelta(days=1))
    await _sign_up(db, aid, a)
    await _sign_up(db, aid, b)
    later = NOW + timedelta(days=2)
    assert (await _sign_up(db, aid, a, later)).outcome is Outcome.already_signed_up
    (c,) = await _members(db, 1, name="迟到")
    assert (await _sign_up(db, aid, c, later)).outcome is Outcome.deadline_passed
    assert (await _cancel(db, aid, a, later)).outcome is Outcome.needs_leave
    assert (await _statuses(db, aid))[a][0] is SignupStatus.signed_up
    # The waiting member can still step off the list after the deadline.
    assert (await _cancel(db, aid, b, later)).outcome is Outcome.cancelled
    async with db.transaction() as s:
        left = await acts.leave(s, aid, a, reason="出差", now=later, notify=NOTIFY)
    assert left.outcome is Outcome.left
    rows = await _statuses(db, aid)
    assert rows[a][0] is SignupStatus.leave and c not in rows


async def test_cancelled_activity_and_unknown_or_draft_ids_refuse_sign_up(db: Database) -> None:
    (member,) = await _members(db, 1)
    aid = await _activity(db)
    async with db.transaction() as s:
        result = await acts.cancel_activity(
            s, aid, reason="天气原因", actor=STAFF, now=NOW, notify=NOTIFY
        )
    assert result.ok
    assert (await _sign_up(db, aid, member)).outcome is Outcome.activity_cancelled
    assert (await _sign_up(db, aid + 999, member)).outcome is Outcome.not_found
    async with db.transaction() as s:
        draft = await acts.create_draft(s, ActivityType.meeting, STAFF)
    assert (await _sign_up(db, draft, member)).outcome is Outcome.not_found
    assert await _statuses(db, aid) == {}


async def test_only_invited_members_see_and_sign_up(db: Database) -> None:
    async with db.transaction() as s:
        econ, farm = Sector(name="经济界"), Sector(name="农业界")
        proposals = Committee(name="提案委")
        point = LiaisonPoint(name="鼓楼联系点")
        s.add_all([econ, farm, proposals, point])
        await s.flush()
        ids = econ.id, farm.id, proposals.id, point.id
    econ_id, farm_id, committee_id, point_id = ids
    (economist,) = await _members(db, 1, sector_id=econ_id)
    (farmer,) = await _members(db, 1, name="农", sector_id=farm_id)
    (in_committee,) = await _members(db, 1, name="委")
    (at_point,) = await _members(db, 1, name="点", liaison_point_id=point_id)
    (named,) = await _members(db, 1, name="名")
    async with db.transaction() as s:
        await s.execute(
            member_committee.insert().values(member_id=in_committee, committee_id=committee_id)
        )
    by_sector = await _activity(db, targets=[(TargetKind.sector, econ_id)])
    by_committee = await _activity(db, targets=[(TargetKind.committee, committee_id)])
    by_point = await _activity(db, targets=[(TargetKind.liaison_point, point_id)])
    by_name = await _activity(db, targets=[(TargetKind.member, named)])

    expected = {
        economist: by_sector,
        in_committee: by_committee,
        at_point: by_point,
        named: by_name,
        farmer: None,
    }
    for member, only in expected.items():
        async with db.transaction() as s:
            page = await acts.browse(s, member, now=NOW)
        assert [v.id for v in page.items] == ([only] if only else [])
    assert (await _sign_up(db, by_sector, farmer)).outcome is Outcome.not_invited
    assert (await _sign_up(db, by_sector, economist)).outcome is Outcome.signed_up
    async with db.transaction() as s:
        card = await acts.card(s, by_sector, farmer)
    assert card is not None and not card.invited


async def test_browse_pages_newest_first_and_filters_by_type(db: Database) -> None:
    (member,) = await _members(db, 1)
    ids = []
    for i in range(7):
        kind = ActivityType.micro_consultation if i % 2 else ActivityType.visit
        ids.append(await _activity(db, type=kind))
        async with db.transaction() as s:
            a = await s.get(Activity, ids[-1])
            assert a is not None
            a.published_at = NOW + timedelta(minutes=i)
    ended = await _activity(db, starts_in=timedelta(hours=-5))
    async with db.transaction() as s:
        first = await acts.browse(s, member, now=NOW, page=1, size=5)
        second = await acts.browse(s, member, now=NOW, page=2, size=5)
        micro = await acts.browse(s, member, now=NOW, type=ActivityType.micro_consultation)
    assert (first.total, first.pages) == (7, 2)
    assert [v.id for v in first.items + second.items] == list(reversed(ids))
    assert ended not in [v.id for v in first.items + second.items]
    assert [v.id for v in micro.items] == [ids[5], ids[3], ids[1]]


# -- leave ----------------------------------------------------------------------------------


async def test_leave_needs_a_reason_when_replies_are_required_and_frees_the_place(
    db: Database,
) -> None:
    a, b = await _members(db, 2)
    aid = await _activity(db, capacity=1, reply_required=True)
    await _sign_up(db, aid, a)
    await _sign_up(db, aid, b)
    async with db.transaction() as s:
        empty = await acts.leave(s, aid, a, reason="   ", now=NOW, notify=NOTIFY)
        long = await acts.leave(s, aid, a, reason="长" * 301, now=NOW, notify=NOTIFY)
    assert empty.outcome is Outcome.reason_required
    assert long.outcome is Outcome.reason_too_long
    assert (await _statuses(db, aid))[a][0] is SignupStatus.signed_up
    async with db.transaction() as s:
        left = await acts.leave(s, aid, a, reason="在外地开会", now=NOW, notify=NOTIFY)
    assert left.outcome is Outcome.left and left.promoted == (b,)
    async with db.transaction() as s:
        roster = await acts.roster(s, aid)
    assert roster is not None
    assert [(e.member_id, e.leave_reason) for e in roster.leave] == [(a, "在外地开会")]
    assert [e.member_id for e in roster.signed_up] == [b]


async def test_roster_lists_invited_members_who_have_not_replied(db: Database) -> None:
    a, b, c = await _members(db, 3)
    aid = await _activity(db, reply_required=True)
    await _sign_up(db, aid, a)
    async with db.transaction() as s:
        await acts.leave(s, aid, b, reason="病假", now=NOW, notify=NOTIFY)
        roster = await acts.roster(s, aid)
    assert roster is not None
    assert [e.member_id for e in roster.not_replied] == [c]
    assert [e.member_id for e in roster.signed_up] == [a]


# -- check-in ------------------------------------------------------------------------------


async def test_check_in_by_code_within_the_window_only(db: Database) -> None:
    a, b = await _members(db, 2)
    aid = await _activity(db, starts_in=timedelta(hours=3))
    await _sign_up(db, aid, a)
    async with db.transaction() as s:
        code = await acts.checkin_code(s, aid, actor=STAFF)
    assert code is not None and len(code) == 6
    early = NOW  # three hours before the start, the window opens one hour before
    on_time = NOW + timedelta(hours=2, minutes=50)
    too_late = NOW + timedelta(hours=5, minutes=1)
    async with db.transaction() as s:
        r_early = await acts.check_in_by_code(s, a, code, now=early, rules=RULES)
        wrong = "000000" if code != "000000" else "111111"
        r_wrong = await acts.check_in_by_code(
            s, a, wrong, now=on_time, rules=RULES, activity_id=aid
        )
        r_late = await acts.check_in_by_code(s, a, code, now=too_late, rules=RULES, activity_id=aid)
    assert r_early.outcome is Outcome.wrong_code  # no activity open for check-in yet
    assert r_wrong.outcome is Outcome.wrong_code
    assert r_late.outcome is Outcome.checkin_closed
    async with db.transaction() as s:
        r_ok = await acts.check_in_by_code(s, a, f" {code} ", now=on_time, rules=RULES)
        r_twice = await acts.check_in_by_code(s, a, code, now=on_time, rules=RULES)
        # An invited walk-in takes a free place.
        r_walk_in = await acts.check_in_by_code(s, b, code, now=on_time, rules=RULES)
    assert r_ok.outcome is Outcome.checked_in and r_ok.activity_id == aid
    assert r_twice.outcome is Outcome.already_checked_in
    assert r_walk_in.outcome is Outcome.checked_in
    rows = await _statuses(db, aid)
    assert {m: st for m, (st, _) in rows.items()} == {
        a: SignupStatus.checked_in,
        b: SignupStatus.checked_in,
    }
    # A renewed code retires the old one.
    (c,) = await _members(db, 1, name="新")
    new_code: str | None = code
    while new_code == code:
        async with db.transaction() as s:
            new_code = await acts.checkin_code(s, aid, actor=STAFF, renew=True)
    async with db.transaction() as s:
        old = await acts.check_in_by_code(s, c, code, now=on_time, rules=RULES, activity_id=aid)
        new = await acts.check_in_by_code(s, c, str(new_code), now=on_time, rules=RULES)
    assert old.outcome is Outcome.wrong_code and new.outcome is Outcome.checked_in


async def test_check_in_by_location_near_the_venue(db: Database) -> None:
    a, b = await _members(db, 2)
    aid = await _activity(db, latitude=26.0745, longitude=119.2965)
    await _sign_up(db, aid, a)
    await _sign_up(db, aid, b)
    at_start = NOW + timedelta(days=7)
    async with db.transaction() as s:
        far = await acts.check_in_by_location(s, a, 26.10, 119.30, now=at_start, rules=RULES)
        near = await acts.check_in_by_location(s, a, 26.0750, 119.2968, now=at_start, rules=RULES)
        outside_window = await acts.check_in_by_location(
            s, b, 26.0745, 119.2965, now=NOW, rules=RULES
        )
    assert far is not None and far.outcome is Outcome.too_far and (far.distance_m or 0) > 2000
    assert near is not None and near.outcome is Outcome.checked_in
    assert outside_window is None  # nothing open for check-in: the location was not for us
    rows = await _statuses(db, aid)
    assert rows[a][0] is SignupStatus.checked_in and rows[b][0] is SignupStatus.signed_up


# -- staff edits ---------------------------------------------------------------------------


async def test_capacity_below_signed_up_is_refused_and_raising_it_promotes(db: Database) -> None:
    member_ids = await _members(db, 5)
    aid = await _activity(db, capacity=3)
    for m in member_ids:
        await _sign_up(db, aid, m)
    async with db.transaction() as s:
        low = await acts.update_field(
            s, aid, Change(Field.capacity, 2), actor=STAFF, now=NOW, notify=NOTIFY
        )
        zero = await acts.update_field(
            s, aid, Change(Field.capacity, 0), actor=STAFF, now=NOW, notify=NOTIFY
        )
    assert low.problem is Problem.capacity_below_signed and low.detail == "3"
    assert zero.problem is Problem.capacity_invalid
    async with db.transaction() as s:
        up = await acts.update_field(
            s, aid, Change(Field.capacity, 4), actor=STAFF, now=NOW, notify=NOTIFY
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
        before_start = await acts.update_field(
            s,
            aid,
            Change(Field.ends_at, start - timedelta(hours=1)),
            actor=STAFF,
            now=NOW,
            notify=NOTIFY,
        )
        late_deadline = await acts.update_field(
            s,
            aid,
            Change(Field.signup_deadline, start + timedelta(hours=1)),
            actor=STAFF,
            now=NOW,
            notify=NOTIFY,
        )
        past = await acts.update_field(
            s,
            aid,
            Change(Field.starts_at, NOW - timedelta(hours=1)),
            actor=STAFF,
            now=NOW,
            notify=NOTIFY,
        )
    assert before_start.problem is Problem.end_before_start
    assert late_deadline.problem is Problem.deadline_after_start
    assert past.problem is Problem.start_in_past
    assert await _outbox(db, "activities.notice_changed") == []
    async with db.transaction() as s:
        moved = await acts.update_field(
            s, aid, Change(Field.place, "新会场"), actor=STAFF, now=NOW, notify=NOTIFY
        )
    assert moved.ok and moved.notified == 1
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
        result = await acts.postpone(s, aid, new_start, actor=STAFF, now=NOW, notify=NOTIFY)
        view = await acts.view(s, aid)
    assert result.ok and result.notified == 2
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
        incomplete = await acts.publish(
            s, aid, actor=STAFF, now=NOW, notify_members=True, notify=NOTIFY
        )
        assert incomplete.problem is Problem.incomplete and incomplete.detail == "title"
        for change in (
            Change(Field.title, "  社区养老微协商 "),
            Change(Field.starts_at, NOW + timedelta(days=3)),
            Change(Field.ends_at, NOW + timedelta(days=3, hours=2)),
            Change(Field.place, "鼓楼区联系点"),
            Change(Field.capacity, 20),
        ):
            assert (await acts.update_field(s, aid, change, actor=STAFF, now=NOW, notify=NOTIFY)).ok
        no_audience = await acts.publish(
            s, aid, actor=STAFF, now=NOW, notify_members=True, notify=NOTIFY
        )
        assert no_audience.detail == "audience"
        await acts.set_targets(s, aid, [TargetSpec(TargetKind.everyone)], actor=STAFF)
        done = await acts.publish(s, aid, actor=STAFF, now=NOW, notify_members=True, notify=NOTIFY)
        twice = await acts.publish(s, aid, actor=STAFF, now=NOW, notify_members=True, notify=NOTIFY)
    assert done.ok and done.notified == 3
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


# -- staff input: dates and the spreadsheet ------------------------------------------------


def test_parse_when_understands_common_ways_of_writing_a_time() -> None:
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    expected = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai
    for text in (
        "2026-12-05 14:30",
        "2026/12/5 14:30",
        "2026.12.5 14:30",
        "2026年12月5日 14:30",
        "12月5日 14:30",
        "12月5日下午2点半",
        "12月5日 14点30分",
        "２０２６－１２－０５　１４：３０",
        "2026-12-05T14:30",
    ):
        assert activity_import.parse_when(text, tz=TZ, now=now) == expected, text
    for bad in ("", "明天", "2026-12-05", "2026-02-30 10:00", "12月5日 25:00", "14:30"):
        assert activity_import.parse_when(bad, tz=TZ, now=now) is None, bad
    # A time alone takes the date of the start; a date without a year is the next one ahead.
    assert activity_import.parse_when("16:30", tz=TZ, now=now, base=expected) == datetime(
        2026, 12, 5, 8, 30, tzinfo=UTC
    )
    assert activity_import.parse_when("1月3日 09:00", tz=TZ, now=now) == datetime(
        2027, 1, 3, 1, 0, tzinfo=UTC
    )


def _sheet(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        [
            "类型",
            "标题",
            "说明",
            "开始时间",
            "结束时间",
            "地点",
            "联系点",
            "人数",
            "报名截止",
            "邀请范围",
            "需回复",
        ]
    )
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_import_creates_drafts_of_one_batch_or_nothing(db: Database) -> None:
    async with db.transaction() as s:
        s.add_all(
            [
                Sector(name="经济界"),
                LiaisonPoint(name="鼓楼联系点", latitude=26.07, longitude=119.29),
            ]
        )
    good: list[list[object]] = [
        [
            "走进政协",
            "开放日",
            "参观",
            datetime(2026, 12, 5, 14, 30),
            "16:30",
            "政协大楼",
            "",
            30,
            "2026-12-03 18:00",
            "全体",
            "否",
        ],
        [
            "微协商",
            "养老微协商",
            "",
            "2026/12/8 9:00",
            "2026/12/8 11:00",
            "",
            "鼓楼联系点",
            "不限",
            "",
            "界别:经济界",
            "是",
        ],
    ]
    bad: list[list[object]] = [
        *good,
        ["野餐", "", "", "明天", "", "", "", "-3", "", "界别:科幻界", "也许"],
    ]
    async with db.transaction() as s:
        rows = activity_import.parse_sheet(_sheet(bad))
        report = await activity_import.import_activities(s, rows, actor=STAFF, tz=TZ, now=NOW)
    errors = {p.error for p in report.problems}
    assert {p.row for p in report.problems} == {4}
    assert {
        activity_import.RowError.bad_type,
        activity_import.RowError.missing_title,
        activity_import.RowError.bad_start,
        activity_import.RowError.bad_capacity,
        activity_import.RowError.unknown_audience,
        activity_import.RowError.bad_reply,
    } <= errors
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Activity)) == 0
        rows = activity_import.parse_sheet(_sheet(good))
        report = await activity_import.import_activities(s, rows, actor=STAFF, tz=TZ, now=NOW)
    assert report.ok and len(report.created) == 2 and report.batch
    async with db.transaction() as s:
        assert await acts.batch_ids(s, report.batch) == report.created
        first = await s.get(Activity, report.created[0])
        second = await s.get(Activity, report.created[1])
    assert first is not None and second is not None
    assert first.status is ActivityStatus.draft and first.capacity == 30
    assert first.starts_at == datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
    assert first.ends_at == datetime(2026, 12, 5, 8, 30, tzinfo=UTC)
    assert second.capacity is None and second.reply_required
    assert second.place == "鼓楼联系点" and second.latitude == 26.07


def test_a_file_that_is_no_spreadsheet_is_refused() -> None:
    for data in (b"not a spreadsheet", _sheet([])):
        try:
            activity_import.parse_sheet(data)
        except activity_import.SheetFileError as exc:
            assert exc.code in (
                activity_import.SheetError.unreadable,
                activity_import.SheetError.empty,
            )
        else:
            raise AssertionError("accepted")


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
        result = await acts.update_field(
            s, aid, Change(Field.place, "鼓楼", point), actor=STAFF, now=NOW, notify=NOTIFY
        )
        assert result.ok
        plain = await acts.update_field(
            s, aid, Change(Field.place, "政协大楼三楼"), actor=STAFF, now=NOW, notify=NOTIFY
        )
        assert plain.ok
        first = await acts.view(s, aid)
    assert first is not None
    assert (first.place, first.liaison_point_id, first.latitude) == ("政协大楼三楼", None, None)
    async with db.transaction() as s:
        point = await acts.find_liaison_point(s, "鼓楼")
        await acts.update_field(
            s, aid, Change(Field.place, "鼓楼", point), actor=STAFF, now=NOW, notify=NOTIFY
        )
        view = await acts.view(s, aid)
    assert view is not None and view.place == "鼓楼区委员联系点"
    assert (view.latitude, view.longitude) == (26.08, 119.29)
    assert view.liaison_point == "鼓楼区委员联系点"


async def test_import_template_examples_in_every_language_are_accepted(db: Database) -> None:
    """The import template's example row comes from the staff member's locale; sent back
    unchanged, its type, audience and reply-required cells must be values the import accepts."""
    texts = Texts("zh-CN")
    for locale in texts.locales:
        kind = activity_import.parse_type(texts.get(locale, "activities.template_type"))
        reply = activity_import.parse_yes_no(
            texts.get(locale, "activities.template_reply_required")
        )
        async with db.transaction() as session:
            audience = await activity_import.parse_audience(
                session, texts.get(locale, "activities.template_audience")
            )
        assert kind is not None and reply is False, locale
        assert [t.kind for t in audience.targets] == [TargetKind.everyone] and not audience.unknown
