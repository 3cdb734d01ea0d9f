"""The inbox: an update Telegram handed over is not lost when the process dies.

Telegram forgets an update once a getUpdates call carries a higher offset, and PTB makes that
call as soon as it has queued a batch, long before the batch is handled: a kill -9 loses every
update fetched and not handled yet (under a backlog, thousands). So each batch is written to the
database (storage.inbox) as it arrives, before PTB can confirm it; an update is removed once its
handlers are done, and a start replays whatever a crash left behind (the webhook keeps each
update before answering Telegram, too). A replayed update whose handling had already begun is
dropped by the processed-update check (handlers/identity.py): nothing is handled twice, and only
updates inside a handler at the moment of the crash (at most CONCURRENT_UPDATES) can be lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from telegram import Update

from bot.http import AiohttpRequest
from bot.log_budget import RepeatedLog
from bot.runtime import Runtime
from bot.update_screen import Poisoned, clean_text, screen
from storage import inbox, quarantine

if TYPE_CHECKING:
    from bot.app import BotApplication

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5  # how long a handled update may stay stored
FLUSH_BATCH = 200
CHANNEL = "telegram"


@dataclass
class Admitted:
    """A batch after screening: what PTB gets, which of it is real, whether it changed."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    readable: list[dict[str, Any]] = field(default_factory=list)
    # A poisoned update replaced or a text cleaned: the batch must be handed on re-encoded.
    rewritten: bool = False


class Inbox:
    """Keeps fetched updates, forgets handled ones in batches, replays the rest at start."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.replayed = 0
        self._handled: list[int] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.quarantined = 0
        # A flood of bad updates (a broken client, an attack) is logged as a count, not a flood.
        self._poison_log = RepeatedLog(log, logging.WARNING, burst=20)

    async def admit(self, payloads: list[Any]) -> Admitted:
        """Take a batch as it arrived: readable updates are cleaned of control characters and
        kept (before Telegram is told they arrived), unreadable ones quarantined; returns the
        batch for PTB, each poisoned update replaced by its bare id so the offset moves past it."""
        admitted = Admitted()
        poisoned: list[Poisoned] = []
        for raw in payloads:
            bad = screen(raw)
            if bad is None:
                admitted.rewritten = clean_text(raw) or admitted.rewritten
                admitted.updates.append(raw)
                admitted.readable.append(raw)
                continue
            poisoned.append(bad)
            admitted.rewritten = True
            placeholder = bad.placeholder()
            if placeholder is not None:
                admitted.updates.append(placeholder)
        if poisoned:
            await self.quarantine(poisoned)
        await self.keep(admitted.readable)
        return admitted

    async def keep(self, payloads: list[dict[str, Any]]) -> None:
        """Store raw updates before Telegram is told they arrived."""
        db = self.runtime.db
        if db is None or not payloads:
            return
        try:
            async with db.transaction() as session:
                await inbox.keep(session, payloads)
        except Exception:
            # Without the database the handlers answer "try again" anyway: polling goes on.
            log.warning("could not keep %d updates in the inbox", len(payloads), exc_info=True)

    async def quarantine(self, poisoned: list[Poisoned]) -> None:
        """Keep unreadable updates aside, each logged once by id and kind (never its payload:
        it may hold a phone number or a report's text)."""
        new: list[Poisoned] = []
        try:
            async with self.runtime.db.transaction() as session:
                for bad in poisoned:
                    if await quarantine.keep(
                        session,
                        channel=CHANNEL,
                        update_id=bad.update_id,
                        kind=bad.kind,
                        raw=bad.raw,
                        error=bad.error,
                    ):
                        new.append(bad)
        except Exception:
            # Not kept, but still not handed on: a bad update must never stop the rest.
            log.warning("could not quarantine %d unreadable updates", len(poisoned), exc_info=True)
            new = poisoned
        self.quarantined += len(new)
        for bad in new:
            self._poison_log.log(
                "update %s (%s) could not be read and was quarantined: %s",
                bad.update_id,
                bad.kind,
                bad.error.split(":", 1)[0],
                key=bad.kind,
            )

    def handled(self, update: object) -> None:
        """The update's handlers are done (PerChatUpdateProcessor calls this)."""
        if isinstance(update, Update):
            self._handled.append(update.update_id)
            if len(self._handled) >= FLUSH_BATCH:
                self._wake.set()

    # -- Service ---------------------------------------------------------------------------
    async def start(self, app: BotApplication) -> None:
        """Queue what a stopped process left unhandled, ahead of anything fetched now."""
        async with self.runtime.db.transaction() as session:
            left = await inbox.waiting(session)
        broken: list[Poisoned] = []
        for payload in left:
            bad = screen(payload)
            if bad is not None:
                broken.append(bad)
                continue
            await app.update_queue.put(Update.de_json(payload, app.bot))
            self.replayed += 1
        if broken:
            # Kept by an older version that did not screen: set aside now, never replayed again.
            await self.quarantine(broken)
            async with self.runtime.db.transaction() as session:
                ids = [bad.update_id for bad in broken if bad.update_id is not None]
                await inbox.forget(session, ids)
        if left:
            log.warning("replaying %d updates received but not handled before a stop", len(left))
        self._task = asyncio.create_task(self._run(), name="inbox")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_SECONDS)
            self._wake.clear()
            await self._flush()
            self.runtime.redeliveries.tick()
        await self._flush()

    async def _flush(self) -> None:
        done, self._handled = self._handled, []
        if not done:
            return
        try:
            async with self.runtime.db.transaction() as session:
                await inbox.forget(session, done)
        except Exception:
            # Kept rows are harmless (a replay drops handled ones); try again next time.
            self._handled[:0] = done
            log.warning("could not clear %d handled updates from the inbox", len(done))


class InboxRequest(AiohttpRequest):
    """PTB's request object for getUpdates: every batch goes into the inbox before PTB sees it
    (and so before its next getUpdates confirms the batch to Telegram)."""

    def __init__(self) -> None:
        super().__init__(connection_pool_size=1)  # PTB's own default for getUpdates
        self.inbox: Inbox | None = None

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await super().do_request(*args, **kwargs)
        if self.inbox is not None and code == HTTPStatus.OK:
            try:
                data = json.loads(payload)
            except ValueError:
                data = None  # PTB reports the bad answer itself
            result = data.get("result") if isinstance(data, dict) else None
            if isinstance(result, list) and result:
                admitted = await self.inbox.admit(result)
                if admitted.rewritten:  # rare: most batches go on as the bytes that came
                    assert isinstance(data, dict)
                    data["result"] = admitted.updates
                    payload = json.dumps(data).encode()
        return code, payload
