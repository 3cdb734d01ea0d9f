from __future__ import annotations

import csv
import io
import os
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import openpyxl
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import selectinload

from bot.channels import TELEGRAM, telegram_account
from storage import identities
from storage.audit import Actor
from storage.db import Database
from storage.migrate import upgrade
from storage.models.base import utcnow
from storage.models.members import (
    AuditLog,
    Committee,
    Identity,
    LiaisonPoint,
    Member,
    Sector,
    member_committee,
)
from storage.roster import (
    ImportReport,
    RejectedRow,
    RejectReason,
    RosterFileError,
    RosterRow,
    import_roster,
    parse_roster,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_XLSX = SAMPLES / "roster-sample.xlsx"
SAMPLE_CSV = SAMPLES / "roster-sample.csv"
BAD_CSV = SAMPLES / "roster-bad-rows.csv"

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


# --------------------------------------------------------------------------------------------
# Fixtures (self-contained for now; the shared version will move to tests/conftest.py)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path}/t.db")
        try:
            await upgrade(database.engine)
            yield database
        finally:
            await database.dispose()
        return

    # PostgreSQL: a fresh database per test, dropped afterwards.
    base = make_url(PG_URL)
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = await asyncpg.connect(admin_dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.skip(f"PostgreSQL not reachable at {base.render_as_string()}: {exc}")
    name = f"t_{uuid.uuid4().hex}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    database = Database(base.set(database=name).render_as_string(hide_password=False))
    try:
        await upgrade(database.engine)
        yield database
    finally:
        await database.dispose()
        admin = await asyncpg.connect(admin_dsn, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def run_import(db: Database, rows: list[RosterRow], source: str = "test") -> ImportReport:
    async with db.transaction() as session:
        return await import_roster(
            session, rows, actor=Actor.of(None, telegram_account(42)), source=source
        )


FULL = (
    selectinload(Member.sector),
    selectinload(Member.liaison_point),
    selectinload(Member.committees),
)


async def member_by_phone(db: Database, phone: str) -> Member:
    async with db.transaction() as session:
        member = (
            await session.execute(select(Member).options(*FULL).where(Member.phone == phone))
        ).scalar_one()
        return member


async def count(db: Database, model: type[object]) -> int:
    async with db.transaction() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def snapshot(db: Database) -> dict[str, tuple[Any, ...]]:
    """Every member's row and committees, to compare before and after."""
    async with db.transaction() as session:
        members = (
            (await session.execute(select(Member).options(*FULL).order_by(Member.id)))
            .scalars()
            .all()
        )
        bindings: dict[int, list[tuple[str, str, str]]] = {}
        for identity in await session.scalars(select(Identity).order_by(Identity.id)):
            bindings.setdefault(identity.member_id, []).append(
                (identity.channel, identity.external_id, identity.address)
            )
        return {
            m.phone or "": (
                m.id,
                m.name,
                m.sector_id,
                m.liaison_point_id,
                m.organisation,
                m.updated_at,
                m.created_at,
                tuple(c.id for c in m.committees),
                tuple(bindings.get(m.id, [])),
            )
            for m in members
        }


def csv_bytes(
    rows: Sequence[Sequence[object]], *, encoding: str = "utf-8-sig", delimiter: str = ","
) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Parsing


def test_parse_sample_xlsx() -> None:
    rows = parse_roster(SAMPLE_XLSX)
    assert len(rows) == 30
    first = rows[0]
    # Row 1 is a title, row 2 the header: data starts on spreadsheet row 3.
    assert first == RosterRow(
        row=3,
        name="林志强",
        phone="13805910001",  # a numeric cell
        sector="中共",
        committees=("提案委",),
        liaison_point="鼓楼区东街街道委员联系点",
        organisation="鼓楼区人民政府 副区长",
    )
    by_name = {r.name: r for r in rows}
    assert by_name["王芳"].committees == ("文化文史和学习委", "社会和法制委")  # "王　芳" squeezed
    assert by_name["黄建华"].committees == ("经济委", "提案委")
    assert by_name["杨美玲"].committees == ()  # blank cell
    assert by_name["阿依古丽·买买提"].row == 32
    assert [r.row for r in rows] == list(range(3, 33))


def test_parse_sample_csv_matches_xlsx() -> None:
    from_xlsx = parse_roster(SAMPLE_XLSX)
    from_csv = parse_roster(SAMPLE_CSV.read_bytes(), "roster-sample.csv")
    assert len(from_csv) == 30
    assert from_csv[0].row == 2  # no title row in the CSV
    for x, c in zip(from_xlsx, from_csv, strict=True):
        assert (x.name, x.sector, x.committees, x.liaison_point, x.organisation) == (
            c.name,
            c.sector,
            c.committees,
            c.liaison_point,
            c.organisation,
        )


def test_parse_headers_in_english_with_noise_and_unknown_columns() -> None:
    data = csv_bytes(
        [
            ["Member roster"],
            [],
            [
                "No.",
                " Full Name ",
                "MOBILE",
                "Sector",
                "Committees",
                "Liaison_Point",
                "Organization",
                "Notes",
            ],
            ["1", "Li Wei", "138 0013 8000", "港澳", "经济委; 提案委", "东街", "Acme", "x"],
            ["2", "", "", "", "", "", "", "only notes"],  # nothing we read: skipped
            ["3", "", "", "", "", "", "", ""],
            ["4", "王 芳", "13900139000", "", "", "", "", ""],
        ]
    )
    rows = parse_roster(data, "r.csv")
    assert rows == [
        RosterRow(4, "Li Wei", "138 0013 8000", "港澳", ("经济委", "提案委"), "东街", "Acme"),
        RosterRow(7, "王芳", "13900139000", "", (), "", ""),
    ]


def test_parse_missing_columns_are_none() -> None:
    rows = parse_roster(csv_bytes([["手机号", "姓名"], ["13800138000", "王芳"]]), "r.csv")
    assert rows == [RosterRow(2, "王芳", "13800138000")]
    assert rows[0].sector is None and rows[0].committees is None


@pytest.mark.parametrize(
    "header",
    [
        ["姓名", "手机", "界别", "专委会", "联系点", "工作单位"],
        ["姓名", "手机号码", "界别", "专门委员会", "委员联系点", "单位职务"],
        ["姓名", "电话", "界别", "专委会", "委员联系点", "工作单位"],
        ["Name", "Phone", "SECTOR", "committee", "liaison point", "organisation"],
    ],
)
def test_parse_header_aliases(header: list[str]) -> None:
    data = csv_bytes([header, ["王芳", "13800138000", "民盟", "提案委，经济委", "东街", "福大"]])
    assert parse_roster(data, "r.csv") == [
        RosterRow(2, "王芳", "13800138000", "民盟", ("提案委", "经济委"), "东街", "福大")
    ]


@pytest.mark.parametrize(
    ("encoding", "delimiter", "filename"),
    [
        ("utf-8-sig", ",", "r.csv"),
        ("utf-8", ",", "r.csv"),
        ("gb18030", ",", "r.csv"),
        ("gb18030", "\t", "r.csv"),
        ("utf-8-sig", ";", "r.csv"),
        ("utf-16", "\t", "r.txt"),  # Excel "Unicode text"
    ],
)
def test_parse_csv_encodings_and_delimiters(encoding: str, delimiter: str, filename: str) -> None:
    data = csv_bytes(
        [
            ["姓名", "手机", "专委会"],
            ["王芳", "138 0013 8000", "提案委、经济委\n农业农村委"],
            ["陈健", "139-0013-9000", "社会和法制委/文化文史和学习委"],
        ],
        encoding=encoding,
        delimiter=delimiter,
    )
    rows = parse_roster(data, filename)
    assert [(r.row, r.name, r.committees) for r in rows] == [
        (2, "王芳", ("提案委", "经济委", "农业农村委")),
        (3, "陈健", ("社会和法制委", "文化文史和学习委")),
    ]


def test_parse_xlsx_numeric_and_float_phones() -> None:
    data = xlsx_bytes([["姓名", "手机"], ["王芳", 13800138000], ["陈健", 13900139000.0]])
    assert [r.phone for r in parse_roster(data, "r.xlsx")] == ["13800138000", "13900139000"]


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"PK\x03\x04 this is not really a zip", "r.xlsx", "unreadable"),
        ("姓名,手机\n王芳,13800138000\n".encode(), "r.xlsx", "unreadable"),  # a CSV named .xlsx
        (bytes(range(256)) * 8, "r.csv", "unreadable"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "r.xls", "unsupported_type"),
        (b"%PDF-1.4", "r.pdf", "unsupported_type"),
        (b"", "r.csv", "no_header"),
        ("姓名,单位\n王芳,福大\n".encode(), "r.csv", "no_header"),  # no phone column
        ("\n\n\n\n\n姓名,手机\n王芳,13800138000\n".encode(), "r.csv", "no_header"),  # row 6
    ],
)
def test_parse_bad_files(data: bytes, filename: str, code: str) -> None:
    with pytest.raises(RosterFileError) as caught:
        parse_roster(data, filename)
    assert caught.value.code == code


