"""What the dependency set promises: uploads are parsed with defusedxml, and the pinned set is
the one CI installs."""

from __future__ import annotations

import io
import re
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from openpyxl import Workbook

from storage import roster

ROOT = Path(__file__).resolve().parent.parent

_DOCTYPE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lollollollollollollollollollol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
"""


def _xml_bomb_roster() -> bytes:
    """A roster workbook whose sheet expands an entity (an "XML bomb", kept small)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "手机号"])
    sheet.append(["MEMBER-NAME", "13800138000"])
    plain = io.BytesIO()
    book.save(plain)
    bombed = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(bombed, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = _DOCTYPE + data.replace(b"MEMBER-NAME", b"&lol3;")
            target.writestr(item, data)
    return bombed.getvalue()


def test_an_uploaded_workbook_with_xml_entities_is_refused() -> None:
    """openpyxl reads through defusedxml when it is installed: entity declarations are refused
    instead of expanded (without it, this file would be read and a larger one would eat memory)."""
    with pytest.raises(roster.RosterFileError) as refused:
        roster.parse_roster(_xml_bomb_roster(), "bomb.xlsx")
    assert refused.value.code is roster.RosterFileErrorCode.unreadable


def test_the_constraints_file_pins_what_is_installed() -> None:
    """CI and the README install with -c constraints.txt: every pin there is what this
    environment runs, so a deployment gets exactly the tested versions."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)(\s*;.*)?", line.strip())
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    assert "python-telegram-bot" in pins and "aiohttp" in pins and "defusedxml" in pins
    wrong = {}
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # a pin for another platform (uvloop on Windows) constrains nothing here
        if installed != version:
            wrong[name] = (version, installed)
    assert wrong == {}
    assert "tornado" not in pins  # PTB's webhooks extra is not installed (our server is aiohttp)
