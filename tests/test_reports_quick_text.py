"""How a quick report's free text is read into the fields: a title from one long line, the
problem and the suggestions found by their usual words on one line and across lines, and no
text ever lost. (The same end to end: tests/test_reports_edges_e2e.py.)"""

from __future__ import annotations

import pytest

from storage.reports import parse_quick_text
from storage.reports.quick_text import TITLE_FROM_CLAUSE_MAX, title_from_clause

ONE_LINE = (
    "鼓楼区老旧小区加装电梯进展缓慢，部分小区居民意见不一，协调难度大。"
    "问题是资金缺口明显，审批流程长。建议设立专项资金，简化审批。"
)


def _parse(text: str, *, guess_title: bool = True, title_max: int = 60) -> dict[str, str]:
    return parse_quick_text(text, title_max=title_max, guess_title=guess_title)


def _words(text: str) -> str:
    """The text without punctuation, spaces or the dropped marker words: what must survive."""
    for word in ("问题是", "建议：", "问题：", "建议如下：", "标题："):
        text = text.replace(word, "")
    return "".join(ch for ch in text if ch.isalnum())


def test_one_long_line_gets_a_title_and_its_three_sections() -> None:
    assert _parse(ONE_LINE) == {
        "title": "鼓楼区老旧小区加装电梯进展缓慢",
        "situation": "鼓楼区老旧小区加装电梯进展缓慢，部分小区居民意见不一，协调难度大。",
        "problem": "资金缺口明显，审批流程长。",
        "suggestions": "建议设立专项资金，简化审批。",
    }


def test_markers_across_lines_and_words_that_belong_to_the_sentence_stay() -> None:
    text = (
        "菜市场周边停车难\n早高峰车辆乱停，占用人行道。\n存在问题较多：缺少车位，管理缺位。"
        "\n希望有关部门划设限时停车位。"
    )
    assert _parse(text) == {
        "title": "菜市场周边停车难",  # a short first line: the title, as before
        "situation": "早高峰车辆乱停，占用人行道。",
        "problem": "存在问题较多：缺少车位，管理缺位。",
        "suggestions": "希望有关部门划设限时停车位。",
    }
    assert _parse("问题是：\n资金缺口\n主要问题在于审批慢\n建议：\n设立专项资金") == {
        "title": "资金缺口",
        "problem": "资金缺口\n审批慢",
        "suggestions": "设立专项资金",
    }
    assert _parse("垃圾分类推行不力，居民参与度低；为此，建议加强宣传，呼吁居民参与。") == {
        "title": "垃圾分类推行不力",
        "situation": "垃圾分类推行不力，居民参与度低",
        "suggestions": "为此，建议加强宣传，呼吁居民参与。",
    }


def test_a_marker_inside_a_clause_is_text() -> None:
    """Only a clause that starts with the words opens a section."""
    text = "居民希望加装电梯，这个问题是多年积累的，相关建议已提过多次"
    assert _parse(text) == {"title": "居民希望加装电梯", "situation": text}


def test_labelled_messages_and_short_first_lines_work_as_before() -> None:
    text = "标题：背街小巷路灯不亮，建议维修\n基本情况：三条小巷\n晚上漆黑一片\n意见建议：尽快维修"
    assert _parse(text) == {
        "title": "背街小巷路灯不亮，建议维修",  # a title line is never cut up
        "situation": "三条小巷\n晚上漆黑一片",
        "suggestions": "尽快维修",
    }
    assert _parse("路灯\n坏了三天") == {"title": "路灯", "situation": "坏了三天"}
    assert _parse("路灯坏了\n建议尽快修") == {"title": "路灯坏了", "suggestions": "建议尽快修"}


def test_text_added_to_a_draft_with_a_title_is_split_but_gets_no_title() -> None:
    assert _parse("另外，维保费用也应明确。问题是没人管", guess_title=False) == {
        "situation": "另外，维保费用也应明确。",
        "problem": "没人管",
    }


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("路灯坏了三天", "路灯坏了三天"),
        ("另外，电梯维保费用也应明确。", "另外，电梯维保费用也应明确"),  # too short alone
        ("「路灯坏了」，晚上很黑", "路灯坏了"),
        ("一、问题是路灯坏了！晚上很黑", "路灯坏了"),
        ("建议在鼓楼区增设公交线路，方便出行", "建议在鼓楼区增设公交线路"),
        ("<b>路灯</b> & 井盖；都坏了", "<b>路灯</b> & 井盖"),  # as typed: escaped when shown
        ("Street lights are broken, residents say.", "Street lights are broken"),
        ("The lights cost 3.5 million. Nobody fixed them", "The lights cost 3.5 million"),
    ],
)
def test_the_title_is_the_first_clause_without_markers(text: str, title: str) -> None:
    assert _parse(text)["title"] == title


def test_a_long_clause_is_cut_in_utf16_without_splitting_an_emoji() -> None:
    cap = TITLE_FROM_CLAUSE_MAX
    long = "这是一个没有标点符号的很长的句子" * 5
    title = _parse(long)["title"]
    assert title.endswith("…") and len(title.encode("utf-16-le")) // 2 <= cap
    assert _parse(long)["situation"] == long  # the whole sentence stays
    family = "👨‍👩‍👧‍👦"
    for text in (family * 30, "🇨🇳" * 30, "x" + "🇨🇳" * 30, "x" * 39 + "👍🏽", "a" * 38 + family):
        cut = title_from_clause(text, cap)
        assert cut is not None and len(cut.encode("utf-16-le")) // 2 <= cap
        kept = cut.removesuffix("…")
        assert text.startswith(kept)
        rest = text[len(kept) :]
        # What follows the cut starts a character: no joiner, selector or skin tone.
        assert not rest or rest[0] not in "\u200d\ufe0f\U0001f3fd"
        assert kept.count("\U0001f1e8") == kept.count("\U0001f1f3")  # whole flags only
        assert not kept.endswith("\u200d")
    words = "Street lights on Elm Road have been broken for three days and nobody came"
    assert title_from_clause(words, cap) == "Street lights on Elm Road have been…"
    assert _parse("路灯", title_max=5)["title"] == "路灯"
    assert title_from_clause("路灯坏了三天没人修", 5) == "路灯坏了…"


@pytest.mark.parametrize(
    "text",
    [
        ONE_LINE,
        "问题是\n\n建议：\n\x00\u202e；；，，。。" + "希望" * 3,
        "，，，问题是，建议，希望。",
        "😀" * 500,
        "标题：\n\n\n",
        "建议" * 200 + "问题是" * 200,
    ],
)
def test_no_word_is_ever_lost(text: str) -> None:
    parts = _parse(text)
    stored = "".join(parts.get(f, "") for f in ("situation", "problem", "suggestions"))
    assert sorted(_words(stored)) == sorted(_words(text))