def test_parse_xlsx_without_phone_column() -> None:
    with pytest.raises(RosterFileError) as caught:
        parse_roster(xlsx_bytes([["姓名", "界别"], ["王芳", "民盟"]]), "r.xlsx")
    assert caught.value.code == "no_header"
    assert caught.value.detail == "phone"


def test_parse_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RosterFileError) as caught:
        parse_roster(tmp_path / "nope.xlsx")
    assert caught.value.code == "unreadable"


# --------------------------------------------------------------------------------------------
# Importing


@pytest.mark.parametrize("sample", [SAMPLE_XLSX, SAMPLE_CSV], ids=["xlsx", "csv"])
async def test_import_sample(db: Database, sample: Path) -> None:
    report = await run_import(db, parse_roster(sample), source=sample.name)
    assert (report.total_rows, report.created, report.updated, report.unchanged) == (30, 30, 0, 0)
    assert report.rejected == []
    assert len(report.new_sectors) == 11
    assert sorted(report.new_committees) == sorted(
        ["提案委", "经济委", "农业农村委", "文化文史和学习委", "社会和法制委"]
    )
    assert len(report.new_liaison_points) == 6

    assert await count(db, Member) == 30
    assert await count(db, Sector) == 11
    assert await count(db, Committee) == 5
    assert await count(db, LiaisonPoint) == 6

    wang = await member_by_phone(db, "+8613805910005")  # written "(138) 0591 0005"? any format
    assert wang.name == "王芳"
    assert wang.sector is not None and wang.sector.name == "民盟"
    assert [c.name for c in wang.committees] == sorted(["文化文史和学习委", "社会和法制委"])
    assert wang.liaison_point is not None and wang.liaison_point.name == "台江区茶亭街道委员联系点"
    assert wang.organisation == "福州大学 教授"
    assert wang.active and wang.role == "member"
    assert await count(db, Identity) == 0  # nobody is bound by an import

    full_width = await member_by_phone(db, "+8613805910013")  # written in full-width digits
    assert full_width.name == "蔡金花"

    async with db.transaction() as session:
        logs = (await session.execute(select(AuditLog))).scalars().all()
    assert len(logs) == 1
    assert logs[0].action == "roster.import"
    assert (logs[0].actor_channel, logs[0].actor_external_id) == (TELEGRAM, "42")
    assert logs[0].details["source"] == sample.name
    assert logs[0].details["created"] == 30
    assert logs[0].details["rejected"] == 0


