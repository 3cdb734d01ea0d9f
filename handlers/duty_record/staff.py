"""Duty record, staff side: statistics by sector or committee with a chart, every member's year
as xlsx, and the award candidates (as a message and as xlsx). Each storage operation checks
again that the viewer is staff; each export is audited."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bot.i18n import Markup, escape
from bot.telegram_text import MAX_CAPTION_LENGTH, split_html_lines, truncate_html
from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, OutFile, Text, View
from handlers.duty_record import chart as duty_chart
from handlers.duty_record import export as duty_files
from handlers.duty_record.common import (
    FEATURE,
    checked_year,
    number,
    percent,
    period,
    scoring_rules,
    this_year,
)
from handlers.wiring import TurnButtonHandler
from storage import duty_record
from storage.duty_record import GroupBy, GroupStats, Totals

STATS_ROWS = 40
# Names of members not on the bot shown in the statistics (the export lists them all).
NOT_ON_BOT_NAMES = 20
AWARD_ROWS = 10


# -- statistics -------------------------------------------------------------------------------


def _stats_text(turn: Turn, year: int, by: GroupBy, totals: Totals) -> str:
    by_text = turn.t(f"duty.stats.by_{by.value}")
    lines = [turn.t("duty.stats.title", year=year, by=by_text, period=period(turn, year))]
    if not totals.overall.members:
        lines.append(turn.t("duty.stats.empty", year=year))
        return "\n".join(lines)
    overall = totals.overall
    lines.append(
        turn.t(
            "duty.stats.overall",
            members=overall.members,
            reports=overall.reports,
            adoption=percent(turn, overall.adoption_rate),
            attendance=percent(turn, overall.attendance_rate),
            acknowledgement=percent(turn, overall.acknowledgement_rate),
            points=number(overall.average_points or 0),
        )
    )
    if totals.not_on_bot:
        names = totals.not_on_bot
        shown = "、".join(escape(name) for name in names[:NOT_ON_BOT_NAMES])
        if len(names) > NOT_ON_BOT_NAMES:
            shown += turn.t("duty.stats.not_on_bot_more")
        lines.append(turn.t("duty.stats.not_on_bot", count=len(names), names=Markup(shown)))
    lines.append("")
    groups = totals.groups(by)
    for index, group in enumerate(groups[:STATS_ROWS], start=1):
        lines.append(
            turn.t(
                "duty.stats.row",
                index=index,
                name=_group_name(turn, by, group),
                members=group.members,
                reports=group.reports,
                adoption=percent(turn, group.adoption_rate),
                attendance=percent(turn, group.attendance_rate),
                acknowledgement=percent(turn, group.acknowledgement_rate),
            )
        )
    if len(groups) > STATS_ROWS:
        lines.append(turn.t("duty.stats.more", count=len(groups) - STATS_ROWS))
    lines += ["", turn.t("duty.stats.note")]
    return "\n".join(lines)


def _group_name(turn: Turn, by: GroupBy, group: GroupStats) -> str:
    if group.name is not None:
        return group.name
    return turn.t("duty.no_sector" if by is GroupBy.sector else "duty.no_committee")


def _stats_buttons(turn: Turn, year: int, by: GroupBy) -> list[list[Button]]:
    other = GroupBy.committee if by is GroupBy.sector else GroupBy.sector
    rows = [
        [_button(Text(f"duty.stats.btn_{other.value}"), "stats", year, other)],
        [
            _button(Text.of("duty.stats.btn_export", year=year), "export", year),
            _button(Text.of("duty.stats.btn_awards", year=year), "awards", year),
        ],
    ]
    years = [y for y in (year - 1, year + 1) if checked_year(turn, y) is not None]
    rows.append([_button(Text.of("duty.stats.btn_year", year=y), "stats", y, by) for y in years])
    return rows


def _button(label: Text, action: str, *args: object) -> Button:
    return Button(label, Action.of(FEATURE, action, *args))


async def _chart(turn: Turn, year: int, by: GroupBy, totals: Totals) -> duty_chart.Chart:
    groups = totals.groups(by)[: duty_chart.MAX_GROUPS]
    by_text = turn.t(f"duty.stats.by_{by.value}")
    texts = duty_chart.ChartTexts(
        title=turn.t("duty.stats.chart_title", year=year, by=by_text),
        series=(
            turn.t("duty.stats.series_adoption"),
            turn.t("duty.stats.series_attendance"),
            turn.t("duty.stats.series_acknowledgement"),
        ),
        ascii_title=turn.texts.get("en", "duty.stats.chart_ascii_title", year=year),
        ascii_series=(
            turn.texts.get("en", "duty.stats.series_adoption"),
            turn.texts.get("en", "duty.stats.series_attendance"),
            turn.texts.get("en", "duty.stats.series_acknowledgement"),
        ),
        axis=turn.t("duty.stats.chart_axis"),
        ascii_axis=turn.texts.get("en", "duty.stats.chart_ascii_axis"),
    )
    names = [_group_name(turn, by, g) for g in groups]
    rates = [(g.adoption_rate, g.attendance_rate, g.acknowledgement_rate) for g in groups]
    return await asyncio.to_thread(duty_chart.render_rates, texts, names, rates)


async def _send_stats(turn: Turn, year: int, by: GroupBy) -> None:
    async with turn.db.snapshot() as session:
        totals = await duty_record.statistics(
            session,
            turn.member.id,
            year,
            now=turn.now(),
            tz=turn.settings.tz,
            rules=scoring_rules(turn),
        )
    if totals is None:
        await turn.reply(View.of("common.staff_only"))
        return
    if totals.overall.members:
        chart = await _chart(turn, year, by, totals)
        title = turn.t("duty.stats.chart_title", year=year, by=turn.t(f"duty.stats.by_{by.value}"))
        caption = turn.t("duty.stats.chart_caption", title=title)
        if chart.numbered:
            legend = " · ".join(
                f"{i} {_group_name(turn, by, g)}"
                for i, g in enumerate(totals.groups(by)[: duty_chart.MAX_GROUPS], start=1)
            )
            caption = turn.t("duty.stats.chart_numbered", title=title, legend=legend)
        # A long legend is cut as Telegram counts (visible UTF-16 units), tags kept whole.
        photo = OutFile("chart.png", data=chart.png, kind="photo")
        await turn.reply(View([Markup(truncate_html(caption, MAX_CAPTION_LENGTH))], file=photo))
    # 40 groups with long sector names can outgrow one message: the buttons go on the last.
    parts = split_html_lines(_stats_text(turn, year, by, totals).split("\n"))
    for index, part in enumerate(parts):
        buttons = _stats_buttons(turn, year, by) if index == len(parts) - 1 else []
        await turn.reply(View([Markup(part)], buttons))


async def statistics(turn: Turn) -> None:
    """The staff menu button and /stats: this year so far, by sector, with a chart."""
    await _send_stats(turn, this_year(turn), GroupBy.sector)


# -- exports ----------------------------------------------------------------------------------


def _office_text(turn: Turn) -> duty_files.Text:
    """Spreadsheet headers are in the office's language (Chinese by default), whoever asks."""
    locale = turn.settings.default_locale
    return lambda key: turn.texts.plain(locale, key)


