"""What the member's card and the staff views share: the scoring rules in force, which years
may be asked for, and numbers, rates and periods as shown."""

from __future__ import annotations

from bot.context import BotContext
from storage.scoring import ScoringRules, rules_for

FEATURE = "duty"
FIRST_YEAR = 2000


def scoring_rules(ctx: BotContext) -> ScoringRules:
    return rules_for(ctx.settings.scoring_rules_file)


def this_year(ctx: BotContext) -> int:
    return ctx.now().astimezone(ctx.settings.tz).year


def checked_year(ctx: BotContext, value: int | None) -> int | None:
    """A year a button or command may ask for: from FIRST_YEAR to this year."""
    if value is None or not FIRST_YEAR <= value <= this_year(ctx):
        return None
    return value


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def signed(value: float) -> str:
    return f"+{number(value)}" if value > 0 else number(value)


def percent(ctx: BotContext, rate: float | None) -> str:
    return ctx.t("duty.stats.rate_none") if rate is None else f"{rate * 100:.0f}%"


def period(ctx: BotContext, year: int) -> str:
    now = ctx.now().astimezone(ctx.settings.tz)
    if year == now.year:
        return ctx.t("duty.card.as_of", date=now.strftime("%Y-%m-%d"))
    return ctx.t("duty.card.full_year")
