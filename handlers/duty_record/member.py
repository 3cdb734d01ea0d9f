"""The duty record card (履职档案): a member's own year, one explained line per thing that
happened; staff open any member's card with /record <phone or #id> [year].

Members see only their own record (the storage operation checks who is asking); the year
buttons carry a year, never a member id, except on a card staff opened.
"""

from __future__ import annotations

import string

from bot.i18n import Markup
from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, Text, View
from handlers.duty_record.common import (
    FEATURE,
    checked_year,
    number,
    period,
    scoring_rules,
    signed,
    this_year,
)
from handlers.wiring import TurnButtonHandler
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


def _format(turn: Turn, key: str, params: dict[str, object]) -> str:
    """Fill a line template with the placeholders it names (the variants name different ones)."""
    wanted = {name for _, name, _, _ in string.Formatter().parse(turn.t(key)) if name}
    return turn.t(key, **{k: v for k, v in params.items() if k in wanted})


def render_card(turn: Turn, entry: MemberYear, rules: ScoringRules) -> Markup:
    """The record as a short phone card: one explained line per thing that happened."""
    lines = [turn.t("duty.card.title", name=entry.name, year=entry.year)]
    if entry.sector:
        lines.append(turn.t("duty.card.sector", sector=entry.sector))
    lines.append(period(turn, entry.year))
    by_metric = {line.metric: line for line in entry.score.lines}
    info = _info_counts(entry)
    factor = number(rules.coauthor_factor * 100)
    for section, metrics in SECTIONS:

        def unit(count: int, section: str = section) -> str:
            """The section's word for count ("1 report", "2 reports")."""
            return turn.t(f"duty.unit.{section}.{'one' if count == 1 else 'other'}")

        def info_lines(names: tuple[str, ...]) -> list[str]:
            return [
                turn.t(
                    "duty.card.line_info",
                    label=turn.t(f"duty.metric.{name}"),
                    count=info[name],
                    unit=unit(info[name]),
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
                "label": turn.t(f"duty.metric.{metric.value}"),
                "count": line.count,
                "unit": unit(line.count),
                "co_unit": unit(line.coauthored),
                "each": number(line.each),
                "points": signed(line.points),
                "co": line.coauthored,
                "factor": factor,
            }
            body.append(_format(turn, key, params))
        body += info_lines(INFO_AFTER.get(section, ()))
        lines += ["", turn.t(f"duty.card.{section}"), *(body or [turn.t("duty.card.none")])]
    lines += [
        "",
        turn.t("duty.card.total", total=number(entry.score.total)),
        turn.t("duty.card.rules"),
    ]
    return Markup("\n".join(lines))


def _year_buttons(years: tuple[int, ...], member_id: int | None) -> list[list[Button]]:
    buttons = [
        Button(
            Text.of("duty.card.year_button", year=y),
            Action.of(FEATURE, "mine", y)
            if member_id is None
            else Action.of(FEATURE, "member", member_id, y),
        )
        for y in years
    ]
    return [buttons[i : i + 3] for i in range(0, len(buttons), 3)]


async def _show_record(turn: Turn, year: int, member_id: int | None = None) -> None:
    scoring = scoring_rules(turn)
    async with turn.db.snapshot() as session:
        result = await duty_record.record(
            session,
            turn.member.id,
            year,
            now=turn.now(),
            tz=turn.settings.tz,
            rules=scoring,
            member_id=member_id,
        )
    pressed = turn.action is not None
    if result.access is duty_record.Access.forbidden:
        if pressed:
            await turn.notify("duty.only_own", alert=True)
        else:
            await turn.reply(View.of("duty.only_own"))
        return
    if result.record is None:
        if pressed:
            await turn.notify("common.stale_button", alert=True)
        else:
            await turn.reply(View.of("duty.not_found", query=str(member_id)))
        return
    card = View(
        [render_card(turn, result.record, scoring)], _year_buttons(result.other_years, member_id)
    )
    if pressed:
        await turn.edit(card)
    else:
        await turn.reply(card)


async def my_record(turn: Turn) -> None:
    """The menu button: the viewer's own record for this year."""
    await _show_record(turn, this_year(turn))


async def record_command(turn: Turn) -> None:
    """/record: your own card; staff add a phone or #id (and a year) for a member's card."""
    args = turn.args
    year = this_year(turn)
    if args and args[-1].isdigit() and len(args[-1]) == 4:
        chosen = checked_year(turn, int(args[-1]))
        if chosen is None:
            await turn.reply(View.of("duty.bad_year", year=args[-1], example=year))
            return
        year = chosen
        args = args[:-1]
    if not args:
        await _show_record(turn, year)
        return
    if not turn.member.is_staff:
        await turn.reply(View.of("duty.only_own"))
        return
    query = " ".join(args)
    async with turn.db.snapshot() as session:
        member = await members.find(session, query)
        member_id = member.id if member is not None else None
    if member_id is None:
        await turn.reply(View.of("duty.not_found", query=query))
        return
    await _show_record(turn, year, member_id)


async def my_year(turn: Turn) -> None:
    """A year button on the member's own card."""
    year = checked_year(turn, turn.int_arg(0))
    if year is None:
        await turn.notify("common.stale_button", alert=True)
        return
    await _show_record(turn, year)


async def member_year(turn: Turn) -> None:
    """A year button on a card staff opened (the storage operation checks again)."""
    member_id, year = turn.int_arg(0), checked_year(turn, turn.int_arg(1))
    if member_id is None or year is None:
        await turn.notify("common.stale_button", alert=True)
        return
    await _show_record(turn, year, member_id)


MEMBER_BUTTONS: dict[str, TurnButtonHandler] = {"mine": my_year}
STAFF_BUTTONS: dict[str, TurnButtonHandler] = {"member": member_year}
