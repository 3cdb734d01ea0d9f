"""`cppcc-bot demo-data`: a demo office, so every console has something to look at.

A roster of 30 members, a staff account and an admin; the first members bound to the Telegram
ids the console plays them under (the rest bind in the console with /contact); activities in
every state (open, full with a waiting list, past with check-ins); notices without and with an
acknowledgement (回执), some answered, their messages waiting in the outbox for the bound members;
opinion reports in every review state and a draft. All made by the storage functions the bot
uses (storage/*), so every rule holds; the demo member's duty record counts what they did.
Running it again changes nothing (the demo office is recognised by its first activity).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.channels import TELEGRAM, telegram_account
from bot.settings import Settings
from bot.tryout.demo_office import build_office
from storage import identities, members
from storage.audit import Actor
from storage.db import Database
from storage.models import LiaisonPoint, Member, Role
from storage.roster import RosterRow, import_roster

SURNAMES = "林陈黄张吴王郑刘李何"
GIVEN = [
    "文华",
    "静",
    "志强",
    "丽芳",
    "建国",
    "晓燕",
    "海峰",
    "雪梅",
    "振宇",
    "秀英",
    "国庆",
    "慧敏",
]
SECTORS = [
    "中共",
    "民革",
    "民盟",
    "民建",
    "经济界",
    "农业界",
    "科技界",
    "教育界",
    "医药卫生界",
    "港澳",
    "特邀",
]
COMMITTEES = ["提案委", "经济委", "农业农村委", "文化文史和学习委", "社会和法制委"]
POINTS = {
    "鼓楼区东街街道委员联系点": (26.0866, 119.3037),
    "台江区茶亭街道委员联系点": (26.0703, 119.3055),
    "仓山区金山街道委员联系点": (26.0460, 119.2640),
}
DEMO_MEMBERS = 30
# Phone numbers the console uses: the first demo member, the demo staff account and admin.
DEMO_MEMBER_PHONE = "+8613800000001"
DEMO_STAFF_PHONE = "+8613800000099"
DEMO_ADMIN_PHONE = "+8613800000098"
BOUND_MEMBERS = 12  # the first demo members are bound to console ids; the rest bind in it
CONSOLE_USER_BASE = 7_000_000_000  # Telegram-like ids for console users, far from real ones


def user_id_for(member_id: int) -> int:
    """The Telegram id a console plays a member under (demo-data binds the first ones to it)."""
    return CONSOLE_USER_BASE + member_id


def demo_rows() -> list[RosterRow]:
    points = list(POINTS)
    rows = []
    for i in range(DEMO_MEMBERS):
        rows.append(
            RosterRow(
                row=i + 2,
                name=SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)],
                phone=f"138 0000 {i + 1:04d}",
                sector=SECTORS[i % len(SECTORS)],
                committees=(COMMITTEES[i % len(COMMITTEES)],),
                liaison_point=points[i % len(points)],
                organisation="示例单位",
            )
        )
    rows.append(RosterRow(row=DEMO_MEMBERS + 2, name="机关工作人员", phone="138 0000 0099"))
    rows.append(RosterRow(row=DEMO_MEMBERS + 3, name="机关管理员", phone="138 0000 0098"))
    return rows


async def load_demo_data(db: Database, settings: Settings) -> int:
    now = datetime.now(UTC)
    async with db.transaction() as session:
        report = await import_roster(session, demo_rows(), source="demo-data")
        for name, (lat, lon) in POINTS.items():
            point = await session.scalar(select(LiaisonPoint).where(LiaisonPoint.name == name))
            if point is not None:
                point.latitude, point.longitude = lat, lon
        for phone, role in ((DEMO_STAFF_PHONE, Role.staff), (DEMO_ADMIN_PHONE, Role.admin)):
            account = await session.scalar(select(Member).where(Member.phone == phone))
            if account is not None:
                await members.set_role(session, account, role, Actor.cli())
        people = list(
            await session.scalars(select(Member).where(Member.active).order_by(Member.id))
        )
        bound = [m for m in people if m.role is Role.member][:BOUND_MEMBERS]
        bound += [m for m in people if m.role is not Role.member]
        for member in bound:
            if await identities.account_of(session, member.id, TELEGRAM) is None:
                await identities.attach(
                    session, member.id, telegram_account(user_id_for(member.id)), now=now
                )
    print(
        f"demo roster: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged; staff account {DEMO_STAFF_PHONE}, "
        f"admin {DEMO_ADMIN_PHONE}"
    )
    made = await build_office(db, settings, now=now)
    print(made)
    return 0
