"""activities: activity, who is invited, sign-ups

Revision ID: 0020
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "visit",
                "service_day",
                "micro_consultation",
                "training",
                "inspection",
                "meeting",
                name="activitytype",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "postponed",
                "cancelled",
                name="activitystatus",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("signup_deadline", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column(
            "liaison_point_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("reply_required", sa.Boolean(), nullable=False),
        sa.Column("last_position", sa.Integer(), nullable=False),
        sa.Column("checkin_code", sa.String(length=12), nullable=True),
        sa.Column("cancel_reason", sa.String(length=300), nullable=True),
        sa.Column("import_batch", sa.String(length=24), nullable=True),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("postponed_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["member.id"],
            name=op.f("fk_activity_created_by_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["liaison_point_id"],
            ["liaison_point.id"],
            name=op.f("fk_activity_liaison_point_id_liaison_point"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_import_batch"), ["import_batch"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_activity_liaison_point_id"), ["liaison_point_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_activity_starts_at"), ["starts_at"], unique=False)
        batch_op.create_index("ix_activity_status_start", ["status", "starts_at"], unique=False)

    op.create_table(
        "activity_signup",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "activity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "status",
            sa.Enum(
                "signed_up",
                "waiting",
                "cancelled",
                "leave",
                "checked_in",
                name="signupstatus",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("signed_up_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("waiting_since", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("promoted_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("leave_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("leave_reason", sa.String(length=300), nullable=True),
        sa.Column("checked_in_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "checkin_method",
            sa.Enum("code", "location", name="checkinmethod", native_enum=False, length=10),
            nullable=True,
        ),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_activity_signup_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_activity_signup_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_signup")),
        sa.UniqueConstraint(
            "activity_id", "member_id", name=op.f("uq_activity_signup_activity_id")
        ),
    )
    with op.batch_alter_table("activity_signup", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_signup_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            "ix_activity_signup_queue", ["activity_id", "status", "position"], unique=False
        )

    op.create_table(
        "activity_target",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "activity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "everyone",
                "sector",
                "committee",
                "liaison_point",
                "member",
                name="targetkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("ref_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_activity_target_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_target")),
    )
    with op.batch_alter_table("activity_target", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_target_activity_id"), ["activity_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("activity_target")
    with op.batch_alter_table("activity_signup", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_signup_queue")
        batch_op.drop_index(batch_op.f("ix_activity_signup_member_id"))
    op.drop_table("activity_signup")
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_status_start")
        batch_op.drop_index(batch_op.f("ix_activity_starts_at"))
        batch_op.drop_index(batch_op.f("ix_activity_liaison_point_id"))
        batch_op.drop_index(batch_op.f("ix_activity_import_batch"))
    op.drop_table("activity")
