"""Shared by the hostile-text tests (test_exports_hostile_*.py, test_report_input_hostile.py):
the test users, the hostile values members type (or paste from Word), what a file may show
for them, readers of a workbook (checking it holds no formula and no character XML forbids)
and of a Word document, and matchers for the messages the bot sends."""

from __future__ import annotations

import io
from typing import Any

import docx
from openpyxl import load_workbook

from bot.channels import telegram_account
from bot.tryout import SentMessage

STAFF = 7001
FIRST_MEMBER = 7100
FIRST_ACCOUNT = telegram_account(FIRST_MEMBER).key  # whose dialog it is

# What members type, or paste from Word, or what a hostile member types on purpose.
HOSTILE: tuple[str, ...] = (
    "软换行\x0b第二行",  # Word's soft line break
    "空字符\x00在此",
    "单元分隔\x1f符",
    "=1+1",
    "+cmd",
    "-2",
    "@SUM(A1)",
    "\t=x",
    "\r=x",
    '=HYPERLINK("http://evil.example","病假")',
    "<b>加粗</b> & <i>x",
    "委员👍🏻🇨🇳",
    "成本$x^$元",  # matplotlib reads text between dollar signs as a formula
)
LONG = "情况说明👍" * 20_000  # 100,000 characters (120,000 UTF-16 units)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _visible(text: str) -> str:
    """What a file may show for text: Word's soft line and page breaks as new lines, other
    characters XML forbids gone, everything else exactly as typed. (Written out here, not
    imported, so the test does not trust the code it checks.)"""
    text = text.replace("\x0b", "\n").replace("\x0c", "\n")
    return "".join(
        ch
        for ch in text
        if (ch in "\t\n\r" or ord(ch) >= 0x20)
        and not 0xD800 <= ord(ch) <= 0xDFFF
        and ch not in "\ufffe\uffff"
    )


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _book_strings(data: bytes) -> list[str]:
    """Every string cell of a workbook, after checking the whole book holds no formula and no
    character XML forbids, and that text a spreadsheet would read as a formula is marked as
    typed text."""
    book = load_workbook(io.BytesIO(data))
    values: list[str] = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for c in row:
                assert c.data_type != "f", (sheet.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    assert c.data_type == "s", (sheet.title, c.coordinate)
                    assert c.value == _visible(c.value), (sheet.title, c.coordinate)
                    if c.value.startswith(FORMULA_STARTS):
                        assert c.quotePrefix, (sheet.title, c.coordinate, c.value)
                    values.append(c.value)
    return values


def _docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    return "\n".join(p.text for p in document.paragraphs)


def _has_button(*labels: str) -> Any:
    def match(m: SentMessage) -> bool:
        return all(label in m.buttons() for label in labels)

    return match


def _document(name_end: str) -> Any:
    def match(m: SentMessage) -> bool:
        return m.kind == "document" and (m.file_name or "").endswith(name_end)

    return match
