"""identities: a member is reached through (channel, external_id), not Telegram columns

Every Telegram-shaped column becomes channel-neutral, carrying its data over:
- member.telegram_user_id / chat_id -> one `identity` row (channel "telegram");
- dialog_state keyed by (channel, external_id);
- binding_request, invite_code and audit_log name the account as (channel, external_id);
- outbox_message is addressed by (channel, address) and remembers the sent message as a string;
- report_attachment.telegram_file_id -> file_ref (the channel's own handle of a stored file).

Revision ID: 0094
Revises: 0093
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0094"
down_revision: str | Sequence[str] | None = "0093"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = storage.models.base.UTCDateTime(timezone=True)


def _text(column: str) -> str:
    return f"CAST({column} AS VARCHAR(64))"


def upgrade() -> None:
    op.create_table(
        "identity",
        sa.Column("id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("bound_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_identity_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("uq_identity_channel")),
        sa.UniqueConstraint("member_id", "channel", name=op.f("uq_identity_member_id")),
    )
    op.execute(
        "INSERT INTO identity (member_id, channel, external_id, address, bound_at) "
        f"SELECT id, 'telegram', {_text('telegram_user_id')}, "
        f"{_text('COALESCE(chat_id, telegram_user_id)')}, COALESCE(bound_at, created_at) "
        "FROM member WHERE telegram_user_id IS NOT NULL"
    )
    with op.batch_alter_table("member") as batch:
        batch.drop_constraint("uq_member_telegram_user_id", type_="unique")
        batch.drop_column("telegram_user_id")
        batch.drop_column("chat_id")

    op.create_table(
        "dialog_state_new",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("flow", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("channel", "external_id", name="pk_dialog_state_new"),
    )
    op.execute(
        "INSERT INTO dialog_state_new (channel, external_id, flow, step, data, updated_at) "
        f"SELECT 'telegram', {_text('telegram_user_id')}, flow, step, data, updated_at "
        "FROM dialog_state"
    )
    op.drop_table("dialog_state")
    op.rename_table("dialog_state_new", "dialog_state")
    with op.batch_alter_table("dialog_state") as batch:
        batch.drop_constraint("pk_dialog_state_new", type_="primary")
        batch.create_primary_key(op.f("pk_dialog_state"), ["channel", "external_id"])

    _account_columns(
        "binding_request",
        "telegram_user_id",
        nullable=False,
        address_from="chat_id",
        old_from="old_telegram_user_id",
    )
    _account_columns("invite_code", "used_by_telegram_id", prefix="used_by_")
    _account_columns("audit_log", "actor_telegram_id", prefix="actor_")

    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("address", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("sent_message_id", sa.String(length=64), nullable=True))
    op.execute(
        f"UPDATE outbox_message SET channel = 'telegram', address = {_text('chat_id')}, "
        f"sent_message_id = {_text('telegram_message_id')}"
    )
    with op.batch_alter_table("outbox_message") as batch:
        batch.alter_column("channel", existing_type=sa.String(length=20), nullable=False)
        batch.alter_column("address", existing_type=sa.String(length=64), nullable=False)
        batch.drop_column("chat_id")
        batch.drop_column("telegram_message_id")

    with op.batch_alter_table("report_attachment") as batch:
        batch.alter_column(
            "telegram_file_id", new_column_name="file_ref", existing_type=sa.String(length=200)
        )

    with op.batch_alter_table("notice") as batch:
        batch.add_column(sa.Column("progress_channel", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("progress_address", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("progress_message_ref", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE notice SET progress_channel = 'telegram', "
        f"progress_address = {_text('progress_chat_id')}, "
        f"progress_message_ref = {_text('progress_message_id')} "
        "WHERE progress_chat_id IS NOT NULL"
    )
    with op.batch_alter_table("notice") as batch:
        batch.drop_column("progress_chat_id")
        batch.drop_column("progress_message_id")
    with op.batch_alter_table("notice") as batch:
        batch.alter_column(
            "progress_message_ref",
            new_column_name="progress_message_id",
            existing_type=sa.String(length=64),
        )


def _account_columns(
    table: str,
    old: str,
    *,
    prefix: str = "",
    nullable: bool = True,
    address_from: str | None = None,
    old_from: str | None = None,
) -> None:
    """Replace a Telegram user id column by (channel, external_id) [+ address, old id]."""
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column(f"{prefix}channel", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column(f"{prefix}external_id", sa.String(length=64), nullable=True))
        if address_from:
            batch.add_column(sa.Column("address", sa.String(length=64), nullable=True))
        if old_from:
            batch.add_column(sa.Column("old_external_id", sa.String(length=64), nullable=True))
    values = [
        f"{prefix}channel = CASE WHEN {old} IS NULL THEN NULL ELSE 'telegram' END",
        f"{prefix}external_id = {_text(old)}",
    ]
    if address_from:
        values.append(f"address = {_text(address_from)}")
    if old_from:
        values.append(f"old_external_id = {_text(old_from)}")
    op.execute(f"UPDATE {table} SET {', '.join(values)}")
    with op.batch_alter_table(table) as batch:
        if not nullable:
            batch.alter_column(f"{prefix}channel", existing_type=sa.String(20), nullable=False)
            batch.alter_column(f"{prefix}external_id", existing_type=sa.String(64), nullable=False)
        if address_from:
            batch.alter_column("address", existing_type=sa.String(64), nullable=False)
            batch.drop_column(address_from)
        if old_from:
            batch.drop_column(old_from)
        if table == "binding_request":
            batch.drop_index("ix_binding_request_telegram_user_id")
            batch.create_index(
                "ix_binding_request_external_id", [f"{prefix}channel", f"{prefix}external_id"]
            )
        batch.drop_column(old)


def downgrade() -> None:
    """Back to Telegram columns: only Telegram identities can be written there (an account on
    another channel is dropped, with its dialogs and outbox rows)."""
    with op.batch_alter_table("notice") as batch:
        batch.add_column(sa.Column("progress_chat_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("progress_message_old", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE notice SET progress_chat_id = CAST(progress_address AS BIGINT), "
        "progress_message_old = CAST(progress_message_id AS BIGINT) "
        "WHERE progress_channel = 'telegram'"
    )
    with op.batch_alter_table("notice") as batch:
        batch.drop_column("progress_channel")
        batch.drop_column("progress_address")
        batch.drop_column("progress_message_id")
    with op.batch_alter_table("notice") as batch:
        batch.alter_column(
            "progress_message_old",
            new_column_name="progress_message_id",
            existing_type=sa.BigInteger(),
        )

    op.execute("DELETE FROM outbox_message WHERE channel <> 'telegram'")
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("telegram_message_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE outbox_message SET chat_id = CAST(address AS BIGINT), "
        "telegram_message_id = CAST(sent_message_id AS BIGINT)"
    )
    with op.batch_alter_table("outbox_message") as batch:
        batch.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_column("channel")
        batch.drop_column("address")
        batch.drop_column("sent_message_id")

    with op.batch_alter_table("report_attachment") as batch:
        batch.alter_column(
            "file_ref", new_column_name="telegram_file_id", existing_type=sa.String(length=200)
        )

    _telegram_column("audit_log", "actor_telegram_id", prefix="actor_")
    _telegram_column("invite_code", "used_by_telegram_id", prefix="used_by_")
    op.execute("DELETE FROM binding_request WHERE channel <> 'telegram'")
    with op.batch_alter_table("binding_request") as batch:
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("old_telegram_user_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE binding_request SET chat_id = CAST(address AS BIGINT), "
        "old_telegram_user_id = CAST(old_external_id AS BIGINT)"
    )
    with op.batch_alter_table("binding_request") as batch:
        batch.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_index("ix_binding_request_external_id")
        batch.drop_column("address")
        batch.drop_column("old_external_id")
    _telegram_column("binding_request", "telegram_user_id", nullable=False)
    with op.batch_alter_table("binding_request") as batch:
        batch.create_index("ix_binding_request_telegram_user_id", ["telegram_user_id"])

    op.create_table(
        "dialog_state_old",
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("flow", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("telegram_user_id", name="pk_dialog_state_old"),
    )
    op.execute(
        "INSERT INTO dialog_state_old (telegram_user_id, flow, step, data, updated_at) "
        "SELECT CAST(external_id AS BIGINT), flow, step, data, updated_at FROM dialog_state "
        "WHERE channel = 'telegram'"
    )
    op.drop_table("dialog_state")
    op.rename_table("dialog_state_old", "dialog_state")
    with op.batch_alter_table("dialog_state") as batch:
        batch.drop_constraint("pk_dialog_state_old", type_="primary")
        batch.create_primary_key(op.f("pk_dialog_state"), ["telegram_user_id"])

    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE member SET "
        "telegram_user_id = (SELECT CAST(external_id AS BIGINT) FROM identity "
        "WHERE identity.member_id = member.id AND channel = 'telegram'), "
        "chat_id = (SELECT CAST(address AS BIGINT) FROM identity "
        "WHERE identity.member_id = member.id AND channel = 'telegram')"
    )
    with op.batch_alter_table("member") as batch:
        batch.create_unique_constraint("uq_member_telegram_user_id", ["telegram_user_id"])
    op.drop_table("identity")


def _telegram_column(table: str, new: str, *, prefix: str = "", nullable: bool = True) -> None:
    """(channel, external_id) back into a Telegram user id column (other channels: NULL)."""
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column(new, sa.BigInteger(), nullable=True))
    op.execute(
        f"UPDATE {table} SET {new} = CASE WHEN {prefix}channel = 'telegram' "
        f"THEN CAST({prefix}external_id AS BIGINT) END"
    )
    with op.batch_alter_table(table) as batch:
        if not nullable:
            batch.alter_column(new, existing_type=sa.BigInteger(), nullable=False)
        batch.drop_column(f"{prefix}channel")
        batch.drop_column(f"{prefix}external_id")
