"""binding lifecycle: requests to move a member's binding to another Telegram account

Revision ID: 0092
Revises: 0091
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0092"
down_revision: str | Sequence[str] | None = "0091"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "binding_request",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("old_telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "refused",
                name="bindingrequeststatus",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "decided_by_member_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_member_id"],
            ["member.id"],
            name=op.f("fk_binding_request_decided_by_member_id_member"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_binding_request_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_request")),
    )
    with op.batch_alter_table("binding_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_binding_request_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_binding_request_telegram_user_id"), ["telegram_user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("binding_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_binding_request_telegram_user_id"))
        batch_op.drop_index(batch_op.f("ix_binding_request_member_id"))

    op.drop_table("binding_request")
