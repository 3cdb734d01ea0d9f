"""opinion reports

Revision ID: 0010
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATUS = sa.Enum(
    "draft",
    "submitted",
    "adopted",
    "forwarded",
    "instructed",
    "returned",
    name="reportstatus",
    native_enum=False,
    length=12,
)


def upgrade() -> None:
    op.create_table(
        "report_counter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_report_counter")),
    )
    op.create_table(
        "report",
        sa.Column("id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("draft_owner_id", sa.BigInteger(), nullable=True),
        sa.Column("status", STATUS, nullable=False),
        sa.Column(
            "source",
            sa.Enum("guided", "quick", name="reportsource", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=60), nullable=True),
        sa.Column("situation", sa.Text(), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("suggestions", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("receipt_no", sa.String(length=20), nullable=True),
        sa.Column("receipt_year", sa.Integer(), nullable=True),
        sa.Column("receipt_seq", sa.Integer(), nullable=True),
        sa.Column("excellent", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_report_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
        sa.UniqueConstraint("draft_owner_id", name=op.f("uq_report_draft_owner_id")),
        sa.UniqueConstraint("receipt_no", name=op.f("uq_report_receipt_no")),
    )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "ix_report_status_submitted", ["status", "submitted_at"], unique=False
        )

    op.create_table(
        "report_attachment",
        sa.Column("id", ID, nullable=False),
        sa.Column("report_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("telegram_file_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_attachment_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_attachment")),
    )
    with op.batch_alter_table("report_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_attachment_report_id"), ["report_id"], unique=False
        )

    op.create_table(
        "report_coauthor",
        sa.Column("report_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("added_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_report_coauthor_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_coauthor_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "member_id", name=op.f("pk_report_coauthor")),
    )
    with op.batch_alter_table("report_coauthor", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_coauthor_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "report_event",
        sa.Column("id", ID, nullable=False),
        sa.Column("report_id", ID, nullable=False),
        sa.Column("at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("actor_member_id", ID, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("instructed_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_member_id"],
            ["member.id"],
            name=op.f("fk_report_event_actor_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_event_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_event")),
    )
    with op.batch_alter_table("report_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_event_report_id"), ["report_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_event_report_id"))
    op.drop_table("report_event")
    with op.batch_alter_table("report_coauthor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_coauthor_member_id"))
    op.drop_table("report_coauthor")
    with op.batch_alter_table("report_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_attachment_report_id"))
    op.drop_table("report_attachment")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index("ix_report_status_submitted")
        batch_op.drop_index(batch_op.f("ix_report_member_id"))
    op.drop_table("report")
    op.drop_table("report_counter")
