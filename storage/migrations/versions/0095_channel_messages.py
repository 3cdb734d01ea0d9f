"""channel messages and choices: another channel's (WeCom's) callbacks kept from arrival and
de-duplicated, and the numbered choices offered where a channel has too few buttons

Revision ID: 0095
Revises: 0094
Create Date: 2027-01-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0095"
down_revision: str | Sequence[str] | None = "0094"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_message",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("sender", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_message")),
        sa.UniqueConstraint("channel", "dedupe_key", name=op.f("uq_channel_message_channel")),
    )
    op.create_table(
        "channel_choice",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("offered_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "external_id", name=op.f("pk_channel_choice")),
    )


def downgrade() -> None:
    op.drop_table("channel_choice")
    op.drop_table("channel_message")
