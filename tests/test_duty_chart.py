"""The statistics chart renders headless, with Chinese labels when a font has the glyphs and
numbered ASCII labels (never boxes) when none does."""

from __future__ import annotations

import io

from matplotlib.image import imread

from handlers.duty_record.chart import ChartTexts, cjk_font, render_rates

TEXTS = ChartTexts(
    title="2026年履职情况 · 按界别",
    series=("采用率", "出席率", "回执率"),
    ascii_title="2026 duty record by group",
    ascii_series=("adoption", "attendance", "acknowledgement"),
    axis="百分比（%）",
    ascii_axis="percent",
)
GROUPS = ["经济界", "科技界", "农业界"]
RATES = [(0.5, 0.9, None), (1.0, 0.0, 0.75), (None, None, None)]


def test_chinese_labels_with_the_shipped_font() -> None:
    font = cjk_font()
    assert font is not None  # the pylopdf-fonts-zh-cn dependency provides Noto Sans SC
    chart = render_rates(TEXTS, GROUPS, RATES)
    assert not chart.numbered
    image = imread(io.BytesIO(chart.png), format="png")
    assert image.shape[0] > 300 and image.shape[1] > 600


def test_without_a_chinese_font_groups_are_numbered() -> None:
    chart = render_rates(TEXTS, GROUPS, RATES, use_font=False)
    assert chart.numbered and chart.png.startswith(b"\x89PNG")
    # English texts and ASCII names need no Chinese font and are shown as they are.
    english = ChartTexts("2026", ("a", "b", "c"), "2026", ("a", "b", "c"), "percent", "percent")
    assert not render_rates(english, ["Economy", "Science"], RATES[:2], use_font=False).numbered
