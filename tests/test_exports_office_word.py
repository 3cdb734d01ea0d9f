"""Word files as a Chinese government office prints them, fetched through the bot (the
emulator) and opened with python-docx: A4 portrait with the GB/T 9704 margins, titles in a
heading style, the office (OFFICE_NAME) as author and company and never "python-docx", and
the compilation's cover page and table of contents; a compilation capped at 300 reports says
so. The report xlsx of the same search has Excel datetimes, 是/否, autofilters and widths.
(Hostile text in these files: test_exports_hostile_e2e.py.)
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import docx
import pytest
from openpyxl import load_workbook

from bot.exports import word
from bot.tryout import BotApiEmulator
from storage.models import Report, ReportStatus
from tests.reports_e2e_support import OTHER, STAFF, _member, _staff, _submitted
from tests.support import FakeClock, Harness, fresh_database, make_settings

OFFICE = "政协福州市委员会办公厅 & <研究室>"
HOSTILE_TITLE = '=HYPERLINK("http://evil.example","x")<b>标题</b>\x0b'
SHOWN_TITLE = '=HYPERLINK("http://evil.example","x")<b>标题</b>\n'.strip()


@pytest.fixture
async def office(emulator: BotApiEmulator, tmp_path: Path) -> AsyncIterator[Harness]:
    """The real bot with the office's name configured."""
    async with fresh_database("sqlite", tmp_path) as database:
        settings = make_settings(emulator, database.url, tmp_path, office_name=OFFICE)
        harness = Harness(emulator, database, settings, FakeClock())
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()


def _mm(length: Any) -> float:
    return round(length.mm, 1)


def _check_page_and_properties(data: bytes, title: str) -> Any:
    """A4 portrait, GB/T 9704 margins, the office as author and company; the document."""
    document = docx.Document(io.BytesIO(data))
    for section in document.sections:
        assert (_mm(section.page_width), _mm(section.page_height)) == (210.0, 297.0)
        assert section.orientation == 0  # portrait
        margins = (section.top_margin, section.bottom_margin, section.left_margin)
        assert [_mm(m) for m in (*margins, section.right_margin)] == [37.0, 35.0, 28.0, 26.0]
    core = document.core_properties
    assert core.author == OFFICE and core.last_modified_by == OFFICE and core.title == title
    values = [getattr(core, name) for name in dir(core) if not name.startswith("_")]
    assert not any("python-docx" in str(value) for value in values)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        app = package.read("docProps/app.xml").decode()
        core_xml = package.read("docProps/core.xml").decode()
    assert "<Company>政协福州市委员会办公厅 &amp; &lt;研究室&gt;</Company>" in app
    assert "python-docx" not in core_xml + app
    heading = document.styles["Heading 1"]
    assert heading.font.name == "黑体" and str(heading.font.color.rgb) == "000000"
    return document


async def test_the_compilation_has_a_cover_contents_and_headings(office: Harness) -> None:
    bot = office
    author = await _member(bot)
    other = await _member(bot, OTHER, "陈静")
    first = await _submitted(bot, author, "老旧小区加装电梯")
    bot.clock.advance(days=2)
    await _submitted(bot, other, HOSTILE_TITLE)
    staff = await _staff(bot)
    async with bot.db.transaction() as session:
        report = await session.get(Report, first)
        assert report is not None
        report.excellent = True

    await staff.send_command("reports", "类别=民生保障")
    results = await bot.emu.wait_for(STAFF, "找到 2 篇")
    await staff.tap(results, "📄 导出 Word 汇编")
    message = await bot.emu.wait_for(STAFF, lambda m: (m.file_name or "").endswith(".docx"))
    assert message.data is not None
    assert "社情民意文稿" in (message.text or "") and "只收录" not in (message.text or "")
    document = _check_page_and_properties(message.data, "社情民意信息汇编")
    paragraphs = [(p.style.name, p.text, p) for p in document.paragraphs]
    texts = [text for _, text, _ in paragraphs]

    # The cover: office, title, count and date, before the contents.
    today = bot.clock.now.astimezone(bot.settings.tz)
    cover = texts[: texts.index("目　录")]
    for line in (
        OFFICE,
        "社情民意信息汇编",
        "共收录 2 篇",
        f"{today.year}年{today.month}月{today.day}日",
    ):
        assert line in cover, line
    # The contents: a TOC field Word updates on opening, holding the plain list of titles.
    xml = document.element.xml
    assert 'TOC \\o "1-1" \\h \\z \\u' in xml
    assert document.settings.element.xml.count("updateFields") == 1
    contents = texts[texts.index("目　录") + 1 : texts.index("目　录") + 3]
    assert contents == ["1. 老旧小区加装电梯", f"2. {SHOWN_TITLE}"]
    # Each report's title is a Heading 1 starting a page; the sections are Heading 2.
    headings = [(text, p) for style, text, p in paragraphs if style == "Heading 1"]
    assert [text for text, _ in headings] == ["老旧小区加装电梯", SHOWN_TITLE]
    assert all(p.paragraph_format.page_break_before for _, p in headings)
    sections = [text for style, text, _ in paragraphs if style == "Heading 2"]
    assert sections[:3] == ["一、基本情况", "二、存在问题", "三、意见建议"]

    # The same search as a spreadsheet.
    await staff.tap(results, "📊 导出 Excel")
    sheet_msg = await bot.emu.wait_for(STAFF, lambda m: (m.file_name or "").endswith(".xlsx"))
    assert sheet_msg.data is not None
    book = load_workbook(io.BytesIO(sheet_msg.data))
    reports_sheet, history = book["社情民意"], book["办理记录"]
    assert reports_sheet.auto_filter.ref == "A1:Q3" and history.auto_filter.ref == "A1:H3"
    for sheet in (reports_sheet, history):
        assert sheet.freeze_panes == "A2"
        for column in "ABCDEFGH":
            assert sheet.column_dimensions[column].width, (sheet.title, column)
    header = [c.value for c in reports_sheet[1]]
    rows = [dict(zip(header, r, strict=True)) for r in reports_sheet.iter_rows(2, values_only=True)]
    assert [r["优秀"] for r in rows] == ["是", "否"]
    assert rows[1]["标题"] == SHOWN_TITLE
    submitted = reports_sheet.cell(2, header.index("提交时间") + 1)
    assert isinstance(submitted.value, datetime) and submitted.value.tzinfo is None
    assert submitted.number_format == "yyyy-mm-dd hh:mm"
    local = bot.clock.now.astimezone(bot.settings.tz).replace(tzinfo=None, microsecond=0)
    assert submitted.value == local - timedelta(days=2)  # Shanghai wall-clock time
    assert rows[0]["最近审核时间"] is None  # not reviewed: an empty cell, not a text
    assert isinstance(history["C2"].value, datetime) and history["C2"].number_format.startswith(
        "yyyy"
    )


