"""Finding WeCom members by the roster's mobile numbers.

WeCom names a member by a userid; the roster knows their mobile. `user/get` no longer returns
a mobile to self-built apps (a sensitive field since 2022), but `user/getuserid` turns a mobile
into the userid, so the direction is roster → WeCom: the unreached members' phones are looked up
and each userid found is bound to its member (audited, as a binding by shared contact). This runs
when a userid nobody is bound to writes (at most once a minute, strangers sharing one run); a
phone WeCom does not know is not asked again for an hour. A roster of a few hundred members costs
that many calls once, then only the members not yet found.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.wecom import WECOM
from bot.wecom.client import WeComClient, WeComError
from storage import identities, members
from storage.db import Database
from storage.identities import Account
from storage.members import BindOutcome

log = logging.getLogger(__name__)

SYNC_INTERVAL_SECONDS = 60.0
UNKNOWN_MOBILE_SECONDS = 3600.0


def wecom_mobile(phone: str) -> str:
    """The roster's canonical phone as WeCom writes mobiles: 11 digits in the mainland,
    "+852 ..." style (country code and number) elsewhere."""
    if phone.startswith("+86") and len(phone) == 14:
        return phone[3:]
    return phone


class Directory:
    def __init__(
        self, db: Database, client: WeComClient, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        self.lookups = 0
        self._lock = asyncio.Lock()
        self._last_sync: float | None = None
        self._unknown: dict[str, float] = {}

    async def sync(self) -> int:
        """Look up the unreached members' mobiles; how many were bound. Runs at most once a
        minute: a caller arriving while one runs waits for it."""
        async with self._lock:
            now = self.clock()
            if self._last_sync is not None and now - self._last_sync < SYNC_INTERVAL_SECONDS:
                return 0
            self._last_sync = now
            async with self.db.read() as session:
                wanted = await identities.unreached_phones(session, WECOM)
            bound = 0
            for _member_id, phone in wanted:
                if self._unknown.get(phone, -UNKNOWN_MOBILE_SECONDS) > now - UNKNOWN_MOBILE_SECONDS:
                    continue
                self.lookups += 1
                try:
                    userid = await self.client.userid_of_mobile(wecom_mobile(phone))
                except WeComError:
                    log.warning("WeCom user lookup failed", exc_info=True)
                    break  # WeCom refuses now (frequency, rights): try again next time
                if userid is None:
                    self._unknown[phone] = now
                    continue
                async with self.db.transaction() as session:
                    result = await members.bind_by_phone(
                        session, account=Account(WECOM, userid, userid), phone=phone
                    )
                if result.outcome is BindOutcome.bound:
                    bound += 1
            if bound:
                log.info("bound %d members to their WeCom accounts by mobile", bound)
            return bound