async def test_xlsx_then_csv_is_unchanged(db: Database) -> None:
    await run_import(db, parse_roster(SAMPLE_XLSX))
    report = await run_import(db, parse_roster(SAMPLE_CSV))
    assert (report.created, report.updated, report.unchanged) == (0, 0, 30)


async def test_import_bad_rows(db: Database) -> None:
    report = await run_import(db, parse_roster(BAD_CSV))
    assert report.rejected == [
        RejectedRow(3, RejectReason.missing_name, ""),
        RejectedRow(4, RejectReason.missing_phone, ""),
        RejectedRow(5, RejectReason.bad_phone, "1380591"),
        RejectedRow(7, RejectReason.duplicate_phone, "2"),
        RejectedRow(8, RejectReason.too_long, "organisation"),
    ]
    assert [r.reason for r in report.rejected] == [
        "missing_name",
        "missing_phone",
        "bad_phone",
        "duplicate_phone",
        "too_long",
    ]
    assert (report.total_rows, report.created, report.updated, report.unchanged) == (7, 2, 0, 0)
    first = await member_by_phone(db, "+8613805910001")
    assert first.name == "林志强"  # the first occurrence wins, not the duplicate
    assert first.organisation == "鼓楼区人民政府"
    assert await count(db, Member) == 2
    # Nothing from a rejected row was created.
    async with db.transaction() as session:
        sectors = set((await session.execute(select(Sector.name))).scalars())
    assert sectors == {"中共", "教育界"}


