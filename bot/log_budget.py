"""Bounded logging: a message repeated in a failure loop is written once per interval, with a
count, instead of once per occurrence (a loop of errors once wrote 1.4 GB in 11 minutes)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

INTERVAL_SECONDS = 60.0


@dataclass
class _Window:
    started: float
    passed: int = 1
    suppressed: int = 0


class RepeatedLog:
    """Log the first `burst` occurrences of each key in an interval, then nothing until the
    interval is over; the next line written says how many were left out meanwhile."""

    def __init__(
        self,
        logger: logging.Logger,
        level: int,
        *,
        burst: int = 1,
        interval: float = INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._level = level
        self._burst = burst
        self._interval = interval
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def log(self, message: str, *args: object, key: str = "", exc_info: bool = False) -> None:
        now = self._clock()
        window = self._windows.get(key)
        if window is not None and now - window.started < self._interval:
            if window.passed >= self._burst:
                window.suppressed += 1
                return
            window.passed += 1
        else:
            if window is not None and window.suppressed:
                message += " (%d more like it were not logged in the last %d s)"
                args = (*args, window.suppressed, round(now - window.started))
            self._windows[key] = _Window(started=now)
        self._logger.log(self._level, message, *args, exc_info=exc_info)


class CountEveryInterval:
    """Count events and write one line per interval with the count (e.g. redelivered updates
    that were dropped): a quiet bot has a visible reason, and a flood is one line a minute."""

    def __init__(
        self,
        logger: logging.Logger,
        level: int,
        message: str,
        *,
        interval: float = INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._level = level
        self._message = message
        self._interval = interval
        self._clock = clock
        self._count = 0
        self._since: float | None = None
        self.total = 0

    def add(self) -> None:
        now = self._clock()
        self._count += 1
        self.total += 1
        if self._since is None:
            # The first one of a quiet spell is said at once; the rest are summed up.
            self._since = now
            self._emit(now)
        elif now - self._since >= self._interval:
            self._emit(now)

    def tick(self) -> None:
        """Called now and then by a service loop: a count left over from a finished burst is
        still written once its interval is over."""
        now = self._clock()
        if self._count and self._since is not None and now - self._since >= self._interval:
            self._emit(now)

    def _emit(self, now: float) -> None:
        self._logger.log(self._level, self._message, self._count)
        self._count = 0
        self._since = now


class RepeatLimiter(logging.Filter):
    """A handler filter bounding any record repeated in a loop (a library's own retry loop
    included): per (logger, level, message template), the first `burst` records of an interval
    pass, the rest are counted and the count rides on the next record that passes."""

    def __init__(
        self,
        *,
        burst: int = 10,
        interval: float = INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._burst = burst
        self._interval = interval
        self._clock = clock
        self._windows: dict[tuple[str, int, str], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        window = self._windows.get(key)
        if window is not None and now - window.started < self._interval:
            if window.passed >= self._burst:
                window.suppressed += 1
                return False
            window.passed += 1
            return True
        self._windows[key] = _Window(started=now)
        if window is not None and window.suppressed:
            record.msg = f"{record.msg} (repeated {window.suppressed} more times, not logged)"
        if len(self._windows) > 10_000:  # keys are templates, not values; this is a backstop
            self._windows.clear()
        return True
