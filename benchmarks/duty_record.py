"""Duty record at province scale: a member's card and the full-year export, time and memory.

Generates members, opinion reports (with review history, co-authors and a few hundred
characters per section), activity sign-ups and acknowledged notices in bulk, in two equal
halves. After each half it times the full-year xlsx export and measures its peak Python
memory (tracemalloc), so "memory flat" shows as the same peak at half and at full size; after
the second half it also times many members' record cards (p50 / p95) and the staff statistics.

    .venv/bin/python -m benchmarks.duty_record --db sqlite
    .venv/bin/python -m benchmarks.duty_record --db postgresql
    .venv/bin/python -m benchmarks.duty_record --db sqlite --members 2000 --reports 20000 \\
        --signups 50000 --cards 50    # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from benchmarks.common import machine, percentile, scratch_database
from bot.i18n import Texts
from handlers.duty_record.export import write_year
from storage import duty_record
from storage.db import Database
from storage.models import (
    Activity,
    ActivitySignup,
    Committee,
    LiaisonPoint,
    Member,
    Notice,
    NoticeRecipient,
    OutboxMessage,
    Report,
    ReportCoauthor,
    ReportEvent,
    Role,
    Sector,
    member_committee,
)
from storage.scoring import load_rules

TZ = ZoneInfo("Asia/Shanghai")
YEAR = 2026
NOW = datetime(YEAR, 11, 25, 2, 0, tzinfo=UTC)
YEAR_START = datetime(YEAR, 1, 1, tzinfo=TZ).astimezone(UTC)
SECTORS = 34
COMMITTEES = 10
POINTS = 45
ACTIVITIES = 2000  # per half
NOTICES = 20  # per half, each to a quarter of the members
CHUNK = 5000
# Reports carry real text (a member writes a few hundred characters per section), so the
# counting must not read whole report rows: the paragraphs are random Chinese characters.
SECTION_CHARS = 200
NOTED = ("return", "instruct")
HAN = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 3000))


@dataclass
class Sizes:
    members: int
    reports: int
    signups: int


async def _bulk(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Fast bulk insert: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        columns = list(rows[0])
        records = [tuple(_pg(row[c]) for c in columns) for row in rows]
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table.name, records=records, columns=columns
        )
        return
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(table), list(rows[start : start + CHUNK]))


def _pg(value: object) -> object:
    """COPY wants JSON columns as text."""
    return json.dumps(value) if isinstance(value, dict | list) else value


def _moment(rng: random.Random, *, days: float = 328) -> datetime:
    return YEAR_START + timedelta(seconds=rng.uniform(0, days * 86400))


async def _reference(db: Database) -> tuple[int, list[int], list[int], list[int]]:
    """Sectors, committees, liaison points and the staff member who runs the export."""
    async with db.transaction() as session:
        session.add_all(Sector(name=f"界别{i:02d}") for i in range(SECTORS))
        session.add_all(Committee(name=f"专委会{i:02d}") for i in range(COMMITTEES))
        session.add_all(LiaisonPoint(name=f"委员联系点{i:02d}") for i in range(POINTS))
        staff = Member(name="机关工作人员", phone="+8610000000000", role=Role.staff)
        session.add(staff)
        await session.flush()
        sectors = list(await session.scalars(select(Sector.id)))
        committees = list(await session.scalars(select(Committee.id)))
        points = list(await session.scalars(select(LiaisonPoint.id)))
        return staff.id, sectors, committees, points


async def _generate(
    db: Database,
    sizes: Sizes,
    half: int,
    refs: tuple[list[int], list[int], list[int]],
    rng: random.Random,
) -> None:
    sectors, committees, points = refs
    offset = half * sizes.members
    id_base = 10_000_000 * (half + 1)
    members = [
        {
            "id": id_base + i,
            "name": f"委员{offset + i:05d}",
            "phone": f"+86138{offset + i:08d}",
            "sector_id": rng.choice(sectors),
            "liaison_point_id": rng.choice(points),
            "role": "member",
            "reachable": True,
            "active": True,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for i in range(sizes.members)
    ]
    member_ids = [m["id"] for m in members]
    links = [
        {"member_id": m, "committee_id": c}
        for m in member_ids
        for c in rng.sample(committees, rng.choice((1, 1, 2)))
    ]
    activities = []
    for i in range(ACTIVITIES):
        starts = _moment(rng, days=360)
        kind = rng.choice(
            ("visit", "service_day", "micro_consultation", "training", "inspection", "meeting")
        )
        activities.append(
            {
                "id": id_base + i,
                "type": kind,
                "status": "cancelled" if rng.random() < 0.05 else "published",
                "title": f"活动{offset + i}",
                "description": "",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=2),
                "place": "",
                "liaison_point_id": rng.choice(points) if kind == "micro_consultation" else None,
                "reply_required": False,
                "last_position": 0,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    activity_ids = [a["id"] for a in activities]
    per_member = sizes.signups // sizes.members
    signups = []
    statuses = (
        ("checked_in",) * 12 + ("signed_up",) * 3 + ("leave", "leave", "cancelled", "waiting")
    )
    for m in member_ids:
        for a in rng.sample(activity_ids, per_member):
            status = rng.choice(statuses)
            signups.append(
                {
                    "activity_id": a,
                    "member_id": m,
                    "status": status,
                    "position": 1,
                    "signed_up_at": NOW if status != "waiting" else None,
                    "checked_in_at": NOW if status == "checked_in" else None,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
    paragraphs = ["".join(rng.choices(HAN, k=SECTION_CHARS)) for _ in range(300)]
    reports, events, coauthors = [], [], []
    for i in range(sizes.reports):
        report_id = id_base + i
        author = rng.choice(member_ids)
        year = YEAR if rng.random() < 0.8 else YEAR - 1
        submitted = _moment(rng) - timedelta(days=365 * (YEAR - year))
        outcome = rng.random()
        status = (
            "instructed"
            if outcome < 0.05
            else "forwarded"
            if outcome < 0.2
            else "adopted"
            if outcome < 0.55
            else "returned"
            if outcome < 0.6
            else "submitted"
        )
        seq = offset * 100 + i + 1
        reports.append(
            {
                "id": report_id,
                "member_id": author,
                "status": status,
                "source": "guided",
                "title": f"关于第{i}号问题的建议",
                "category": "livelihood",
                "situation": rng.choice(paragraphs),
                "problem": rng.choice(paragraphs),
                "suggestions": rng.choice(paragraphs),
                "revision": 1,
                "receipt_no": f"SQ-{year}-{seq:07d}",
                "receipt_year": year,
                "receipt_seq": seq,
                "excellent": rng.random() < 0.03,
                "created_at": submitted,
                "updated_at": submitted,
                "submitted_at": submitted,
            }
        )
        history = ["submitted"]
        if status == "returned" or rng.random() < 0.05:
            history += ["return", "resubmitted"] if status != "returned" else ["return"]
        history += {
            "instructed": ["adopt", "forward", "instruct"],
            "forwarded": ["forward"],
            "adopted": ["adopt"],
        }.get(status, [])
        for step, action in enumerate(history):
            events.append(
                {
                    "report_id": report_id,
                    "at": submitted + timedelta(days=step),
                    "action": action,
                    "status": status,
                    "note": rng.choice(paragraphs)[:60]
                    if action in ("return", "instruct")
                    else None,
                }
            )
        if rng.random() < 0.1:
            for co in {rng.choice(member_ids) for _ in range(rng.choice((1, 2)))} - {author}:
                coauthors.append({"report_id": report_id, "member_id": co, "added_at": submitted})
    notices, outbox, recipients = [], [], []
    for i in range(NOTICES):
        notice_id = id_base + i
        sent = _moment(rng)
        notices.append(
            {
                "id": notice_id,
                "status": "done",
                "body": "通知",
                "audience_kind": "everyone",
                "audience_ids": [],
                "ack_mode": "received",
                "ack_options": [],
                "created_at": sent,
                "queued_at": sent,
                "recipient_count": 0,
                "reminders": 0,
            }
        )
        for j, m in enumerate(rng.sample(member_ids, len(member_ids) // 4)):
            outbox_id = id_base + i * sizes.members + j
            delivered = sent + timedelta(seconds=rng.uniform(0, 600))
            answer = rng.random()
            acked = (
                delivered + timedelta(hours=rng.uniform(0, 48))
                if answer < 0.7
                else delivered + timedelta(hours=rng.uniform(80, 300))
                if answer < 0.85
                else None
            )
            outbox.append(
                {
                    "id": outbox_id,
                    "created_at": sent,
                    "kind": "notice",
                    "priority": 8,
                    "member_id": m,
                    "chat_id": m,
                    "template": "notices.message",
                    "params": {},
                    "source_type": "notice",
                    "source_id": notice_id,
                    "status": "sent",
                    "attempts": 1,
                    "sent_at": delivered,
                }
            )
            recipients.append(
                {
                    "notice_id": notice_id,
                    "member_id": m,
                    "outbox_id": outbox_id,
                    "ack_option": 0 if acked else None,
                    "acked_at": acked,
                }
            )
    async with db.transaction() as session:
        for table, rows in (
            (Member.__table__, members),
            (member_committee, links),
            (Activity.__table__, activities),
            (ActivitySignup.__table__, signups),
            (Report.__table__, reports),
            (ReportEvent.__table__, events),
            (ReportCoauthor.__table__, coauthors),
            (Notice.__table__, notices),
            (OutboxMessage.__table__, outbox),
            (NoticeRecipient.__table__, recipients),
        ):
            await _bulk(session, table, rows)  # type: ignore[arg-type]
    if db.dialect == "postgresql":
        async with db.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("ANALYZE")
    else:
        async with db.transaction() as session:
            await (await session.connection()).exec_driver_sql("ANALYZE")


async def _export(db: Database, staff_id: int, folder: Path, texts: Texts) -> tuple[float, int]:
    rules = load_rules()
    started = time.perf_counter()
    result = await write_year(
        db,
        folder / "records.xlsx",
        YEAR,
        viewer_id=staff_id,
        now=NOW,
        tz=TZ,
        rules=rules,
        text=lambda key: texts.get("zh-CN", key),
    )
    assert result is not None
    return time.perf_counter() - started, result.rows


async def _export_memory(db: Database, staff_id: int, folder: Path, texts: Texts) -> float:
    tracemalloc.start()
    try:
        await _export(db, staff_id, folder, texts)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1024 / 1024


async def _materialised_memory(db: Database, staff_id: int) -> float:
    """For contrast: what holding every member's record in memory at once would take."""
    rules = load_rules()
    tracemalloc.start()
    try:
        async with db.snapshot() as session:
            everything = [
                entry
                async for entry in duty_record.stream_year(
                    session, staff_id, YEAR, now=NOW, tz=TZ, rules=rules
                )
            ]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del everything
    return peak / 1024 / 1024


