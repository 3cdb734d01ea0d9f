"""Where a user stands in a multi-step conversation, kept in the database.

The text a member types is saved by the feature (as a draft) the moment it arrives; this only
remembers which question is open, so a restart or a timeout loses at most that step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import UpsertStatement
from storage.models import DialogState, utcnow

# The state is rewritten on every answer, so it must stay small: it names a step and a few ids,
# and the quick report's messages waiting for an answer, which handlers/reports.py caps far
# below this (a draft's fields' worth of text). A flow that tries to keep more is a bug; it is
# refused here rather than slowing down every message the member sends.
MAX_DATA_BYTES = 64 * 1024

# The account in conversation: (channel, external_id), as `Account.key` gives it.
AccountKey = tuple[str, str]


class DialogStateTooLarge(ValueError):
    """dialogs.set was given more data than a dialog may keep (MAX_DATA_BYTES)."""


def data_size(data: dict[str, Any] | None) -> int:
    """The data's size as stored: its JSON, in UTF-8 bytes."""
    encoded = json.dumps(data or {}, ensure_ascii=False, default=str)
    return len(encoded.encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class Dialog:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None

    def expired(self, timeout: timedelta, now: datetime | None = None) -> bool:
        return self.updated_at is not None and (now or utcnow()) - self.updated_at > timeout


def _set_statement(insert: Any) -> Any:
    """One upsert (a dialog moves on almost every answer a member types), built once."""
    columns = ("channel", "external_id", "flow", "step", "data", "updated_at")
    statement = insert(DialogState).values({name: bindparam(name) for name in columns})
    return statement.on_conflict_do_update(
        index_elements=[DialogState.channel, DialogState.external_id],
        set_={name: statement.excluded[name] for name in columns[2:]},
    )


_SET = UpsertStatement(_set_statement)


async def get(session: AsyncSession, account: AccountKey) -> Dialog | None:
    row = await session.get(DialogState, account)
    if row is None:
        return None
    return Dialog(row.flow, row.step, dict(row.data or {}), row.updated_at)


async def set(
    session: AsyncSession,
    account: AccountKey,
    flow: str,
    step: str,
    data: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> Dialog:
    """Open (or move) the account's conversation to flow/step, replacing any other.

    now: the app's clock (the same one the timeout check reads), so a test clock moved ahead
    does not make a dialog opened a moment ago look expired. More data than MAX_DATA_BYTES
    raises DialogStateTooLarge (the caller must bound what it keeps).
    """
    size = data_size(data)
    if size > MAX_DATA_BYTES:
        raise DialogStateTooLarge(f"dialog {flow}/{step}: {size} bytes of data")
    now = now or utcnow()
    await session.execute(
        _SET.of(session),
        {
            "channel": account[0],
            "external_id": account[1],
            "flow": flow,
            "step": step,
            "data": dict(data or {}),
            "updated_at": now,
        },
    )
    return Dialog(flow, step, dict(data or {}), now)


async def clear(session: AsyncSession, account: AccountKey) -> None:
    channel, external_id = account
    await session.execute(
        delete(DialogState).where(
            DialogState.channel == channel, DialogState.external_id == external_id
        )
    )