async def _send_export(turn: Turn, year: int) -> None:
    text = _office_text(turn)
    with tempfile.TemporaryDirectory(prefix="duty-") as folder:
        path = Path(folder) / "records.xlsx"
        export = await duty_files.write_year(
            turn.db,
            path,
            year,
            viewer_id=turn.member.id,
            now=turn.now(),
            tz=turn.settings.tz,
            rules=scoring_rules(turn),
            text=text,
        )
        if export is None:
            await turn.reply(View.of("common.staff_only"))
            return
        async with turn.db.transaction() as session:
            await duty_record.record_export(
                session, turn.member.actor, "duty.export", year, export.rows
            )
        # The file is read while the folder still exists (an OutFile path is read when sent).
        document = OutFile(text("duty.export.file_name").format(year=year), path=path)
        caption = Text.of("duty.export.caption", year=year, rows=export.rows)
        await turn.reply(View([caption], file=document))


def _category_label(turn: Turn, kind: str, value: str) -> str:
    locale = turn.settings.default_locale
    key = f"reports.{kind}.{value}"
    return turn.texts.get(locale, key) if turn.texts.has(key) else value


async def _send_awards(turn: Turn, year: int) -> None:
    rules = scoring_rules(turn)
    async with turn.db.snapshot() as session:
        awards = await duty_record.award_candidates(
            session, turn.member.id, year, now=turn.now(), tz=turn.settings.tz, rules=rules
        )
    if awards is None:
        await turn.reply(View.of("common.staff_only"))
        return
    lines = [turn.t("duty.awards.title", year=year, period=period(turn, year)), ""]
    lines.append(
        turn.t("duty.awards.members", quota=rules.award_members, count=len(awards.members))
    )
    ranks = duty_files.ranks([m.score.total for m in awards.members])
    for rank, entry in list(zip(ranks, awards.members, strict=True))[:AWARD_ROWS]:
        lines.append(
            turn.t(
                "duty.awards.member_row",
                rank=rank,
                name=entry.name,
                sector=entry.sector or turn.t("duty.no_sector"),
                points=number(entry.score.total),
            )
        )
    lines += _more_or_none(turn, len(awards.members))
    lines += [
        "",
        turn.t("duty.awards.reports", count=len(awards.reports), quota=rules.award_reports),
    ]
    for index, report in enumerate(awards.reports[:AWARD_ROWS], start=1):
        lines.append(
            turn.t(
                "duty.awards.report_row",
                index=index,
                receipt=report.receipt_no,
                title=report.title,
                author=report.author,
            )
        )
    lines += _more_or_none(turn, len(awards.reports))
    lines += ["", turn.t("duty.awards.points", quota=rules.award_liaison_points)]
    point_ranks = duty_files.ranks([(p.activities, p.participants) for p in awards.liaison_points])
    for rank, point in list(zip(point_ranks, awards.liaison_points, strict=True))[:AWARD_ROWS]:
        lines.append(
            turn.t(
                "duty.awards.point_row",
                rank=rank,
                name=point.name,
                activities=point.activities,
                participants=point.participants,
            )
        )
    lines += _more_or_none(turn, len(awards.liaison_points))
    for part in split_html_lines(lines):  # long titles and names can outgrow one message
        await turn.reply(View([Markup(part)]))
    text = _office_text(turn)
    with tempfile.TemporaryDirectory(prefix="awards-") as folder:
        path = Path(folder) / "awards.xlsx"
        await asyncio.to_thread(
            duty_files.write_awards,
            awards,
            path,
            tz=turn.settings.tz,
            text=text,
            label=lambda kind, value: _category_label(turn, kind, value),
        )
        async with turn.db.transaction() as session:
            await duty_record.record_export(
                session, turn.member.actor, "duty.awards_export", year, len(awards.members)
            )
        document = OutFile(text("duty.export.awards_file_name").format(year=year), path=path)
        caption = Text.of("duty.export.awards_caption", year=year)
        await turn.reply(View([caption], file=document))