async def _cards(db: Database, member_ids: list[int], count: int) -> list[float]:
    rules = load_rules()
    times = []
    for member_id in member_ids[:count]:
        started = time.perf_counter()
        async with db.snapshot() as session:
            result = await duty_record.record(session, member_id, YEAR, now=NOW, tz=TZ, rules=rules)
        times.append(time.perf_counter() - started)
        assert result.record is not None
    return times


async def _statistics(db: Database, staff_id: int) -> float:
    started = time.perf_counter()
    async with db.snapshot() as session:
        totals = await duty_record.statistics(
            session, staff_id, YEAR, now=NOW, tz=TZ, rules=load_rules()
        )
    assert totals is not None
    return time.perf_counter() - started


async def run(kind: str, sizes: Sizes, cards: int, seed: int) -> None:
    rng = random.Random(seed)
    texts = Texts("zh-CN")
    half = Sizes(sizes.members // 2, sizes.reports // 2, sizes.signups // 2)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with scratch_database(kind, folder) as db:
            staff_id, *refs = await _reference(db)
            for step in range(2):
                started = time.perf_counter()
                await _generate(db, half, step, (refs[0], refs[1], refs[2]), rng)
                generated = time.perf_counter() - started
                scale = step + 1
                print(
                    f"[{kind}] {half.members * scale} members, {half.reports * scale} reports, "
                    f"{(half.signups // half.members) * half.members * scale} sign-ups "
                    f"(generated in {generated:.1f} s)"
                )
                await _export(db, staff_id, folder, texts)  # warm the caches
                seconds, rows = await _export(db, staff_id, folder, texts)
                peak = await _export_memory(db, staff_id, folder, texts)
                size = (folder / "records.xlsx").stat().st_size / 1024 / 1024
                print(
                    f"  full-year export: {rows} rows in {seconds:.2f} s, "
                    f"peak Python memory {peak:.1f} MiB, file {size:.1f} MiB"
                )
            held = await _materialised_memory(db, staff_id)
            print(f"  (holding every record in memory at once instead: {held:.1f} MiB)")
            async with db.snapshot() as session:
                ids = list(
                    await session.scalars(select(Member.id).where(Member.role == Role.member))
                )
            random.Random(seed).shuffle(ids)
            await _cards(db, ids, 10)  # warm up
            times = await _cards(db, ids[10:], cards)
            print(
                f"  member card: n={len(times)}  p50 {percentile(times, 50) * 1000:.1f} ms  "
                f"p95 {percentile(times, 95) * 1000:.1f} ms  max {max(times) * 1000:.1f} ms"
            )
            stats = await _statistics(db, staff_id)
            print(f"  staff statistics (all members, by sector and committee): {stats:.2f} s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--reports", type=int, default=200_000)
    parser.add_argument("--signups", type=int, default=500_000)
    parser.add_argument("--cards", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    sizes = Sizes(args.members, args.reports, args.signups)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        await run(kind, sizes, args.cards, args.seed)


if __name__ == "__main__":
    asyncio.run(main())