async def test_same_file_twice_writes_nothing(db: Database) -> None:
    rows = parse_roster(SAMPLE_XLSX)
    await run_import(db, rows)
    before = await snapshot(db)
    report = await run_import(db, rows)
    assert (report.total_rows, report.created, report.updated, report.unchanged) == (30, 0, 0, 30)
    assert report.rejected == []
    assert report.new_sectors == report.new_committees == report.new_liaison_points == []
    assert await snapshot(db) == before  # updated_at included
    assert await count(db, AuditLog) == 2


async def test_changed_file_updates(db: Database) -> None:
    await run_import(db, parse_roster(SAMPLE_CSV))
    before = await snapshot(db)
    rows = parse_roster(SAMPLE_CSV)

    def change(phone_digits: str, **fields: object) -> None:
        for i, r in enumerate(rows):
            if r.phone and phone_digits in r.phone.replace(" ", "").replace("-", ""):
                values = {f: getattr(r, f) for f in RosterRow.__dataclass_fields__}
                rows[i] = RosterRow(**{**values, **fields})
                return
        raise AssertionError(phone_digits)

    change("05910001", name="林志刚")  # renamed
    change("05910002", sector="民进")  # a new sector
    change("05910003", committees=("经济委",))  # left 提案委
    change("05910004", committees=())  # left all committees
    change("05910006", liaison_point="", organisation="")  # cleared
    rows.append(RosterRow(99, "新委员", "186 0591 0099", "特邀", ("提案委",), None, None))

    report = await run_import(db, rows)
    assert (report.created, report.updated, report.unchanged) == (1, 5, 25)
    assert report.new_sectors == ["民进"]
    assert report.new_committees == [] and report.new_liaison_points == []

    after = await snapshot(db)
    changed = {p for p in after if p in before and after[p] != before[p]}
    assert changed == {
        "+8613805910001",
        "+8613905910002",
        "+8615005910003",
        "+8618605910004",
        "+8613905910006",
    }
    for phone in changed:
        assert after[phone][5] > before[phone][5]  # updated_at moved
        assert after[phone][6] == before[phone][6]  # created_at did not

    assert (await member_by_phone(db, "+8613805910001")).name == "林志刚"
    m2 = await member_by_phone(db, "+8613905910002")
    assert m2.sector is not None and m2.sector.name == "民进"
    assert [c.name for c in (await member_by_phone(db, "+8615005910003")).committees] == ["经济委"]
    assert (await member_by_phone(db, "+8618605910004")).committees == []
    m6 = await member_by_phone(db, "+8613905910006")
    assert m6.liaison_point is None and m6.organisation is None
    new = await member_by_phone(db, "+8618605910099")
    assert new.name == "新委员" and [c.name for c in new.committees] == ["提案委"]
    assert new.sector is not None and new.sector.name == "特邀"

    # And the changed file a second time changes nothing more.
    again = await run_import(db, rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 31)


async def test_missing_columns_leave_fields_alone(db: Database) -> None:
    await run_import(db, parse_roster(SAMPLE_XLSX))
    before = await snapshot(db)
    rows = parse_roster(csv_bytes([["姓名", "手机"], ["林志强", "13805910001"]]), "r.csv")
    report = await run_import(db, rows)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    assert await snapshot(db) == before  # sector, committees... kept; absent members kept


