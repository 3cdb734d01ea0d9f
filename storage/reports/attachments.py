"""Files attached to a draft: where they are stored, and the type, size and count limits."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ReportAttachment
from storage.reports.loading import draft_row, refreshed
from storage.reports.views import Limits, Outcome, Result

ATTACHMENT_KINDS = ("photo", "document", "voice")


def attachment_path(report_id: int, file_name: str) -> str:
    """A fresh path, relative to the data folder, for a file of this report."""
    safe = re.sub(r"[^\w.\-]+", "_", Path(file_name).name, flags=re.UNICODE).strip("._")
    return f"reports/{report_id}/{uuid.uuid4().hex[:12]}_{safe[-80:] or 'file'}"


def write_file(data_dir: Path, relative: str, data: bytes) -> None:
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def remove_files(data_dir: Path, relatives: Iterable[str]) -> None:
    for relative in relatives:
        target = data_dir / relative
        target.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            target.parent.rmdir()  # only when empty


async def add_attachment(
    session: AsyncSession,
    member_id: int,
    report_id: int,
    *,
    kind: str,
    file_name: str,
    mime_type: str | None,
    size: int,
    path: str,
    file_ref: str | None,
    limits: Limits,
) -> Result:
    """Attach a stored file to the member's open draft, within the type, size and count limits."""
    report = await draft_row(session, member_id)
    if report is None or report.id != report_id:
        return Result(Outcome.not_found)
    if kind not in ATTACHMENT_KINDS or not limits.allows_type(kind, file_name):
        return Result(Outcome.bad_file_type)
    if size > limits.max_bytes:
        return Result(Outcome.file_too_big, length=size, limit=limits.max_bytes)
    if len(report.attachments) >= limits.max_attachments:
        return Result(Outcome.too_many_files, limit=limits.max_attachments)
    report.attachments.append(
        ReportAttachment(
            kind=kind,
            file_name=file_name[:200],
            mime_type=mime_type,
            size=size,
            path=path,
            file_ref=file_ref,
        )
    )
    report.revision += 1
    return Result(Outcome.ok, await refreshed(session, report))


async def clear_attachments(session: AsyncSession, member_id: int) -> tuple[Result, list[str]]:
    """Remove every attachment of the open draft; returns the file paths to delete."""
    report = await draft_row(session, member_id)
    if report is None:
        return Result(Outcome.not_found), []
    paths = [a.path for a in report.attachments]
    report.attachments.clear()
    report.revision += 1
    return Result(Outcome.ok, await refreshed(session, report)), paths
