"""Duty record, staff side: statistics by sector or committee with a chart, every member's year
as xlsx, and the award candidates (as a message and as xlsx). Each storage operation checks
again that the viewer is staff; each export is audited."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from telegram import InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.telegram_text import MAX_CAPTION_LENGTH, split_html_lines, truncate_html
from handlers import callbacks
from handlers.callbacks import Callback
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
from handlers.replies import answer_callback, inline, say, send_text
from handlers.wiring import ButtonHandler
from storage import duty_record
from storage.duty_record import GroupBy, GroupStats, Totals

STATS_ROWS = 40
AWARD_ROWS = 10


# -- statistics -------------------------------------------------------------------------------


def _stats_text(ctx: BotContext, year: int, by: GroupBy, totals: Totals) -> str:
    by_text = ctx.t(f"duty.stats.by_{by.value}")
    lines = [ctx.t("duty.stats.title", year=year, by=by_text, period=period(ctx, year))]
    if not totals.overall.members:
        lines.append(ctx.t("duty.stats.empty", year=year))
        return "\n".join(lines)
    overall = totals.overall
    lines.append(
        ctx.t(
            "duty.stats.overall",
            members=overall.members,
            reports=overall.reports,
            adoption=percent(ctx, overall.adoption_rate),
            attendance=percent(ctx, overall.attendance_rate),
            acknowledgement=percent(ctx, overall.acknowledgement_rate),
            points=number(overall.average_points or 0),
        )
    )
    lines.append("")
    groups = totals.groups(by)
    for index, group in enumerate(groups[:STATS_ROWS], start=1):
        lines.append(
            ctx.t(
                "duty.stats.row",
                index=index,
                name=_group_name(ctx, by, group),
                members=group.members,
                reports=group.reports,
                adoption=percent(ctx, group.adoption_rate),
                attendance=percent(ctx, group.attendance_rate),
                acknowledgement=percent(ctx, group.acknowledgement_rate),
            )
        )
    if len(groups) > STATS_ROWS:
        lines.append(ctx.t("duty.stats.more", count=len(groups) - STATS_ROWS))
    lines += ["", ctx.t("duty.stats.note")]
    return "\n".join(lines)


def _group_name(ctx: BotContext, by: GroupBy, group: GroupStats) -> str:
    if group.name is not None:
        return group.name
    return ctx.t("duty.no_sector" if by is GroupBy.sector else "duty.no_committee")


def _stats_buttons(ctx: BotContext, year: int, by: GroupBy) -> InlineKeyboardMarkup:
    other = GroupBy.committee if by is GroupBy.sector else GroupBy.sector
    rows = [
        [(ctx.t(f"duty.stats.btn_{other.value}"), callbacks.make(FEATURE, "stats", year, other))],
        [
            (ctx.t("duty.stats.btn_export", year=year), callbacks.make(FEATURE, "export", year)),
            (ctx.t("duty.stats.btn_awards", year=year), callbacks.make(FEATURE, "awards", year)),
        ],
    ]
    years = [y for y in (year - 1, year + 1) if checked_year(ctx, y) is not None]
    rows.append(
        [
            (ctx.t("duty.stats.btn_year", year=y), callbacks.make(FEATURE, "stats", y, by))
            for y in years
        ]
    )
    return inline(rows)


async def _chart(ctx: BotContext, year: int, by: GroupBy, totals: Totals) -> duty_chart.Chart:
    groups = totals.groups(by)[: duty_chart.MAX_GROUPS]
    by_text = ctx.t(f"duty.stats.by_{by.value}")
    texts = duty_chart.ChartTexts(
        title=ctx.t("duty.stats.chart_title", year=year, by=by_text),
        series=(
            ctx.t("duty.stats.series_adoption"),
            ctx.t("duty.stats.series_attendance"),
            ctx.t("duty.stats.series_acknowledgement"),
        ),
        ascii_title=ctx.texts.get("en", "duty.stats.chart_ascii_title", year=year),
        ascii_series=(
            ctx.texts.get("en", "duty.stats.series_adoption"),
            ctx.texts.get("en", "duty.stats.series_attendance"),
            ctx.texts.get("en", "duty.stats.series_acknowledgement"),
        ),
        axis=ctx.t("duty.stats.chart_axis"),
        ascii_axis=ctx.texts.get("en", "duty.stats.chart_ascii_axis"),
    )
    names = [_group_name(ctx, by, g) for g in groups]
    rates = [(g.adoption_rate, g.attendance_rate, g.acknowledgement_rate) for g in groups]
    return await asyncio.to_thread(duty_chart.render_rates, texts, names, rates)


async def _send_stats(update: Update, ctx: BotContext, year: int, by: GroupBy) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    async with ctx.db.snapshot() as session:
        totals = await duty_record.statistics(
            session,
            ctx.member.id,
            year,
            now=ctx.now(),
            tz=ctx.settings.tz,
            rules=scoring_rules(ctx),
        )
    if totals is None:
        await say(update, ctx, "common.staff_only")
        return
    if totals.overall.members:
        chart = await _chart(ctx, year, by, totals)
        title = ctx.t("duty.stats.chart_title", year=year, by=ctx.t(f"duty.stats.by_{by.value}"))
        caption = ctx.t("duty.stats.chart_caption", title=title)
        if chart.numbered:
            legend = " · ".join(
                f"{i} {_group_name(ctx, by, g)}"
                for i, g in enumerate(totals.groups(by)[: duty_chart.MAX_GROUPS], start=1)
            )
            caption = ctx.t("duty.stats.chart_numbered", title=title, legend=legend)
        # A long legend is cut as Telegram counts (visible UTF-16 units), tags kept whole.
        await ctx.bot.send_photo(
            chat.id, chart.png, caption=truncate_html(caption, MAX_CAPTION_LENGTH)
        )
    # 40 groups with long sector names can outgrow one message: the buttons go on the last.
    parts = split_html_lines(_stats_text(ctx, year, by, totals).split("\n"))
    for index, part in enumerate(parts):
        markup = _stats_buttons(ctx, year, by) if index == len(parts) - 1 else None
        await send_text(update, ctx, part, markup=markup)


async def statistics(update: Update, ctx: BotContext) -> None:
    """The staff menu button and /stats: this year so far, by sector, with a chart."""
    await _send_stats(update, ctx, this_year(ctx), GroupBy.sector)


# -- exports ----------------------------------------------------------------------------------


def _office_text(ctx: BotContext) -> duty_files.Text:
    """Spreadsheet headers are in the office's language (Chinese by default), whoever asks."""
    locale = ctx.settings.default_locale
    return lambda key: ctx.texts.plain(locale, key)


