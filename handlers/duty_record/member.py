"""The duty record card (履职档案): a member's own year, one explained line per thing that
happened; staff open any member's card with /record <phone or #id> [year].

Members see only their own record (the storage operation checks who is asking); the year
buttons carry a year, never a member id, except on a card staff opened.
"""

from __future__ import annotations

import string

from telegram import InlineKeyboardMarkup, Update

from bot.context import BotContext
from handlers import callbacks
from handlers.callbacks import Callback
from handlers.duty_record.common import (
    FEATURE,
    checked_year,
    number,
    period,
    scoring_rules,
    signed,
    this_year,
)
from handlers.replies import answer_callback, edit_or_send, inline, say, send_text
from handlers.wiring import ButtonHandler
from storage import duty_record, members
from storage.duty_record import MemberYear
from storage.scoring import REPORT_METRICS, Metric, ScoringRules

SECTIONS: tuple[tuple[str, tuple[Metric, ...]], ...] = (
    ("reports", REPORT_METRICS),
    ("activities", tuple(m for m in Metric if m.section == "activities")),
    ("notices", tuple(m for m in Metric if m.section == "notices")),
)
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
    lines.append(period(ctx, entry.year))
    by_metric = {line.metric: line for line in entry.score.lines}
    info = _info_counts(entry)
    factor = number(rules.coauthor_factor * 100)
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
                "each": number(line.each),
                "points": signed(line.points),
                "co": line.coauthored,
                "factor": factor,
            }
            body.append(_format(ctx, key, params))
        body += info_lines(INFO_AFTER.get(section, ()))
        lines += ["", ctx.t(f"duty.card.{section}"), *(body or [ctx.t("duty.card.none")])]
    lines += [
        "",
        ctx.t("duty.card.total", total=number(entry.score.total)),
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
            else callbacks.make(FEATURE, "member", member_id, y),
        )
        for y in years
    ]
    return inline([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


async def _show_record(
    update: Update, ctx: BotContext, year: int, member_id: int | None = None
) -> None:
    scoring = scoring_rules(ctx)
    async with ctx.db.snapshot() as session:
        result = await duty_record.record(
            session,
            ctx.member.id,
            year,
            now=ctx.now(),
            tz=ctx.settings.tz,
            rules=scoring,
            member_id=member_id,
        )
    pressed = update.callback_query is not None
    if result.access is duty_record.Access.forbidden:
        if pressed:
            await answer_callback(update, ctx, "duty.only_own", alert=True)
        else:
            await say(update, ctx, "duty.only_own")
        return
    if result.record is None:
        if pressed:
            await answer_callback(update, ctx, "common.stale_button", alert=True)
        else:
            await say(update, ctx, "duty.not_found", query=str(member_id))
        return
    text = render_card(ctx, result.record, scoring)
    markup = _year_buttons(ctx, result.other_years, member_id)
    if pressed:
        await edit_or_send(update, ctx, text, markup=markup)
    else:
        await send_text(update, ctx, text, markup=markup)


async def my_record(update: Update, ctx: BotContext) -> None:
    """The menu button: the viewer's own record for this year."""
    await _show_record(update, ctx, this_year(ctx))


async def record_command(update: Update, ctx: BotContext) -> None:
    """/record: your own card; staff add a phone or #id (and a year) for a member's card."""
    args = list(ctx.args or [])
    year = this_year(ctx)
    if args and args[-1].isdigit() and len(args[-1]) == 4:
        chosen = checked_year(ctx, int(args[-1]))
        if chosen is None:
            await say(update, ctx, "duty.bad_year", year=args[-1], example=year)
            return
        year = chosen
        args = args[:-1]
    if not args:
        await _show_record(update, ctx, year)
        return
    if not ctx.member.is_staff:
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


async def my_year(update: Update, ctx: BotContext, cb: Callback) -> None:
    """A year button on the member's own card."""
    year = checked_year(ctx, cb.int_arg(0))
    if year is None:
        await answer_callback(update, ctx, "common.stale_button", alert=True)
        return
    await _show_record(update, ctx, year)


async def member_year(update: Update, ctx: BotContext, cb: Callback) -> None:
    """A year button on a card staff opened (the storage operation checks again)."""
    member_id, year = cb.int_arg(0), checked_year(ctx, cb.int_arg(1))
    if member_id is None or year is None:
        await answer_callback(update, ctx, "common.stale_button", alert=True)
        return
    await _show_record(update, ctx, year, member_id)


MEMBER_BUTTONS: dict[str, ButtonHandler] = {"mine": my_year}
STAFF_BUTTONS: dict[str, ButtonHandler] = {"member": member_year}