def _more_or_none(turn: Turn, count: int) -> list[str]:
    if count == 0:
        return [turn.t("duty.awards.none")]
    if count > AWARD_ROWS:
        return [turn.t("duty.awards.more", count=count)]
    return []


# -- buttons ----------------------------------------------------------------------------------


async def _year_of(turn: Turn) -> int | None:
    """The year a staff button carries; a stale or forged one is answered and gives None."""
    year = checked_year(turn, turn.int_arg(0))
    if year is None:
        await turn.notify("common.stale_button", alert=True)
    return year


async def stats_button(turn: Turn) -> None:
    """Another year, or by committee instead of by sector."""
    year = await _year_of(turn)
    if year is None:
        return
    assert turn.action is not None
    args = turn.action.args
    by_value = args[1] if len(args) > 1 else ""
    if by_value not in GroupBy.__members__:
        await turn.notify("common.stale_button", alert=True)
        return
    await _send_stats(turn, year, GroupBy(by_value))


async def export_button(turn: Turn) -> None:
    year = await _year_of(turn)
    if year is None:
        return
    await turn.notify("duty.working")
    await _send_export(turn, year)


async def awards_button(turn: Turn) -> None:
    year = await _year_of(turn)
    if year is None:
        return
    await turn.notify("duty.working")
    await _send_awards(turn, year)


BUTTONS: dict[str, TurnButtonHandler] = {
    "stats": stats_button,
    "export": export_button,
    "awards": awards_button,
}
