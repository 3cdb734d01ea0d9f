from __future__ import annotations

import pytest

from storage.phones import mask_phone, normalize_phone

MOBILE = "+8613800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "+86(138)00138000",
        "0086-138-0013-8000",
        "0086 13800138000",
        "86138 0013 8000",
        "8613800138000",  # Telegram contact
        "+8613800138000",
        "138-0013-8000",
        "(138) 0013 8000",
        "138.0013.8000",
        " 138 0013 8000 \n",
        "１３８００１３８０００",  # full-width digits
        "１３８　００１３　８０００",  # full-width spaces
        "＋８６ １３８－００１３－８０００",
        "138–0013—8000",  # en and em dashes
        "138\u00a00013\u00a08000",  # no-break spaces from a web page
    ],
)
def test_mainland_mobile_formats(raw: str) -> None:
    assert normalize_phone(raw) == MOBILE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+852 9123 4567", "+85291234567"),
        ("00852-9123-4567", "+85291234567"),
        ("85291234567", "+85291234567"),  # Telegram contact
        ("+853 6612 3456", "+85366123456"),
        ("85366123456", "+85366123456"),
        ("+886 912 345 678", "+886912345678"),
        ("+886 0912 345 678", "+886912345678"),  # trunk 0 after the country code
        ("886912345678", "+886912345678"),
        ("+86 150 0591 0003", "+8615005910003"),
        ("186-0591-0004", "+8618605910004"),
        ("19912345678", "+8619912345678"),
    ],
)
def test_other_regions_and_ranges(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "12800138000",  # 12x is not a mobile range
        "23800138000",
        "91234567",  # Hong Kong without its country code
        "66123456",  # Macau without its country code
        "912345678",  # Taiwan without its country code
        "0912345678",
        "+852 1234 5678",
        "+852 9123 456",
        "+853 6612 34567",
        "+886 91234567",
        "+1 415 555 0100",
        "+44 20 7946 0958",
        "+86 0591 8765 4321",  # a landline
        "138 0013 8000 ext 2",
        "13800138000/13900139000",  # two numbers in one cell
        "1.38001E+10",  # what Excel does to long numbers in CSV
        "+",
        "00",
        "1" * 100,
        "١٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic digits are digits, but not ours
    ],
)
def test_rejected(raw: str) -> None:
    assert normalize_phone(raw) is None


def test_idempotent() -> None:
    for raw in ("+86 138 0013 8000", "85291234567", "+886 912 345 678"):
        once = normalize_phone(raw)
        assert once is not None
        assert normalize_phone(once) == once


def test_mask() -> None:
    assert mask_phone("+8613800138000") == "+86 138****8000"
    assert mask_phone("138-0013-8000") == "+86 138****8000"
    assert mask_phone("+85291234567") == "+852 91****67"
    assert mask_phone("+85366123456") == "+853 66****56"
    assert mask_phone("+886912345678") == "+886 912***678"
    assert mask_phone("1380591") == "*****91"  # not a valid number: still masked
    assert mask_phone("") == ""
