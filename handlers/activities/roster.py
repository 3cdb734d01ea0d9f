"""Who is coming, for staff: the sign-up list of an activity as a message (names per standing,
the export has everyone), and the check-in code with its link for the venue."""

from __future__ import annotations

from bot.i18n import Markup, escape
from bot.telegram_text import MAX_TEXT_LENGTH, truncate_html
from handlers.activities.common import (
    DEEPLINK,
    count_text,
    refuse,
    rules,
    staff_activity,
    staff_button,
)
from handlers.channel.turn import Turn
from handlers.channel.views import Text, View
from storage import activities as acts
from storage.activities import Roster

ROSTER_NAMES = 30  # names per section in the roster message; the export has everyone


def _names(turn: Turn, entries: list[acts.RosterEntry], *, reasons: bool = False) -> str:
    shown = []
    for e in entries[:ROSTER_NAMES]:
        name: str = escape(e.name)
        if reasons:
            name += f"（{escape(e.leave_reason or '—')}）"
        if e.checked_in_at is not None:
            name += " ✅"
        shown.append(name)
    text = "、".join(shown) or "—"
    if len(entries) > ROSTER_NAMES:
        text += turn.t("activities.roster_more", count=len(entries) - ROSTER_NAMES)
    return Markup(text)  # names escaped above; it goes into a text as it is


def render_roster(turn: Turn, roster: Roster) -> str:
    """The roster as one text in the locale format, cut to what one message can hold (every
    name list is long: the cut keeps the markup whole)."""
    a = roster.activity
    span = acts.format_span(a.starts_at, a.ends_at, turn.settings.tz)
    count = count_text(a)
    lines = [
        turn.t("activities.roster_title", title=a.title),
        turn.t("activities.card_when", when=span),
        turn.t("activities.card_count", count=turn.t(count.key, **count.params)),
        "",
        turn.t(
            "activities.roster_signed_up",
            n=len(roster.signed_up),
            names=_names(turn, roster.signed_up),
        ),
        turn.t(
            "activities.roster_waiting", n=len(roster.waiting), names=_names(turn, roster.waiting)
        ),
        turn.t(
            "activities.roster_leave",
            n=len(roster.leave),
            names=_names(turn, roster.leave, reasons=True),
        ),
        turn.t(
            "activities.roster_checked_in",
            n=len(roster.checked_in),
            names=_names(turn, roster.checked_in),
        ),
        turn.t(
            "activities.roster_not_replied",
            n=len(roster.not_replied),
            names=_names(turn, roster.not_replied),
        ),
    ]
    # Composed from turn.t texts and escaped names only.
    return Markup(truncate_html("\n".join(lines), MAX_TEXT_LENGTH))


async def show_roster(turn: Turn) -> None:
    """Button: the sign-up list as a message."""
    a = await staff_activity(turn)
    if a is None:
        return
    async with turn.db.transaction() as session:
        roster = await acts.roster(session, a.id)
    if roster is None:
        await refuse(turn, "common.stale_button")
        return
    rows = [
        [
            staff_button(Text("activities.btn_export"), "export", a.id),
            staff_button(Text("activities.btn_back"), "card", a.id),
        ]
    ]
    await turn.reply(View([render_roster(turn, roster)], rows))


async def checkin_code(turn: Turn) -> None:
    """Button: the check-in code (":new" for a fresh one), its window and its link."""
    a = await staff_activity(turn)
    if a is None:
        return
    renew = turn.arg(1) == "new"
    async with turn.db.transaction() as session:
        code = await acts.checkin_code(session, a.id, actor=turn.member.actor, renew=renew)
    if code is None or a.starts_at is None:
        await refuse(turn, "common.stale_button")
        return
    opens, closes = rules(turn.settings).window(a.starts_at)
    tz = turn.settings.tz
    text = Text.of(
        "activities.code_text",
        code=code,
        title=a.title,
        opens=acts.format_local(opens, tz),
        closes=acts.format_local(closes, tz),
        link=turn.link(f"{DEEPLINK}{a.id}_{code}"),
        radius=turn.settings.activity_checkin_radius_meters,
    )
    rows = [
        [
            staff_button(Text("activities.btn_new_code"), "checkin_code", a.id, "new"),
            staff_button(Text("activities.btn_back"), "card", a.id),
        ]
    ]
    await turn.reply(View([text], rows))
