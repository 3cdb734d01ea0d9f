"""outbox params as typed: rows queued before values were escaped at rendering time

Until this version an unsent outbox row carried some values already prepared for Telegram's
HTML: a notice's body as a plain string (now marked {"formatted": body}, inserted as it is) and
an activity message's title, place, old and new values and reason HTML-escaped (now stored as
typed and escaped when rendered). Rows still waiting to be sent (or failed, which staff can now
resend) are carried over, so they render as they did when they were queued.

Revision ID: 0093
Revises: 0092
Create Date: 2026-12-02
"""

import html
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0093"
down_revision: str | Sequence[str] | None = "0092"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OUTBOX = sa.table(
    "outbox_message",
    sa.column("id", sa.BigInteger()),
    sa.column("template", sa.String()),
    sa.column("params", sa.JSON()),
    sa.column("status", sa.String()),
)
_ESCAPED_ACTIVITY_VALUES = ("title", "place", "old", "new", "reason")


def carried_over(template: str | None, params: dict[str, Any]) -> dict[str, Any] | None:
    """The params as this version stores them, or None when the row needs no change."""
    if template is None:
        return None
    changed = dict(params)
    if template.startswith("notices.") and isinstance(params.get("body"), str):
        changed["body"] = {"formatted": params["body"]}
    elif template.startswith("activities.notice_"):
        for name in _ESCAPED_ACTIVITY_VALUES:
            if isinstance(params.get(name), str):
                changed[name] = html.unescape(params[name])
    return changed if changed != params else None


def _unsent(bind: sa.Connection) -> Sequence[Any]:
    """Rows not sent yet (failed ones included: staff can resend them)."""
    return bind.execute(
        sa.select(_OUTBOX.c.id, _OUTBOX.c.template, _OUTBOX.c.params).where(
            _OUTBOX.c.status.not_in(["sent", "cancelled"])
        )
    ).all()


def upgrade() -> None:
    bind = op.get_bind()
    rows = _unsent(bind)
    for row_id, template, params in rows:
        new = carried_over(template, params or {})
        if new is not None:
            bind.execute(sa.update(_OUTBOX).where(_OUTBOX.c.id == row_id).values(params=new))


def downgrade() -> None:
    bind = op.get_bind()
    rows = _unsent(bind)
    for row_id, template, params in rows:
        body = (params or {}).get("body")
        if (template or "").startswith("notices.") and isinstance(body, dict):
            new = dict(params, body=body.get("formatted", ""))
            bind.execute(sa.update(_OUTBOX).where(_OUTBOX.c.id == row_id).values(params=new))
