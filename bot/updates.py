"""Concurrent update handling that keeps each chat's updates in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

UNLIMITED = 1_000_000


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Different chats run in parallel (up to the limit); one chat's updates run one by one.

    A member who taps twice quickly must see the effects in tap order, and a conversation's
    steps must not overtake each other; unrelated members must not wait for one another.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        # PTB takes its slot before do_process_update runs, so with PTB's limit an update queued
        # behind the same member's previous one would hold a slot while it waits, and a member
        # who taps ahead could stall everyone once slots run out. PTB's own limit is therefore
        # set out of reach; the real one is taken below, after the chat's turn has come.
        super().__init__(UNLIMITED)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        # Told about each update once its handlers are done (bot/inbox.py then forgets it).
        self.on_done: Callable[[object], None] = lambda update: None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        async with self._chat_turn(update), self._slots:
            await coroutine
        self.on_done(update)

    @contextlib.asynccontextmanager
    async def _chat_turn(self, update: object) -> AsyncIterator[None]:
        key = _chat_key(update)
        if key is None:
            yield
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
