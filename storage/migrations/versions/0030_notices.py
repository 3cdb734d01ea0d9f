"""delivery outbox: not_before nullable; notices and their recipients

Revision ID: 0030
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = storage.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    # NULL not_before = send as soon as possible (independent of the writer's clock).
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column("not_before", existing_type=UTC, nullable=True)

    op.create_table(
        "notice",
        sa.Column("id", PK, nullable=False),
        sa.Column("author_id", PK, nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "scheduled",
                "sending",
                "done",
                "cancelled",
                name="noticestatus",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachment", sa.JSON(), nullable=True),
        sa.Column(
            "audience_kind",
            sa.Enum(
                "everyone",
                "sectors",
                "committees",
                "points",
                "activity",
                "phones",
                name="audiencekind",
                native_enum=False,
                length=12,
            ),
            nullable=True,
        ),
        sa.Column("audience_ids", sa.JSON(), nullable=False),
        sa.Column(
            "ack_mode",
            sa.Enum("none", "received", "options", name="ackmode", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("ack_options", sa.JSON(), nullable=False),
        sa.Column("scheduled_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("queued_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("cancelled_at", UTC, nullable=True),
        sa.Column("recipient_count", sa.Integer(), nullable=False),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["member.id"],
            name=op.f("fk_notice_author_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index("ix_notice_status", ["status", "created_at"], unique=False)

    op.create_table(
        "notice_recipient",
        sa.Column("id", PK, nullable=False),
        sa.Column("notice_id", PK, nullable=False),
        sa.Column("member_id", PK, nullable=False),
        sa.Column("outbox_id", PK, nullable=True),
        sa.Column("ack_option", sa.Integer(), nullable=True),
        sa.Column("acked_at", UTC, nullable=True),
        sa.Column("reminded_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_notice_recipient_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notice.id"],
            name=op.f("fk_notice_recipient_notice_id_notice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox_message.id"],
            name=op.f("fk_notice_recipient_outbox_id_outbox_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_recipient")),
        sa.UniqueConstraint("notice_id", "member_id", name=op.f("uq_notice_recipient_notice_id")),
    )
    with op.batch_alter_table("notice_recipient", schema=None) as batch_op:
        batch_op.create_index("ix_notice_recipient_ack", ["notice_id", "acked_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notice_recipient_member_id"), ["member_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notice_recipient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_recipient_member_id"))
        batch_op.drop_index("ix_notice_recipient_ack")
    op.drop_table("notice_recipient")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_status")
    op.drop_table("notice")
    # Rows due "as soon as possible" get a concrete time before the column is NOT NULL again.
    op.execute("UPDATE outbox_message SET not_before = created_at WHERE not_before IS NULL")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column("not_before", existing_type=UTC, nullable=False)