async def _send_export(update: Update, ctx: BotContext, year: int) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    text = _office_text(ctx)
    with tempfile.TemporaryDirectory(prefix="duty-") as folder:
        path = Path(folder) / "records.xlsx"
        export = await duty_files.write_year(
            ctx.db,
            path,
            year,
            viewer_id=ctx.member.id,
            now=ctx.now(),
            tz=ctx.settings.tz,
            rules=scoring_rules(ctx),
            text=text,
        )
        if export is None:
            await say(update, ctx, "common.staff_only")
            return
        async with ctx.db.transaction() as session:
            await duty_record.record_export(
                session, ctx.member.actor, "duty.export", year, export.rows
            )
        with path.open("rb") as fh:
            await ctx.bot.send_document(
                chat.id,
                fh,
                filename=text("duty.export.file_name").format(year=year),
                caption=ctx.t("duty.export.caption", year=year, rows=export.rows),
            )


def _category_label(ctx: BotContext, kind: str, value: str) -> str:
    locale = ctx.settings.default_locale
    key = f"reports.{kind}.{value}"
    return ctx.texts.get(locale, key) if ctx.texts.has(key) else value


async def _send_awards(update: Update, ctx: BotContext, year: int) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    rules = scoring_rules(ctx)
    async with ctx.db.snapshot() as session:
        awards = await duty_record.award_candidates(
            session, ctx.member.id, year, now=ctx.now(), tz=ctx.settings.tz, rules=rules
        )
    if awards is None:
        await say(update, ctx, "common.staff_only")
        return
    lines = [ctx.t("duty.awards.title", year=year, period=period(ctx, year)), ""]
    lines.append(ctx.t("duty.awards.members", quota=rules.award_members, count=len(awards.members)))
    ranks = duty_files.ranks([m.score.total for m in awards.members])
    for rank, entry in list(zip(ranks, awards.members, strict=True))[:AWARD_ROWS]:
        lines.append(
            ctx.t(
                "duty.awards.member_row",
                rank=rank,
                name=entry.name,
                sector=entry.sector or ctx.t("duty.no_sector"),
                points=number(entry.score.total),
            )
        )
    lines += _more_or_none(ctx, len(awards.members))
    lines += [
        "",
        ctx.t("duty.awards.reports", count=len(awards.reports), quota=rules.award_reports),
    ]
    for index, report in enumerate(awards.reports[:AWARD_ROWS], start=1):
        lines.append(
            ctx.t(
                "duty.awards.report_row",
                index=index,
                receipt=report.receipt_no,
                title=report.title,
                author=report.author,
            )
        )
    lines += _more_or_none(ctx, len(awards.reports))
    lines += ["", ctx.t("duty.awards.points", quota=rules.award_liaison_points)]
    point_ranks = duty_files.ranks([(p.activities, p.participants) for p in awards.liaison_points])
    for rank, point in list(zip(point_ranks, awards.liaison_points, strict=True))[:AWARD_ROWS]:
        lines.append(
            ctx.t(
                "duty.awards.point_row",
                rank=rank,
                name=point.name,
                activities=point.activities,
                participants=point.participants,
            )
        )
    lines += _more_or_none(ctx, len(awards.liaison_points))
    for part in split_html_lines(lines):  # long titles and names can outgrow one message
        await send_text(update, ctx, part)
    text = _office_text(ctx)
    with tempfile.TemporaryDirectory(prefix="awards-") as folder:
        path = Path(folder) / "awards.xlsx"
        await asyncio.to_thread(
            duty_files.write_awards,
            awards,
            path,
            tz=ctx.settings.tz,
            text=text,
            label=lambda kind, value: _category_label(ctx, kind, value),
        )
        async with ctx.db.transaction() as session:
            await duty_record.record_export(
                session, ctx.member.actor, "duty.awards_export", year, len(awards.members)
            )
        with path.open("rb") as fh:
            await ctx.bot.send_document(
                chat.id,
                fh,
                filename=text("duty.export.awards_file_name").format(year=year),
                caption=ctx.t("duty.export.awards_caption", year=year),
            )


