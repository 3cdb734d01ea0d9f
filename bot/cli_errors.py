"""Operator mistakes in one line: the checks `cppcc-bot run` makes before it starts, and what the
command line prints for a failure (a wrong setting, a server it cannot reach, a database that is
not there) in place of a traceback.

Every line names the setting to look at or the cause, and never a secret: the bot token and the
database password are cut out of anything quoted from a library.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy.engine import URL, make_url

from bot.settings import Settings, SettingsError

# How long the start-up check waits for the Bot API: long enough for a slow network, short
# enough that a wrong address is reported while the operator is still looking.
TELEGRAM_CHECK_SECONDS = 15.0
# A socket that cannot be bound: the port is taken, privileged, or the address is not this host's.
LISTEN_ERRORS = {errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL}
# Where an exception comes from a database library (its explanation names DATABASE_URL).
DATABASE_MODULES = {"sqlalchemy", "asyncpg", "alembic", "sqlite3", "aiosqlite"}


class CliFailure(Exception):
    """A failure explained in one line (exit status 1; a wrong setting is SettingsError, 2)."""


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything behind it: causes, contexts and SQLAlchemy's `orig`."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        item = pending.pop(0)
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        orig = getattr(item, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None]
        pending += [item.__cause__, item.__context__]


def _first_line(text: object) -> str:
    lines = str(text).strip().splitlines()
    return lines[0].strip() if lines else ""


def scrub(text: str, settings: Settings | None) -> str:
    """text without the bot token or the database password, whatever quoted them."""
    if settings is None:
        return text
    secrets = [settings.webhook_secret.get_secret_value()]
    if settings.bot_token is not None:
        secrets.append(settings.bot_token.get_secret_value())
    password = _url(settings.database_url).password
    if password:
        secrets.append(str(password))
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _url(database_url: str) -> URL:
    return make_url(database_url)


def _network_reason(exc: BaseException) -> str | None:
    """Why a connection could not be made, in words, from the OS error behind it (the most
    specific one: aiohttp's own connection errors are OSErrors too, with wordier texts)."""
    chain = list(causes(exc))
    for item in chain:
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, socket.gaierror):
            return "host name not found"
        if isinstance(item, TimeoutError | asyncio.TimeoutError):
            return "no answer in time"
        if isinstance(item, ssl.SSLError):
            return f"TLS failed ({item.reason or _first_line(item)})"
    for item in chain:
        if isinstance(item, OSError) and item.strerror:
            return item.strerror.lower()
    return None


def database_failure(exc: BaseException, database_url: str) -> str | None:
    """One line for a failure opening or upgrading the database; None when it is none of those."""
    url = _url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_failure(exc, url)
    where = f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}"
    for item in causes(exc):
        state = getattr(item, "sqlstate", None)
        if not isinstance(state, str):
            continue
        message = _first_line(getattr(item, "message", None) or item)
        if state == "3D000":  # invalid_catalog_name
            return (
                f"setting DATABASE_URL: database {url.database!r} does not exist on {where} "
                f"(create it first: createdb -h {url.host or 'localhost'} -p {url.port or 5432}"
                f"{' -U ' + url.username if url.username else ''} {url.database})"
            )
        if state.startswith("28"):  # invalid authorization: unknown role, wrong password
            return f"setting DATABASE_URL: {where} refused the login: {message}"
        return f"database error from {where}: {message} (SQLSTATE {state})"
    schema = _schema_failure(exc)
    if schema:
        return schema
    reason = _network_reason(exc)
    if reason is not None:
        return f"setting DATABASE_URL: cannot reach {where}: {reason}"
    return None


def _sqlite_failure(exc: BaseException, url: URL) -> str | None:
    path = url.database or ""
    for item in causes(exc):
        if isinstance(item, OSError) and item.filename:
            reason = (item.strerror or type(item).__name__).lower()
            return f"setting DATABASE_URL: cannot use {item.filename}: {reason}"
        # sqlite3's errors: no file can be made there, not a database, read-only.
        if type(item).__module__ == "sqlite3":
            return f"setting DATABASE_URL: SQLite database {path}: {_first_line(item)}"
    return _schema_failure(exc)


def _schema_failure(exc: BaseException) -> str | None:
    from alembic.util import CommandError

    for item in causes(exc):
        if isinstance(item, CommandError):
            message = _first_line(item)
            if "Can't locate revision" in message:
                return (
                    f"the database's schema is newer than this version of cppcc-bot knows "
                    f"({message}); install the newer version, or point DATABASE_URL elsewhere"
                )
            return f"the schema upgrade failed: {message}"
    return None


def unmarked_schema(tables: int) -> str:
    return (
        f"setting DATABASE_URL: the database already has {tables} tables but no cppcc-bot "
        "schema version; point DATABASE_URL at an empty database or at the bot's own"
    )


