"""The duty record (履职档案): a member's own card, staff statistics, exports, award candidates.

Members see only their own record (the storage operation checks who is asking); the year
buttons carry a year, never a member id. Staff see statistics by sector or committee with a
chart, export every member's year as xlsx, list the award candidates, and open any member's
card with /record <phone or #id> [year].
"""

from __future__ import annotations

import asyncio
import logging
import string
import tempfile
from pathlib import Path

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.exports import duty_chart
from bot.exports import duty_record as duty_files
from bot.telegram_text import MAX_CAPTION_LENGTH, split_html_lines, truncate_html
from handlers import callbacks
from handlers.guards import member_only, staff_only
from handlers.replies import edit_or_send, inline, say, send_text
from handlers.wiring import Wiring
from storage import duty_record, members
from storage.duty_record import Access, GroupBy, GroupStats, MemberYear, Totals
from storage.scoring import REPORT_METRICS, Metric, ScoringRules, rules_for

log = logging.getLogger(__name__)

FEATURE = "duty"
FIRST_YEAR = 2000
STATS_ROWS = 40
AWARD_ROWS = 10
SECTIONS: tuple[tuple[str, tuple[Metric, ...]], ...] = (
    ("reports", REPORT_METRICS),
    ("activities", tuple(m for m in Metric if m.section == "activities")),
    ("notices", tuple(m for m in Metric if m.section == "notices")),
)


def _rules(ctx: BotContext) -> ScoringRules:
    return rules_for(ctx.settings.scoring_rules_file)


def _this_year(ctx: BotContext) -> int:
    return ctx.now().astimezone(ctx.settings.tz).year


def _year(ctx: BotContext, value: int | None) -> int | None:
    """A year a button or command may ask for: from FIRST_YEAR to this year."""
    if value is None or not FIRST_YEAR <= value <= _this_year(ctx):
        return None
    return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _signed(value: float) -> str:
    return f"+{_number(value)}" if value > 0 else _number(value)


def _percent(ctx: BotContext, rate: float | None) -> str:
    return ctx.t("duty.stats.rate_none") if rate is None else f"{rate * 100:.0f}%"


def _period(ctx: BotContext, year: int) -> str:
    now = ctx.now().astimezone(ctx.settings.tz)
    if year == now.year:
        return ctx.t("duty.card.as_of", date=now.strftime("%Y-%m-%d"))
    return ctx.t("duty.card.full_year")


# -- the card ---------------------------------------------------------------------------------


# Counts shown without points: before the scored lines of a section, and after them.
INFO_BEFORE = {"activities": ("signed_up",)}
INFO_AFTER = {"activities": ("upcoming",), "notices": ("open",)}


def _info_counts(entry: MemberYear) -> dict[str, int]:
    facts = entry.facts
    return {
        "signed_up": facts.activities_signed_up,
        "upcoming": facts.activities_upcoming,
        "open": facts.notices_open,
    }


def _format(ctx: BotContext, key: str, params: dict[str, object]) -> str:
    """Fill a line template with the placeholders it names (the variants name different ones)."""
    wanted = {name for _, name, _, _ in string.Formatter().parse(ctx.t(key)) if name}
    return ctx.t(key, **{k: v for k, v in params.items() if k in wanted})


def render_card(ctx: BotContext, entry: MemberYear, rules: ScoringRules) -> str:
    """The record as a short phone card: one explained line per thing that happened."""
    lines = [ctx.t("duty.card.title", name=entry.name, year=entry.year)]
    if entry.sector:
        lines.append(ctx.t("duty.card.sector", sector=entry.sector))
    lines.append(_period(ctx, entry.year))
    by_metric = {line.metric: line for line in entry.score.lines}
    info = _info_counts(entry)
    factor = _number(rules.coauthor_factor * 100)
    for section, metrics in SECTIONS:
        unit = ctx.t(f"duty.unit.{section}")

        def info_lines(names: tuple[str, ...], unit: str = unit) -> list[str]:
            return [
                ctx.t(
                    "duty.card.line_info",
                    label=ctx.t(f"duty.metric.{name}"),
                    count=info[name],
                    unit=unit,
                )
                for name in names
                if info[name]
            ]

        body = info_lines(INFO_BEFORE.get(section, ()))
        for metric in metrics:
            line = by_metric[metric]
            if not line.count:
                continue
            if line.each == 0:
                key = "duty.card.line_unscored"
            elif line.coauthored and rules.coauthor_factor != 1:
                key = "duty.card.line_co_factor"
            elif line.coauthored:
                key = "duty.card.line_co"
            else:
                key = "duty.card.line"
            params: dict[str, object] = {
                "label": ctx.t(f"duty.metric.{metric.value}"),
                "count": line.count,
                "unit": unit,
                "each": _number(line.each),
                "points": _signed(line.points),
                "co": line.coauthored,
                "factor": factor,
            }
            body.append(_format(ctx, key, params))
        body += info_lines(INFO_AFTER.get(section, ()))
        lines += ["", ctx.t(f"duty.card.{section}"), *(body or [ctx.t("duty.card.none")])]
    lines += [
        "",
        ctx.t("duty.card.total", total=_number(entry.score.total)),
        ctx.t("duty.card.rules"),
    ]
    return "\n".join(lines)


