"""`cppcc-bot demo-data`: a demo roster so the console has someone to be."""

from __future__ import annotations

from sqlalchemy import select

from storage import members
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
# Phone numbers the console uses: the first demo member, and the demo staff account.
DEMO_MEMBER_PHONE = "+8613800000001"
DEMO_STAFF_PHONE = "+8613800000099"


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
    return rows


async def load_demo_data(db: Database) -> int:
    async with db.transaction() as session:
        report = await import_roster(session, demo_rows(), source="demo-data")
        for name, (lat, lon) in POINTS.items():
            point = await session.scalar(select(LiaisonPoint).where(LiaisonPoint.name == name))
            if point is not None:
                point.latitude, point.longitude = lat, lon
        staff = await session.scalar(select(Member).where(Member.phone == DEMO_STAFF_PHONE))
        if staff is not None:
            await members.set_role(session, staff, Role.staff, Actor.cli())
    print(
        f"demo roster: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged; staff account {DEMO_STAFF_PHONE}"
    )
    return 0
