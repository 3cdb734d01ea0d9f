"""The demo office of `cppcc-bot demo-data`: activities, notices and reports, made as the bot
makes them (the storage functions its handlers call, with the times they would have run at).

The first demo member (the one ``cppcc-bot console`` plays) has something in every feature: an
open activity and a full one to sign up for or wait on, a past one they checked in to, three
notices waiting in the outbox (one without 回执, two asking for one), reports adopted, returned
and awaiting review, a draft, and so a duty record with something in it. Others fill the places
and the waiting list, answer notices and hold the forwarded and instructed reports.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import NOTICE_MESSAGE
from bot.channels import TELEGRAM
from bot.settings import Settings
from storage import activities as acts
from storage import identities, notices, reports
from storage.activities import Change, CheckinRules, Field, TargetSpec
from storage.db import Database
from storage.members import MemberRef
from storage.models import Activity, ActivityType, Member, Role, TargetKind
from storage.models.notices import AckMode, AudienceKind
from storage.reports import Limits, ReviewAction

FIRST_TITLE = "走进政协开放日"  # the demo office exists when this activity does


def _fail(what: str, outcome: Any) -> RuntimeError:
    return RuntimeError(f"demo-data: could not {what}: {outcome}")


async def _activity(
    session: AsyncSession,
    staff: MemberRef,
    tz: tzinfo,
    *,
    kind: ActivityType,
    title: str,
    description: str,
    starts: datetime,
    place: str,
    capacity: int,
    now: datetime,
) -> int:
    """A published activity for everyone, made field by field as staff make one in the bot."""
    activity_id = await acts.create_draft(session, kind, staff.actor)
    point = await acts.find_liaison_point(session, place)
    changes = [
        Change(Field.title, title),
        Change(Field.description, description),
        Change(Field.starts_at, starts),
        Change(Field.ends_at, starts + timedelta(hours=2)),
        Change(Field.place, place, point),
        Change(Field.capacity, capacity),
        Change(Field.signup_deadline, starts - timedelta(days=1)),
    ]
    for change in changes:
        edit = await acts.update_field(
            session, activity_id, change, actor=staff.actor, now=now, tz=tz
        )
        if edit.problem is not None:
            raise _fail(f"set {change.field.value} of {title}", edit.problem)
    await acts.set_targets(
        session, activity_id, [TargetSpec(TargetKind.everyone)], actor=staff.actor
    )
    edit = await acts.publish(
        session, activity_id, actor=staff.actor, now=now, notify_members=False
    )
    if edit.problem is not None:
        raise _fail(f"publish {title}", edit.problem)
    return activity_id


async def _sign_up(
    session: AsyncSession, activity_id: int, people: list[Member], at: datetime
) -> None:
    for member in people:
        result = await acts.sign_up(session, activity_id, member.id, now=at)
        if result.outcome not in (acts.Outcome.signed_up, acts.Outcome.waiting):
            raise _fail(f"sign {member.name} up", result.outcome)


async def _activities(
    session: AsyncSession, settings: Settings, staff: MemberRef, people: list[Member], now: datetime
) -> None:
    tz = settings.tz
    places = ["鼓楼区东街街道委员联系点", "台江区茶亭街道委员联系点", "政协大楼三楼会议室"]
    open_id = await _activity(
        session,
        staff,
        tz,
        kind=ActivityType.visit,
        title=FIRST_TITLE,
        description="参观政协机关，了解政协履职工作。",
        starts=now + timedelta(days=7),
        place=places[2],
        capacity=30,
        now=now,
    )
    await _sign_up(session, open_id, people[1:6], now)
    full_id = await _activity(
        session,
        staff,
        tz,
        kind=ActivityType.micro_consultation,
        title="微协商：社区养老服务站运营",
        description="名额有限，报满后可排队候补。",
        starts=now + timedelta(days=3),
        place=places[1],
        capacity=3,
        now=now,
    )
    await _sign_up(session, full_id, people[1:6], now)  # three places, two waiting
    # A past one, made as it was then: published 20 days ago, held 10 days ago, six checked in.
    then = now - timedelta(days=20)
    starts = now - timedelta(days=10)
    past_id = await _activity(
        session,
        staff,
        tz,
        kind=ActivityType.inspection,
        title="视察调研：城市内河治理",
        description="实地查看内河整治成效。",
        starts=starts,
        place=places[0],
        capacity=40,
        now=then,
    )
    await _sign_up(session, past_id, people[0:8], then + timedelta(days=1))
    code = await acts.checkin_code(session, past_id, actor=staff.actor)
    rules = CheckinRules(
        timedelta(minutes=settings.activity_checkin_before_minutes),
        timedelta(minutes=settings.activity_checkin_after_minutes),
        float(settings.activity_checkin_radius_meters),
    )
    for member in people[0:6]:
        result = await acts.check_in_by_code(
            session,
            member.id,
            code or "",
            now=starts + timedelta(minutes=5),
            rules=rules,
            activity_id=past_id,
        )
        if result.outcome is not acts.Outcome.checked_in:
            raise _fail(f"check {member.name} in", result.outcome)


NOTICES = (
    ("关于报送2027年度提案线索的通知\n请各位委员于月底前通过本助手报送。", AckMode.none, ()),
    (
        "关于召开十四届常委会第九次会议的通知\n下周三上午9时，政协大楼一楼报告厅。",
        AckMode.received,
        (),
    ),
    ("关于参加“优化营商环境”专题协商会的通知\n请回复是否参加。", AckMode.options, ("参加", "请假")),
)


async def _notices(
    session: AsyncSession, staff: MemberRef, people: list[Member], now: datetime
) -> None:
    for body, mode, options in NOTICES:
        draft = await notices.open_draft(session, staff)
        if isinstance(draft, notices.Problem):
            raise _fail("open a notice", draft)
        html = body.replace("\n", "\n\n", 1)
        for step in (
            notices.set_body(session, staff, draft.id, html=html, visible_length=len(html)),
            notices.set_ack(session, staff, draft.id, mode, options),
            notices.set_audience(session, staff, draft.id, AudienceKind.everyone),
        ):
            done = await step
            if isinstance(done, notices.Problem):
                raise _fail("write a notice", done)
        sent = await notices.queue(session, staff, draft.id, now=now, message=NOTICE_MESSAGE)
        if isinstance(sent, notices.Problem):
            raise _fail("send a notice", sent)
        if mode is not AckMode.none:
            for index, member in enumerate(people[1:5]):
                await notices.acknowledge(
                    session, draft.id, member.id, index % max(1, len(options)), now=now
                )


REPORTS = (
    ("关于加快老旧小区加装电梯的建议", "livelihood", ReviewAction.adopt, None),
    ("关于规范共享单车停放的建议", "social_governance", ReviewAction.return_, None),
    ("关于推进闽江沿岸生态修复的建议", "ecology", None, None),
    ("关于支持台胞台企参与城市更新的建议", "taiwan_hk_macau", ReviewAction.forward, None),
    ("关于发展夜间文旅消费的建议", "culture_tourism", ReviewAction.instruct, "市政府分管领导"),
)
NOTES = {
    ReviewAction.adopt: "已采用，编入《社情民意》第12期。",
    ReviewAction.return_: "请补充涉及的具体路段和群众反映情况后再报。",
    ReviewAction.forward: "已转市台港澳办研究办理。",
    ReviewAction.instruct: "请市文旅局牵头研究。",
}


async def _report(
    session: AsyncSession,
    settings: Settings,
    author: Member,
    title: str,
    category: str,
    *,
    now: datetime,
    submit: bool = True,
) -> int:
    limits = Limits(
        title=settings.report_title_max_chars,
        section=settings.report_section_max_chars,
        max_attachments=settings.report_max_attachments,
        max_bytes=settings.report_max_attachment_mb * 1024 * 1024,
        file_types=tuple(settings.report_attachment_types),
    )
    texts = {
        "title": title,
        "situation": f"{title.removeprefix('关于').removesuffix('的建议')}，群众反映较多。",
        "problem": "部门之间协调不够，推进较慢。",
        "suggestions": "建议明确牵头部门，制定时间表，定期通报进展。",
    }
    result = None
    for name, text in texts.items() if submit else list(texts.items())[:2]:
        result = await reports.save_text(session, author.id, name, text, limits)
        if not result.ok:
            raise _fail(f"write a report's {name}", result.outcome)
    if category in settings.report_categories:
        result = await reports.save_category(
            session, author.id, category, settings.report_categories
        )
    assert result is not None and result.report is not None
    if not submit:
        return result.report.id
    done = await reports.submit(
        session, author.id, result.report.id, revision=None, now=now, tz=settings.tz
    )
    if not done.ok:
        raise _fail("submit a report", done.outcome)
    return result.report.id


async def _reports(
    session: AsyncSession, settings: Settings, staff: MemberRef, people: list[Member], now: datetime
) -> None:
    authors = [people[0], people[0], people[0], people[1], people[2]]
    for (title, category, action, instructed_by), author in zip(REPORTS, authors, strict=True):
        report_id = await _report(session, settings, author, title, category, now=now)
        if action is not None:
            reviewed = await reports.review(
                session,
                staff.actor,
                report_id,
                action,
                note=NOTES[action],
                instructed_by=instructed_by,
                now=now,
            )
            if not reviewed.ok:
                raise _fail(f"review {title}", reviewed.outcome)
    # A draft the demo member left half written.
    await _report(
        session,
        settings,
        people[0],
        "关于优化城区公交线路的建议",
        "livelihood",
        now=now,
        submit=False,
    )


async def build_office(db: Database, settings: Settings, *, now: datetime) -> str:
    """Make the demo office unless it is there; says what was done."""
    async with db.transaction() as session:
        if await session.scalar(select(Activity.id).where(Activity.title == FIRST_TITLE)):
            return "demo office: already there (activities, notices, reports unchanged)"
        people = list(
            await session.scalars(
                select(Member).where(Member.active, Member.role == Role.member).order_by(Member.id)
            )
        )
        staff_row = await session.scalar(
            select(Member).where(Member.role == Role.staff).order_by(Member.id)
        )
        if staff_row is None or len(people) < 8:
            return "demo office: skipped (the roster is not the demo roster)"
        account = await identities.account_of(session, staff_row.id, TELEGRAM)
        staff = MemberRef.of(staff_row, account)
        await _activities(session, settings, staff, people, now)
        await _notices(session, staff, people, now)
        await _reports(session, settings, staff, people, now)
    return (
        "demo office: 3 activities (open, full with a waiting list, past with check-ins), "
        "3 notices (without and with 回执), 6 opinion reports (draft, submitted, adopted, "
        "forwarded, instructed, returned)"
    )