def _year_buttons(
    ctx: BotContext, years: tuple[int, ...], member_id: int | None
) -> InlineKeyboardMarkup | None:
    if not years:
        return None
    buttons = [
        (
            ctx.t("duty.card.year_button", year=y),
            callbacks.make(FEATURE, "mine", y)
            if member_id is None
            else callbacks.make(FEATURE, "of", member_id, y),
        )
        for y in years
    ]
    return inline([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


async def _show_record(
    update: Update, ctx: BotContext, year: int, member_id: int | None = None
) -> None:
    assert ctx.viewer is not None
    rules = _rules(ctx)
    async with ctx.db.snapshot() as session:
        result = await duty_record.record(
            session,
            ctx.viewer.id,
            year,
            now=ctx.now(),
            tz=ctx.settings.tz,
            rules=rules,
            member_id=member_id,
        )
    if result.access is Access.forbidden:
        if update.callback_query is not None:
            await update.callback_query.answer(ctx.t("duty.only_own"), show_alert=True)
        else:
            await say(update, ctx, "duty.only_own")
        return
    if result.record is None:
        if update.callback_query is not None:
            await update.callback_query.answer(ctx.t("common.stale_button"), show_alert=True)
        else:
            await say(update, ctx, "duty.not_found", query=str(member_id))
        return
    text = render_card(ctx, result.record, rules)
    markup = _year_buttons(ctx, result.other_years, member_id)
    if update.callback_query is not None:
        await update.callback_query.answer()
        await edit_or_send(update, ctx, text, markup=markup)
    else:
        await send_text(update, ctx, text, markup=markup)


@member_only
async def my_record(update: Update, ctx: BotContext) -> None:
    """The menu button: the viewer's own record for this year."""
    await _show_record(update, ctx, _this_year(ctx))


@member_only
async def record_command(update: Update, ctx: BotContext) -> None:
    """/record: your own card; staff add a phone or #id (and a year) for a member's card."""
    assert ctx.viewer is not None
    args = list(ctx.args or [])
    year = _this_year(ctx)
    if args and args[-1].isdigit() and len(args[-1]) == 4:
        chosen = _year(ctx, int(args[-1]))
        if chosen is None:
            await say(update, ctx, "duty.bad_year", year=args[-1], example=year)
            return
        year = chosen
        args = args[:-1]
    if not args:
        await _show_record(update, ctx, year)
        return
    if not ctx.viewer.is_staff:
        await say(update, ctx, "duty.only_own")
        return
    query = " ".join(args)
    async with ctx.db.snapshot() as session:
        member = await members.find(session, query)
        member_id = member.id if member is not None else None
    if member_id is None:
        await say(update, ctx, "duty.not_found", query=query)
        return
    await _show_record(update, ctx, year, member_id)


# -- staff: statistics, exports, award candidates ---------------------------------------------


def _stats_text(ctx: BotContext, year: int, by: GroupBy, totals: Totals) -> str:
    by_text = ctx.t(f"duty.stats.by_{by.value}")
    lines = [ctx.t("duty.stats.title", year=year, by=by_text, period=_period(ctx, year))]
    if not totals.overall.members:
        lines.append(ctx.t("duty.stats.empty", year=year))
        return "\n".join(lines)
    overall = totals.overall
    lines.append(
        ctx.t(
            "duty.stats.overall",
            members=overall.members,
            reports=overall.reports,
            adoption=_percent(ctx, overall.adoption_rate),
            attendance=_percent(ctx, overall.attendance_rate),
            acknowledgement=_percent(ctx, overall.acknowledgement_rate),
            points=_number(overall.average_points or 0),
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
                adoption=_percent(ctx, group.adoption_rate),
                attendance=_percent(ctx, group.attendance_rate),
                acknowledgement=_percent(ctx, group.acknowledgement_rate),
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
    years = [y for y in (year - 1, year + 1) if _year(ctx, y) is not None]
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
    assert ctx.viewer is not None
    chat = update.effective_chat
    if chat is None:
        return
    async with ctx.db.snapshot() as session:
        totals = await duty_record.statistics(
            session, ctx.viewer.id, year, now=ctx.now(), tz=ctx.settings.tz, rules=_rules(ctx)
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
        await ctx.bot.send_photo(
            # A long legend is cut as Telegram counts (visible UTF-16 units), tags kept whole.
            chat.id,
            chart.png,
            caption=truncate_html(caption, MAX_CAPTION_LENGTH),
            parse_mode=ParseMode.HTML,
        )
    # 40 groups with long sector names can outgrow one message: the buttons go on the last.
    parts = split_html_lines(_stats_text(ctx, year, by, totals).split("\n"))
    for index, part in enumerate(parts):
        markup = _stats_buttons(ctx, year, by) if index == len(parts) - 1 else None
        await send_text(update, ctx, part, markup=markup)


@staff_only
async def statistics(update: Update, ctx: BotContext) -> None:
    """The staff menu button and /stats: this year so far, by sector, with a chart."""
    await _send_stats(update, ctx, _this_year(ctx), GroupBy.sector)


def _office_text(ctx: BotContext) -> duty_files.Text:
    """Spreadsheet headers are in the office's language (Chinese by default), whoever asks."""
    locale = ctx.settings.default_locale
    return lambda key: ctx.texts.plain(locale, key)


async def _send_export(update: Update, ctx: BotContext, year: int) -> None:
    assert ctx.viewer is not None
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
            viewer_id=ctx.viewer.id,
            now=ctx.now(),
            tz=ctx.settings.tz,
            rules=_rules(ctx),
            text=text,
        )
        if export is None:
            await say(update, ctx, "common.staff_only")
            return
        async with ctx.db.transaction() as session:
            await duty_record.record_export(
                session, ctx.viewer.actor, "duty.export", year, export.rows
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
    assert ctx.viewer is not None
    chat = update.effective_chat
    if chat is None:
        return
    rules = _rules(ctx)
    async with ctx.db.snapshot() as session:
        awards = await duty_record.award_candidates(
            session, ctx.viewer.id, year, now=ctx.now(), tz=ctx.settings.tz, rules=rules
        )
    if awards is None:
        await say(update, ctx, "common.staff_only")
        return
    lines = [ctx.t("duty.awards.title", year=year, period=_period(ctx, year)), ""]
    lines.append(ctx.t("duty.awards.members", quota=rules.award_members, count=len(awards.members)))
    ranks = duty_files.ranks([m.score.total for m in awards.members])
    for rank, entry in list(zip(ranks, awards.members, strict=True))[:AWARD_ROWS]:
        lines.append(
            ctx.t(
                "duty.awards.member_row",
                rank=rank,
                name=entry.name,
                sector=entry.sector or ctx.t("duty.no_sector"),
                points=_number(entry.score.total),
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
                session, ctx.viewer.actor, "duty.awards_export", year, len(awards.members)
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


@member_only
async def on_button(update: Update, ctx: BotContext) -> None:
    """Year buttons on the card; statistics, export and award buttons for staff."""
    query = update.callback_query
    assert query is not None and ctx.viewer is not None
    cb = callbacks.parse(query.data)
    action = cb.action if cb else ""
    if cb is None or action not in ("mine", "of", "stats", "export", "awards"):
        await query.answer(ctx.t("common.stale_button"), show_alert=True)
        return
    if action == "mine":
        year = _year(ctx, cb.int_arg(0))
        if year is None:
            await query.answer(ctx.t("common.stale_button"), show_alert=True)
            return
        await _show_record(update, ctx, year)
        return
    # Everything else is staff work; the storage operations check again.
    if not ctx.viewer.is_staff:
        await query.answer(ctx.t("common.staff_only"), show_alert=True)
        return
    if action == "of":
        member_id, year = cb.int_arg(0), _year(ctx, cb.int_arg(1))
        if member_id is None or year is None:
            await query.answer(ctx.t("common.stale_button"), show_alert=True)
            return
        await _show_record(update, ctx, year, member_id)
        return
    year = _year(ctx, cb.int_arg(0))
    if year is None:
        await query.answer(ctx.t("common.stale_button"), show_alert=True)
        return
    if action == "stats":
        by_value = cb.arg(1) or ""
        if by_value not in GroupBy.__members__:
            await query.answer(ctx.t("common.stale_button"), show_alert=True)
            return
        await query.answer()
        await _send_stats(update, ctx, year, GroupBy(by_value))
        return
    await query.answer(ctx.t("duty.working"))
    if action == "export":
        await _send_export(update, ctx, year)
    else:
        await _send_awards(update, ctx, year)


def register(app: Application, wiring: Wiring) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("record", record_command))
    app.add_handler(CommandHandler("stats", statistics))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(FEATURE)))
    wiring.add_menu("duty.menu_button", my_record, order=400)
    wiring.add_menu("duty.staff_menu_button", statistics, staff=True, order=960)
