"""Activities in storage, on SQLite and PostgreSQL, the members' side: capacity under
concurrent taps, exactly-once promotion from the waiting list, sign-up rules and deadlines,
invitations and browsing, leave, the roster of replies, and check-in by code and by location."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage import activities as acts
from storage.activities import Outcome
from storage.db import Database
from storage.models import (
    Activity,
    ActivityType,
    Committee,
    LiaisonPoint,
    Sector,
    SignupStatus,
    TargetKind,
    member_committee,
)
from tests.activities_storage_support import (
    NOW,
    RULES,
    STAFF,
    _activity,
    _cancel,
    _members,
    _outbox,
    _sign_up,
    _statuses,
    with_news,
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
        left = await with_news(s, await acts.leave(s, aid, a, reason="出差", now=later))
    assert left.outcome is Outcome.left
    rows = await _statuses(db, aid)
    assert rows[a][0] is SignupStatus.leave and c not in rows


async def test_cancelled_activity_and_unknown_or_draft_ids_refuse_sign_up(db: Database) -> None:
    (member,) = await _members(db, 1)
    aid = await _activity(db)
    async with db.transaction() as s:
        result = await with_news(
            s, await acts.cancel_activity(s, aid, reason="天气原因", actor=STAFF, now=NOW)
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
        empty = await with_news(s, await acts.leave(s, aid, a, reason="   ", now=NOW))
        long = await with_news(s, await acts.leave(s, aid, a, reason="长" * 301, now=NOW))
    assert empty.outcome is Outcome.reason_required
    assert long.outcome is Outcome.reason_too_long
    assert (await _statuses(db, aid))[a][0] is SignupStatus.signed_up
    async with db.transaction() as s:
        left = await with_news(s, await acts.leave(s, aid, a, reason="在外地开会", now=NOW))
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
        await with_news(s, await acts.leave(s, aid, b, reason="病假", now=NOW))
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
