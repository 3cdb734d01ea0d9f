"""What the member's card and the staff views share: the scoring rules in force, which years
may be asked for, and numbers, rates and periods as shown."""

from __future__ import annotations

from handlers.channel.turn import Turn
from storage.scoring import ScoringRules, rules_for

FEATURE = "duty"
FIRST_YEAR = 2000


def scoring_rules(turn: Turn) -> ScoringRules:
    return rules_for(turn.settings.scoring_rules_file)


def this_year(turn: Turn) -> int:
    return turn.now().astimezone(turn.settings.tz).year


def checked_year(turn: Turn, value: int | None) -> int | None:
    """A year a button or command may ask for: from FIRST_YEAR to this year."""
    if value is None or not FIRST_YEAR <= value <= this_year(turn):
        return None
    return value


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def signed(value: float) -> str:
    return f"+{number(value)}" if value > 0 else number(value)


def percent(turn: Turn, rate: float | None) -> str:
    return turn.t("duty.stats.rate_none") if rate is None else f"{rate * 100:.0f}%"


def period(turn: Turn, year: int) -> str:
    now = turn.now().astimezone(turn.settings.tz)
    if year == now.year:
        return turn.t("duty.card.as_of", date=now.strftime("%Y-%m-%d"))
    return turn.t("duty.card.full_year")
