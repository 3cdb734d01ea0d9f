"""The statistics chart: rates by sector or committee as grouped bars, a PNG rendered headless.

Chinese labels need a font with Chinese glyphs. The order of choice: Noto Sans SC from the
pylopdf-fonts-zh-cn wheel (a dependency, so `pip install` alone provides it), then a system
font matplotlib knows (Noto Sans CJK, Source Han Sans, WenQuanYi, ...). With neither, the chart
is still readable, never boxes: groups are numbered (the caption says which is which) and the
titles come in the ASCII fallback the caller gives.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display, no GUI toolkit

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from bot.exports.cells import clean

log = logging.getLogger(__name__)

SYSTEM_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
)
COLORS = ("#c0392b", "#2471a3", "#229954")
MAX_GROUPS = 40
# Rendering from worker threads: matplotlib's font cache is shared, so one chart at a time.
_LOCK = threading.Lock()


@cache
def cjk_font() -> FontProperties | None:
    """A font that draws Chinese, or None when this machine has none."""
    try:
        import pylopdf_fonts_zh_cn

        path = pylopdf_fonts_zh_cn.sans_path()
        if path.is_file():
            return FontProperties(fname=str(path))
    except ImportError:
        pass
    for family in SYSTEM_CJK_FAMILIES:
        try:
            found = font_manager.findfont(FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        return FontProperties(fname=found)
    log.warning("no font with Chinese glyphs found: charts use numbered labels")
    return None


@dataclass(frozen=True)
class ChartTexts:
    """The chart's words; ascii_* are used when no Chinese font is available."""

    title: str
    series: tuple[str, ...]
    ascii_title: str
    ascii_series: tuple[str, ...]
    axis: str
    ascii_axis: str


@dataclass(frozen=True)
class Chart:
    png: bytes
    numbered: bool  # the groups are shown as 1, 2, 3... (no Chinese font)


def _label(name: str) -> str:
    """A group name (a sector or committee as staff typed it) drawn as written: without
    control characters, and with "$" escaped, since matplotlib reads the text between two
    dollar signs as a formula and a name like "成本$x^$" made the whole chart fail."""
    return clean(name).replace("$", r"\$")


def _plain(text: str) -> bool:
    return text.isascii()


def render_rates(
    texts: ChartTexts,
    groups: Sequence[str],
    rates: Sequence[Sequence[float | None]],
    *,
    font: FontProperties | None = None,
    use_font: bool = True,
) -> Chart:
    """Grouped horizontal bars: one row per group, one bar per series, rates from 0 to 1."""
    groups = [_label(g) for g in list(groups)[:MAX_GROUPS]]
    rates = list(rates)[:MAX_GROUPS]
    prop = (font or cjk_font()) if use_font else None
    every = [texts.title, texts.axis, *texts.series, *groups]
    numbered = prop is None and not all(_plain(t) for t in every)
    if numbered:
        title, axis, series = texts.ascii_title, texts.ascii_axis, texts.ascii_series
        labels = [str(i) for i in range(1, len(groups) + 1)]
    else:
        title, axis, series = texts.title, texts.axis, texts.series
        labels = groups
    extra: dict[str, Any] = {"fontproperties": prop} if prop is not None else {}
    height = max(3.0, 0.62 * len(groups) + 1.6)
    with _LOCK:
        figure = Figure(figsize=(7.5, height), dpi=110)
        axes = figure.subplots()
        bar = 0.8 / max(1, len(series))
        positions = range(len(groups))
        for index, name in enumerate(series):
            values = [(row[index] or 0.0) * 100 for row in rates]
            offsets = [p - 0.4 + bar * (index + 0.5) for p in positions]
            axes.barh(offsets, values, height=bar, label=name, color=COLORS[index % len(COLORS)])
            for y, row, value in zip(offsets, rates, values, strict=True):
                shown = "–" if row[index] is None else f"{value:.0f}%"
                axes.text(value + 1, y, shown, va="center", fontsize=7)
        axes.set_yticks(list(positions))
        axes.set_yticklabels(labels, **extra)
        axes.invert_yaxis()  # first group on top, as in the text list
        axes.set_xlim(0, 112)
        axes.set_xlabel(axis, **extra)
        axes.set_title(title, pad=24, **extra)
        legend_font = prop.copy() if prop is not None else FontProperties()
        legend_font.set_size(8)
        # Above the bars, under the title: never on top of a bar.
        axes.legend(
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=len(series),
            frameon=False,
            prop=legend_font,
        )
        axes.grid(axis="x", alpha=0.3)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return Chart(buffer.getvalue(), numbered)
