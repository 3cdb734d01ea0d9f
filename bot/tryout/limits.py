"""Telegram's limits and failures as the emulator imposes them.

Flood limits (token buckets, overall and per chat, answered with 429 and ``retry_after``), the
length limits of texts, captions, pop-ups and callback data, and the errors and network faults a
test injects (`Faults`: ``fail_next``, ``inject_fault``, ``outage``).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.telegram_text import MAX_CALLBACK_DATA_BYTES, utf16_len
from bot.tryout.protocol import JSON, ApiError, bad

MAX_POPUP_LENGTH = 200  # the text of an answerCallbackQuery notification or alert


# --------------------------------------------------------------------------------------------
# Lengths


def check_length(text: str, limit: int, too_long: str) -> None:
    """Refuse ``text`` (visible text, after parsing) over ``limit`` UTF-16 code units, as
    Telegram counts them, with the description ``too_long``."""
    if utf16_len(text) > limit:
        raise bad(too_long)


def callback_data_fits(data: object) -> bool:
    """Whether an inline button's callback_data has 1 to 64 bytes."""
    return 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES


# --------------------------------------------------------------------------------------------
# Flood limits


class _TokenBucket:
    """``capacity`` tokens, refilled continuously at ``rate`` per second."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0 - 1e-9:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0


class FloodLimits:
    """Telegram's flood limits on message-sending methods: overall, per private chat, and per
    group (a number per minute)."""

    def __init__(
        self,
        *,
        enforce: bool,
        global_rate: float,
        global_burst: int,
        per_chat_rate: float,
        per_chat_burst: int,
        group_per_minute: int,
        clock: Callable[[], float],
    ) -> None:
        self.enforce = enforce
        self.global_rate = global_rate
        self.global_burst = global_burst
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self.group_per_minute = group_per_minute
        self.clock = clock
        self._global_bucket = _TokenBucket(global_rate, global_burst, clock())
        self._chat_buckets: dict[int, _TokenBucket] = {}

    def check(self, chat_id: int) -> None:
        """Spend one message to ``chat_id``, or answer 429 with the seconds to wait."""
        if not self.enforce:
            return
        now = self.clock()
        bucket = self._chat_buckets.get(chat_id)
        if bucket is None:
            if chat_id < 0:
                bucket = _TokenBucket(self.group_per_minute / 60.0, self.group_per_minute, now)
            else:
                bucket = _TokenBucket(self.per_chat_rate, self.per_chat_burst, now)
            self._chat_buckets[chat_id] = bucket
        wait = max(self._global_bucket.wait_time(now), bucket.wait_time(now))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {seconds}", seconds)
        self._global_bucket.take()
        bucket.take()


# --------------------------------------------------------------------------------------------
# Injected errors and network faults


class Fault(enum.StrEnum):
    """A network fault at Telegram's edge (see BotApiEmulator.inject_fault)."""

    server_error = "server_error"  # 502 Bad Gateway before the request is handled
    drop = "drop"  # connection closed before the request is handled
    server_error_after = "server_error_after"  # handled (a message is sent), then 502
    drop_after = "drop_after"  # handled, then the connection is closed without an answer
    slow = "slow"  # handled, the answer held back `delay` seconds (past the client's timeout)

    @property
    def ambiguous(self) -> bool:
        """The request took effect, but the client cannot tell."""
        return self in (Fault.server_error_after, Fault.drop_after, Fault.slow)


@dataclass
class FaultRule:
    fault: Fault
    methods: frozenset[str] | None  # lower-case names; None: every method
    chat_id: int | None
    remaining: int | None  # None: until removed (an outage)
    delay: float


class Faults:
    """Errors and network faults a test asked for, taken by the calls they match."""

    def __init__(self) -> None:
        self._injected: list[tuple[str, int | None, ApiError, list[int]]] = []
        self._faults: list[FaultRule] = []
        self._outage: FaultRule | None = None

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id`` if given) with an error."""
        error = ApiError(error_code, description, retry_after)
        self._injected.append((method.lower(), chat_id, error, [times]))

    def inject_fault(
        self,
        fault: Fault,
        *,
        methods: Iterable[str] | None = None,
        chat_id: int | None = None,
        times: int = 1,
        delay: float = 10.0,
    ) -> None:
        """Meet the next ``times`` calls (of ``methods``, to ``chat_id``) with ``fault``."""
        names = frozenset(m.lower() for m in methods) if methods is not None else None
        self._faults.append(FaultRule(fault, names, chat_id, times, delay))

    def outage(
        self,
        fault: Fault = Fault.server_error,
        *,
        methods: Iterable[str] | None = None,
        delay: float = 10.0,
    ) -> None:
        """Telegram unreachable: every call (of ``methods``) meets ``fault`` until `end_outage`."""
        names = frozenset(m.lower() for m in methods) if methods is not None else None
        self._outage = FaultRule(fault, names, None, None, delay)

    def end_outage(self) -> None:
        self._outage = None

    def take_fault(self, method: str, params: JSON, *, handled: bool) -> FaultRule | None:
        """The fault for this call: before handling it (handled False) one that stops it, after
        it succeeded one of the ambiguous kinds (so a call refused anyway spends none)."""
        name = method.lower()
        for rule in [*self._faults, *([self._outage] if self._outage else [])]:
            if rule.fault.ambiguous != handled:
                continue
            if rule.methods is not None and name not in rule.methods:
                continue
            if rule.chat_id is not None and params.get("chat_id") != rule.chat_id:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._faults.remove(rule)
            return rule
        return None

    def take_injected(self, method: str, params: JSON) -> ApiError | None:
        """The error `fail_next` asked for this call, if any (spending one of its times)."""
        for index, (name, chat_id, error, remaining) in enumerate(self._injected):
            if name != method.lower():
                continue
            if chat_id is not None and params.get("chat_id") != chat_id:
                continue
            remaining[0] -= 1
            if remaining[0] <= 0:
                del self._injected[index]
            return ApiError(error.code, error.description, error.retry_after)
        return None
