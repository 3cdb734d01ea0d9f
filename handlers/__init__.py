"""Every feature's handlers, registered in one place. Order matters and is decided only here:

group -1: identity (who is this user) runs before everything;
group 0: feature commands and buttons, then main-menu buttons, then the catch-all dialog router.
"""

from __future__ import annotations

from telegram.ext import Application

from bot.i18n import Texts
from handlers import (
    activities,
    duty_record,
    errors,
    identity,
    language,
    notices,
    reports,
    staff_admin,
    start,
)
from handlers.wiring import Wiring

FEATURES = [
    start,
    language,
    staff_admin,
    reports,
    notices,
    activities,
    duty_record,
]


def register_all(app: Application, texts: Texts) -> Wiring:  # type: ignore[type-arg]
    wiring = Wiring()
    identity.register(app)
    for feature in FEATURES:
        feature.register(wiring)
    wiring.install(app, texts)
    app.add_error_handler(errors.on_error)
    return wiring