async def test_members_not_in_file_are_kept(db: Database) -> None:
    await run_import(db, parse_roster(SAMPLE_XLSX))
    report = await run_import(db, parse_roster(BAD_CSV))
    assert report.created == 0  # the bad-rows file's two good phones are sample members
    assert report.updated == 2
    assert await count(db, Member) == 30


async def test_telegram_binding_survives_reimport(db: Database) -> None:
    await run_import(db, parse_roster(SAMPLE_XLSX))
    bound_at = utcnow()
    async with db.transaction() as session:
        await session.execute(
            update(Member)
            .where(Member.phone == "+8613805910001")
            .values(bound_at=bound_at, locale="zh-CN")
        )
        bound = await session.scalar(select(Member.id).where(Member.phone == "+8613805910001"))
        assert bound is not None
        await identities.attach(session, bound, telegram_account(777001), now=bound_at)
    rows = parse_roster(SAMPLE_XLSX)
    rows[0] = RosterRow(3, "林志刚", "+86 138 0591 0001", "经济界", ("经济委",), None, "新单位")
    report = await run_import(db, rows)
    assert report.updated == 1
    member = await member_by_phone(db, "+8613805910001")
    assert member.name == "林志刚"
    assert member.locale == "zh-CN"
    async with db.transaction() as session:
        account = await identities.account_of(session, member.id, TELEGRAM)
    assert account is not None and (account.external_id, account.address) == ("777001", "777001")
    assert member.bound_at is not None
    assert abs((member.bound_at - bound_at).total_seconds()) < 1


async def test_rejected_import_rolls_back_with_transaction(db: Database) -> None:
    """import_roster runs in the caller's transaction: an error later rolls everything back."""
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await import_roster(session, parse_roster(SAMPLE_CSV), source="t")
            raise RuntimeError("boom")
    assert await count(db, Member) == 0
    assert await count(db, AuditLog) == 0


async def test_empty_import(db: Database) -> None:
    report = await run_import(db, [])
    assert report == ImportReport()
    assert await count(db, AuditLog) == 1


async def test_twenty_thousand_rows(db: Database) -> None:
    sectors = ["中共", "民革", "民盟", "经济界", "农业界"]
    committees = ["提案委", "经济委", "农业农村委", "文化文史和学习委", "社会和法制委"]
    rows = [
        RosterRow(
            row=i + 2,
            name=f"委员{i}",
            phone=f"139{i:08d}",
            sector=sectors[i % 5],
            committees=(committees[i % 5], committees[(i + 1) % 5]),
            liaison_point=f"联系点{i % 45}",
            organisation=f"单位{i % 300}",
        )
        for i in range(20_000)
    ]
    started = time.perf_counter()
    report = await run_import(db, rows)
    first = time.perf_counter() - started
    assert report.created == 20_000

    started = time.perf_counter()
    report = await run_import(db, rows)
    second = time.perf_counter() - started
    assert report.unchanged == 20_000

    rows[::2] = [
        RosterRow(r.row, f"{r.name}改", r.phone, r.sector, (r.committees or ())[:1], None, None)
        for r in rows[::2]
    ]
    started = time.perf_counter()
    report = await run_import(db, rows)
    third = time.perf_counter() - started
    assert (report.updated, report.unchanged) == (10_000, 10_000)
    async with db.transaction() as session:
        links = (
            await session.execute(select(func.count()).select_from(member_committee))
        ).scalar_one()
    assert links == 30_000
    assert max(first, second, third) < 30, (first, second, third)


async def test_control_characters_in_a_csv_roster_are_dropped(db: Database) -> None:
    """A CSV can carry control characters (a NUL makes the file refused as binary) such as
    Word's soft line break: names, sectors and units are stored without them, so exports and
    messages never meet them."""
    data = "姓名,手机号,界别,工作单位\n王\x01芳,13800138000,经济\x0b界,福州\x1f大学\n".encode()
    report = await run_import(db, parse_roster(data, "roster.csv"))
    assert report.created == 1
    async with db.read() as session:
        member = await session.scalar(select(Member).options(*FULL))
    assert member is not None
    assert (member.name, member.organisation) == ("王芳", "福州大学")
    assert member.sector is not None and member.sector.name == "经济 界"  # a break, then a space
