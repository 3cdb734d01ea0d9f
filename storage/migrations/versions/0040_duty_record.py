"""duty record: indexes for counting records (and the merge of the feature branches)

Revision ID: 0040
Revises: 0010, 0020, 0030
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0040"
down_revision: str | Sequence[str] | None = ("0010", "0020", "0030")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index(
            "ix_duty_report_year", ["receipt_year", "id", "member_id", "excellent"], unique=False
        )
    with op.batch_alter_table("report_event", schema=None) as batch_op:
        batch_op.create_index("ix_duty_report_event", ["report_id", "action"], unique=False)
    with op.batch_alter_table("activity_signup", schema=None) as batch_op:
        batch_op.create_index(
            "ix_duty_signup_activity",
            ["activity_id", "status", "member_id", "signed_up_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("activity_signup", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_signup_activity")
    with op.batch_alter_table("report_event", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_report_event")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_report_year")