def _more_or_none(ctx: BotContext, count: int) -> list[str]:
    if count == 0:
        return [ctx.t("duty.awards.none")]
    if count > AWARD_ROWS:
        return [ctx.t("duty.awards.more", count=count)]
    return []


# -- buttons ----------------------------------------------------------------------------------


async def _year_of(update: Update, ctx: BotContext, cb: Callback) -> int | None:
    """The year a staff button carries; a stale or forged one is answered and gives None."""
    year = checked_year(ctx, cb.int_arg(0))
    if year is None:
        await answer_callback(update, ctx, "common.stale_button", alert=True)
    return year


async def stats_button(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Another year, or by committee instead of by sector."""
    year = await _year_of(update, ctx, cb)
    if year is None:
        return
    by_value = cb.arg(1) or ""
    if by_value not in GroupBy.__members__:
        await answer_callback(update, ctx, "common.stale_button", alert=True)
        return
    await _send_stats(update, ctx, year, GroupBy(by_value))


async def export_button(update: Update, ctx: BotContext, cb: Callback) -> None:
    year = await _year_of(update, ctx, cb)
    if year is None:
        return
    await answer_callback(update, ctx, "duty.working")
    await _send_export(update, ctx, year)


async def awards_button(update: Update, ctx: BotContext, cb: Callback) -> None:
    year = await _year_of(update, ctx, cb)
    if year is None:
        return
    await answer_callback(update, ctx, "duty.working")
    await _send_awards(update, ctx, year)


BUTTONS: dict[str, ButtonHandler] = {
    "stats": stats_button,
    "export": export_button,
    "awards": awards_button,
}
