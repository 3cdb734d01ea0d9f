"""delivery outbox upgrades and notices

Revision ID: 0030
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

import storage.models.base

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL not_before = send as soon as possible (independent of the writer's clock).
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column(
            "not_before",
            existing_type=storage.models.base.UTCDateTime(timezone=True),
            nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column(
            "not_before",
            existing_type=storage.models.base.UTCDateTime(timezone=True),
            nullable=False,
        )