async def check_telegram(settings: Settings) -> str:
    """Ask the Bot API who the bot is (getMe) before anything starts; its username, or
    CliFailure / SettingsError with one line saying what is wrong."""
    token = settings.token()
    base = settings.telegram_api_base_url
    parts = urlsplit(base)
    where = f"{parts.scheme}://{parts.netloc}"
    timeout = aiohttp.ClientTimeout(total=TELEGRAM_CHECK_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout, trust_env=False) as session,
            session.get(f"{base}{token}/getMe") as response,
        ):
            status = response.status
            body = await response.read()
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        reason = _network_reason(exc) or scrub(_first_line(exc), settings) or type(exc).__name__
        raise CliFailure(
            f"cannot reach the Telegram Bot API at {where}: {reason} "
            "(check the network, or TELEGRAM_API_BASE_URL)"
        ) from None
    answer = _json_object(body)
    if status == 401:
        raise SettingsError(
            "setting BOT_TOKEN: Telegram rejected the token (401 Unauthorized); copy it again "
            "from @BotFather"
        )
    if status == 404:
        raise SettingsError(
            f"setting TELEGRAM_API_BASE_URL: {where} answered 404 Not Found to getMe: not a Bot "
            "API address (it ends in /bot, e.g. https://api.telegram.org/bot), or BOT_TOKEN is "
            "malformed"
        )
    result = answer.get("result")
    if status != 200 or not answer.get("ok") or not isinstance(result, dict):
        said = scrub(str(answer.get("description") or "")[:200], settings) or "no description"
        raise CliFailure(
            f"the Telegram Bot API at {where} answered getMe with HTTP {status}: {said}"
        )
    return str(result.get("username") or "")


def _json_object(body: bytes) -> dict[str, object]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def webhook_url_warning(settings: Settings) -> str | None:
    """WEBHOOK_URL is the address without the path; the bot appends /telegram. An address that
    already ends in it is most likely that mistake (or a proxy that strips it: a warning)."""
    from bot.runner import WEBHOOK_PATH

    url = settings.webhook_url.rstrip("/")
    if not url.endswith(WEBHOOK_PATH):
        return None
    return (
        f"warning: WEBHOOK_URL ends in {WEBHOOK_PATH}, which the bot adds itself: Telegram "
        f"is told to post to {url}{WEBHOOK_PATH}"
    )


def check_listen(settings: Settings) -> None:
    """Bind the webhook's address once before anything starts (CliFailure when it cannot be):
    found only when the server starts, it would stop a bot already started."""
    host, port = settings.webhook_listen, settings.webhook_port
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, proto, _, address in infos:
            with socket.socket(family, kind, proto) as sock:
                # As aiohttp binds: a port in TIME_WAIT after a restart is free.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(address)
    except OSError as exc:
        reason = _network_reason(exc) or type(exc).__name__
        raise CliFailure(
            f"setting WEBHOOK_LISTEN/WEBHOOK_PORT: cannot listen on {host}:{port}: {reason}"
        ) from None


def webhook_failure(exc: BaseException, settings: Settings) -> str | None:
    """One line for the webhook server not starting or Telegram refusing the webhook."""
    from telegram.error import BadRequest, InvalidToken, NetworkError

    for item in causes(exc):
        if isinstance(item, BadRequest):
            said = scrub(_first_line(item.message), settings)
            return f"setting WEBHOOK_URL: Telegram refused the webhook address: {said}"
        if isinstance(item, InvalidToken):
            return "setting BOT_TOKEN: Telegram rejected the token"
        if isinstance(item, NetworkError):
            parts = urlsplit(settings.telegram_api_base_url)
            reason = _network_reason(item) or scrub(_first_line(item), settings)
            return f"cannot reach the Telegram Bot API at {parts.scheme}://{parts.netloc}: {reason}"
        if isinstance(item, OSError) and item.errno in LISTEN_ERRORS:
            where = f"{settings.webhook_listen}:{settings.webhook_port}"
            # aiohttp's text repeats the address; the errno's own words are enough.
            reason = os.strerror(item.errno or 0).lower()
            return f"setting WEBHOOK_LISTEN/WEBHOOK_PORT: cannot listen on {where}: {reason}"
    return None


def unexpected(exc: BaseException, settings: Settings | None) -> str:
    """The one line for a failure nobody foresaw (a bug): its kind and message, no traceback."""
    from_database = any(
        type(item).__module__.split(".")[0] in DATABASE_MODULES for item in causes(exc)
    )
    if settings is not None and from_database:
        line = database_failure(exc, settings.database_url)
        if line:
            return line
    message = scrub(_first_line(exc), settings)[:300]
    return (
        f"cppcc-bot stopped: {type(exc).__name__}: {message} "
        "(LOG_LEVEL=DEBUG prints where it happened)"
    )
