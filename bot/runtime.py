"""The objects every handler needs, built once per process and reached through the context."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.i18n import Texts
from bot.log_budget import CountEveryInterval
from bot.settings import Settings
from storage.db import Database
from storage.models import utcnow
from storage.updates import ClaimQueue

if TYPE_CHECKING:
    from bot.app import Service
    from bot.inbox import Inbox
    from bot.wecom.callback import WeComChannel
    from handlers.wiring import Wiring


@dataclass
class Runtime:
    """Held as the Application's bot_data; filled by bot.app.build_application."""

    settings: Settings = field(default=None)  # type: ignore[assignment]
    db: Database = field(default=None)  # type: ignore[assignment]
    texts: Texts = field(default=None)  # type: ignore[assignment]
    # The clock is injectable so reminder and deadline tests can move time without sleeping.
    clock: Callable[[], datetime] = utcnow
    bot_username: str = ""
    wiring: Wiring = field(default=None)  # type: ignore[assignment]
    # Wakes the delivery worker when something was put in the outbox.
    outbox_signal: Callable[[], None] = lambda: None
    # Upgrade the schema when the app starts.
    migrate: bool = True
    # Fetched updates kept until handled, so a crash loses none (bot/inbox.py).
    inbox: Inbox = field(default=None)  # type: ignore[assignment]
    # Update ids recorded as handled, in shared transactions (storage/updates.py).
    claims: ClaimQueue = field(default=None)  # type: ignore[assignment]
    # Redelivered updates are dropped (handlers/identity.py) and counted in one INFO line per
    # interval, so a bot that seems silent shows why in its log.
    redeliveries: CountEveryInterval = field(
        default_factory=lambda: CountEveryInterval(
            logging.getLogger("bot.updates"),
            logging.INFO,
            "dropped %d updates already handled (redelivered by Telegram or replayed)",
        )
    )
    # Set by the delivery worker while its getMe probes fail (bot/delivery.py): since when
    # Telegram has not answered. /healthz and notice progress messages say so.
    telegram_unreachable_since: datetime | None = None
    # The WeCom channel (bot/wecom/), when its settings are given.
    wecom: WeComChannel | None = None
    # Running services (delivery worker, scheduler), stopped in reverse order on shutdown.
    services: list[Service] = field(default_factory=list)