async def test_one_report_is_an_official_document_without_a_cover(office: Harness) -> None:
    bot = office
    await _submitted(bot, await _member(bot), "背街小巷路灯不亮")
    staff = await _staff(bot)
    await staff.send_command("reports", "SQ-2026-000001")
    card = await bot.emu.wait_for(STAFF, lambda m: "📄 Word 文稿" in m.buttons())
    await staff.tap(card, "📄 Word 文稿")
    message = await bot.emu.wait_for(STAFF, lambda m: (m.file_name or "").endswith(".docx"))
    assert message.data is not None
    document = _check_page_and_properties(message.data, "背街小巷路灯不亮")
    assert document.paragraphs[0].style.name == "Heading 1"
    assert document.paragraphs[0].text == "背街小巷路灯不亮"
    assert "目　录" not in [p.text for p in document.paragraphs]


async def test_a_compilation_capped_at_300_reports_says_so(office: Harness) -> None:
    bot = office
    author = await _member(bot)
    staff = await _staff(bot)
    start = bot.clock.now - timedelta(days=30)
    async with bot.db.transaction() as session:
        for n in range(1, 302):
            session.add(
                Report(
                    member_id=author,
                    status=ReportStatus.submitted,
                    title=f"第{n}篇",
                    category="livelihood",
                    situation="情况",
                    problem="问题",
                    suggestions="建议",
                    receipt_no=f"SQ-2026-{n:06d}",
                    receipt_year=2026,
                    receipt_seq=n,
                    submitted_at=start + timedelta(minutes=n),
                )
            )
    await staff.send_command("reports", "类别=民生保障")
    results = await bot.emu.wait_for(STAFF, "找到 301 篇")
    await staff.tap(results, "📄 导出 Word 汇编")
    message = await bot.emu.wait_for(
        STAFF, lambda m: (m.file_name or "").endswith(".docx"), timeout=60
    )
    assert "检索到 301 篇" in (message.text or "")
    assert "只收录了最早的 300 篇" in (message.text or "")
    assert message.data is not None
    document = docx.Document(io.BytesIO(message.data))
    titles = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert len(titles) == 300 and titles[0] == "第1篇" and titles[-1] == "第300篇"
    assert "共收录 300 篇" in [p.text for p in document.paragraphs]


def test_hostile_titles_stay_text_and_do_not_break_the_document() -> None:
    """A 100,000-character title with control characters, HTML and a formula: the document
    opens, the properties hold its first 255 characters (python-docx's limit), the heading all
    of it, minus what XML cannot hold."""
    title = "=1+1\x00<b>标题</b>\x0b" + "长👍" * 50_000
    properties = word.Properties(office=OFFICE, title=title, created=datetime(2026, 12, 2))
    document = word.official_document(properties)
    word.heading(document, title)
    word.body(document, "@SUM(A1)\x1f正文\n<script>x</script>")
    opened = docx.Document(io.BytesIO(word.saved(document)))
    shown = "=1+1<b>标题</b>\n" + "长👍" * 50_000
    assert opened.core_properties.title == shown[:255]
    assert opened.paragraphs[0].style.name == "Heading 1" and opened.paragraphs[0].text == shown
    assert [p.text for p in opened.paragraphs[1:]] == ["@SUM(A1)正文", "<script>x</script>"]
