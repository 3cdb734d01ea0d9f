"""An operator's mistake at the command line is one line on stderr and a non-zero exit, never a
traceback: settings in the wrong form, a database that is not there, Telegram out of reach or
refusing the token, a webhook Telegram would refuse. Each case runs the real `cppcc-bot` in a
process of its own, as an operator would."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from bot.settings import load_settings
from bot.tryout import BotApiEmulator
from tests.support import PG_URL, free_port, postgres_unavailable_reason, run_cli

UNREACHABLE_PG = "postgresql+asyncpg://u@127.0.0.1:1/x"
PG_HOST = PG_URL.rsplit("/", 1)[0]
WRONG_TOKEN = "654321:WRONG-TOKEN-abcdef"


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The single stderr line of a failed command (and that it failed with code)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == code, result.stderr
    return lines[0]


async def needs_postgres() -> None:
    reason = await postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)


# --- settings in the wrong form -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("123,456", [123, 456]), (" 123 , 456 ", [123, 456]), ("[123, 456]", [123, 456]), ("", [])],
)
def test_admin_ids_as_a_comma_list_a_json_list_or_empty(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, expected: list[int]
) -> None:
    monkeypatch.setenv("ADMIN_IDS", value)
    assert load_settings(_env_file=None).admin_ids == expected
    result = run_cli(tmp_path, "db", "upgrade", ADMIN_IDS=value)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "123;456",
            "setting ADMIN_IDS: '123;456' is not a Telegram user id; write the ids separated "
            "by commas, e.g. 123456789,987654321",
        ),
        (
            "[123, 456",
            "setting ADMIN_IDS: is not a JSON list; write 123456789,987654321 or "
            "[123456789, 987654321]",
        ),
        ("0", "setting ADMIN_IDS: '0' is not a Telegram user id;"),
        # Hostile: markup, control characters, emoji, a huge value: quoted, cut, one line.
        ("<b>1</b>\x1b[31m,2", "setting ADMIN_IDS: '<b>1</b>\\x1b[31m' is not a Telegram"),
        ("👍" * 5000, "setting ADMIN_IDS: '" + "👍" * 40 + "' is not a Telegram user id"),
    ],
)
def test_admin_ids_in_a_wrong_form_say_the_form(tmp_path: Path, value: str, expected: str) -> None:
    line = one_line(run_cli(tmp_path, "db", "upgrade", ADMIN_IDS=value), 2)
    assert line.startswith(expected)
    assert len(line) < 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            '["economy", "livelihood"',
            "setting REPORT_CATEGORIES: is not a JSON list; write economy,livelihood or "
            '["economy", "livelihood"]',
        ),
        ("economy,economy", "setting REPORT_CATEGORIES: categories must be distinct"),
        ("", "setting REPORT_CATEGORIES: must name at least one category, e.g. economy,livelihood"),
        (
            "[1, 2]",
            'setting REPORT_CATEGORIES: must be a list of texts, e.g. ["economy", "livelihood"]',
        ),
        ("x" * 61, "setting REPORT_CATEGORIES: each category must be 1 to 60 characters"),
    ],
)
def test_a_bad_report_categories_value_is_one_line(
    tmp_path: Path, value: str, expected: str
) -> None:
    assert one_line(run_cli(tmp_path, "db", "upgrade", REPORT_CATEGORIES=value), 2) == expected


def test_report_categories_as_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORT_CATEGORIES", "economy, 民生 ,<b>x</b>")
    assert load_settings(_env_file=None).report_categories == ["economy", "民生", "<b>x</b>"]


# --- the database ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["db", "upgrade"], ["run"]])
def test_unreachable_postgresql_is_one_line(tmp_path: Path, command: list[str]) -> None:
    result = run_cli(tmp_path, *command, database_url=UNREACHABLE_PG, BOT_TOKEN=WRONG_TOKEN)
    assert one_line(result, 1) == (
        "setting DATABASE_URL: cannot reach PostgreSQL at 127.0.0.1:1: connection refused"
    )


@pytest.mark.parametrize("command", [["db", "upgrade"], ["run"]])
async def test_a_database_that_does_not_exist_is_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    await needs_postgres()
    url = f"{PG_HOST}/no_such_db"
    result = await asyncio.to_thread(
        run_cli, tmp_path, *command, database_url=url, BOT_TOKEN=WRONG_TOKEN
    )
    line = one_line(result, 1)
    assert line.startswith(
        "setting DATABASE_URL: database 'no_such_db' does not exist on PostgreSQL at "
    )
    assert "(create it first: createdb -h " in line


def test_db_upgrade_says_what_it_created_then_that_it_was_current(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    created = first.stdout.strip()
    assert created.startswith("created the schema at revision ")
    assert created.endswith(" tables)")
    revision = created.removeprefix("created the schema at revision ").split(" ")[0]
    second = run_cli(tmp_path, "db", "upgrade")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().startswith(
        f"the schema was already current at revision {revision} ("
    )
    assert created.split("(")[1] == second.stdout.strip().split("(")[1]  # same table count


async def test_db_upgrade_on_an_empty_postgresql_database(tmp_path: Path) -> None:
    await needs_postgres()
    import asyncpg

    from tests.support import _asyncpg_dsn

    name = f"t_cli_{tmp_path.name[-8:].lower().replace('-', '_')}"
    admin = await asyncpg.connect(_asyncpg_dsn(PG_URL))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{PG_HOST}/{name}"
        first = await asyncio.to_thread(run_cli, tmp_path, "db", "upgrade", database_url=url)
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("created the schema at revision ")
        second = await asyncio.to_thread(run_cli, tmp_path, "db", "upgrade", database_url=url)
        assert second.stdout.startswith("the schema was already current at revision ")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def test_a_database_with_foreign_tables_is_left_alone(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "cli.db") as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER)")
    line = one_line(run_cli(tmp_path, "db", "upgrade"), 1)
    assert line.startswith(
        "setting DATABASE_URL: the database already has 1 tables but no cppcc-bot schema version"
    )


def test_a_file_that_is_no_sqlite_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "cli.db").write_text("<html>not a database</html>" * 100)
    line = one_line(run_cli(tmp_path, "db", "upgrade"), 1)
    assert (
        line == f"setting DATABASE_URL: SQLite database {tmp_path}/cli.db: file is not a database"
    )


# --- Telegram -------------------------------------------------------------------------------------


def test_telegram_unreachable_at_run_is_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    result = run_cli(
        tmp_path,
        "run",
        BOT_TOKEN=WRONG_TOKEN,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}/bot",
    )
    assert one_line(result, 1) == (
        f"cannot reach the Telegram Bot API at http://127.0.0.1:{port}: connection refused "
        "(check the network, or TELEGRAM_API_BASE_URL)"
    )
    assert WRONG_TOKEN not in result.stderr


async def test_a_token_telegram_rejects_is_one_line(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    result = await asyncio.to_thread(
        run_cli,
        tmp_path,
        "run",
        BOT_TOKEN=WRONG_TOKEN,  # the emulator answers 401 to any token but its own
        TELEGRAM_API_BASE_URL=emulator.base_url,
        TELEGRAM_FILE_BASE_URL=emulator.base_file_url,
    )
    assert one_line(result, 2) == (
        "setting BOT_TOKEN: Telegram rejected the token (401 Unauthorized); copy it again "
        "from @BotFather"
    )
    assert WRONG_TOKEN not in result.stderr and "WRONG-TOKEN" not in result.stderr
    assert [call.method for call in emulator.state.calls] == ["getMe"]


async def test_a_base_url_that_is_no_bot_api_is_one_line(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    base = emulator.base_url.removesuffix("/bot") + "/"  # "/bot" forgotten: 404 for getMe
    result = await asyncio.to_thread(
        run_cli, tmp_path, "run", BOT_TOKEN=emulator.token, TELEGRAM_API_BASE_URL=base
    )
    assert one_line(result, 2).startswith("setting TELEGRAM_API_BASE_URL: http://127.0.0.1:")
    assert emulator.token not in result.stderr


# --- the webhook ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"WEBHOOK_URL": "http://bot.example.org", "WEBHOOK_SECRET": "s3cret"},
            "setting WEBHOOK_URL: must start with https:// (Telegram posts updates only to "
            "https addresses)",
        ),
        (
            {"WEBHOOK_URL": "https://bot.example.org", "WEBHOOK_SECRET": "has space"},
            "setting WEBHOOK_SECRET: Telegram accepts 1 to 256 characters of A-Z a-z 0-9 _ - "
            "(it has other characters)",
        ),
        (
            {"WEBHOOK_URL": "https://bot.example.org", "WEBHOOK_SECRET": "a" * 257},
            "setting WEBHOOK_SECRET: Telegram accepts 1 to 256 characters of A-Z a-z 0-9 _ - "
            "(it has 257 characters)",
        ),
        (
            {"WEBHOOK_URL": "https://bot.example.org", "WEBHOOK_SECRET": "<b>秘密</b>\x00👍"},
            "setting WEBHOOK_SECRET: Telegram accepts 1 to 256 characters of A-Z a-z 0-9 _ - "
            "(it has other characters)",
        ),
        (
            {"WEBHOOK_URL": "https://bot.example.org"},
            "setting WEBHOOK_SECRET: is required for --webhook but not set",
        ),
        (
            {"WEBHOOK_URL": "https://bot.example.org/?x=1", "WEBHOOK_SECRET": "ok"},
            "setting WEBHOOK_URL: must be an address without ?query or #fragment",
        ),
    ],
)
def test_a_webhook_telegram_would_refuse_is_one_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    if "\x00" in env.get("WEBHOOK_SECRET", ""):
        # A NUL cannot travel in the environment; the .env file carries it.
        (tmp_path / ".env").write_text(f"WEBHOOK_SECRET={env.pop('WEBHOOK_SECRET')}\n")
    result = run_cli(tmp_path, "run", "--webhook", BOT_TOKEN=WRONG_TOKEN, **env)
    assert one_line(result, 2) == expected


def test_a_plain_http_webhook_is_allowed_for_a_self_hosted_bot_api() -> None:
    settings = load_settings(
        _env_file=None,
        webhook_url="http://10.0.0.5:8080",
        webhook_secret="s3cret",
        telegram_api_base_url="http://10.0.0.2:8081/bot",
    )
    settings.check_webhook()  # no exception: a local Bot API server may post to http


# --- the .env file --------------------------------------------------------------------------------


def test_an_unknown_key_in_env_file_is_a_warning_with_the_closest_setting(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "TIMEZON=Asia/Shanghai\nadmin_id=123\nlog_level=INFO\nexport NOT_A_THING=1\n"
    )
    # The process environment is not checked: it holds many unrelated variables.
    result = run_cli(tmp_path, "db", "upgrade", TIMEZONE_TYPO_IN_ENV="1", ADMIN_IDZ="1")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "warning: .env: TIMEZON is not a setting; did you mean TIMEZONE?",
        "warning: .env: admin_id is not a setting; did you mean ADMIN_IDS?",
        "warning: .env: NOT_A_THING is not a setting (it is ignored)",
    ]


def test_an_env_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes("OFFICE_CONTACT=政协机关\n".encode("gb18030"))
    line = one_line(run_cli(tmp_path, "db", "upgrade"), 2)
    assert line == ".env: is not UTF-8 text (save it as UTF-8)"


def test_env_example_holds_every_setting_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    from dotenv import dotenv_values

    from bot.settings import Settings, unknown_env_file_keys

    example = Path(__file__).resolve().parent.parent / ".env.example"
    assert unknown_env_file_keys(example) == []
    keys = {key.lower() for key in dotenv_values(example)}
    assert keys == set(Settings.model_fields)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    settings = load_settings(_env_file=example)
    assert settings.admin_ids == []
    assert settings.report_categories[0] == "economy"


async def test_a_webhook_port_in_use_is_one_line(tmp_path: Path, emulator: BotApiEmulator) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = await asyncio.to_thread(
            run_cli,
            tmp_path,
            "run",
            "--webhook",
            BOT_TOKEN=emulator.token,
            TELEGRAM_API_BASE_URL=emulator.base_url,
            TELEGRAM_FILE_BASE_URL=emulator.base_file_url,
            WEBHOOK_URL=f"http://127.0.0.1:{port}",  # plain http: the emulator is no Telegram
            WEBHOOK_SECRET="s3cret",
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
        )
    # One line: also no "Unclosed client session" from the half-started bot.
    assert one_line(result, 1) == (
        f"setting WEBHOOK_LISTEN/WEBHOOK_PORT: cannot listen on 127.0.0.1:{port}: "
        "address already in use"
    )


async def test_a_webhook_telegram_refuses_is_one_line(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    port = free_port()
    emulator.faults.fail_next(
        "setWebhook", error_code=400, description="Bad Request: bad webhook: <b>IP</b> is private"
    )
    result = await asyncio.to_thread(
        run_cli,
        tmp_path,
        "run",
        "--webhook",
        BOT_TOKEN=emulator.token,
        TELEGRAM_API_BASE_URL=emulator.base_url,
        TELEGRAM_FILE_BASE_URL=emulator.base_file_url,
        WEBHOOK_URL=f"http://127.0.0.1:{port}",
        WEBHOOK_SECRET="s3cret",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
        LOG_LEVEL="WARNING",  # the start's INFO lines aside, the failure is the one line
    )
    # The bot had started (services, scheduler) and stops again without a traceback.
    assert one_line(result, 1) == (
        "setting WEBHOOK_URL: Telegram refused the webhook address: Bad webhook: <b>ip</b> is "
        "private"
    )


def test_a_webhook_url_with_the_path_gets_a_warning(tmp_path: Path) -> None:
    closed = free_port()
    result = run_cli(
        tmp_path,
        "run",
        "--webhook",
        BOT_TOKEN=WRONG_TOKEN,
        WEBHOOK_URL="https://bot.example.org/telegram/",
        WEBHOOK_SECRET="s3cret",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(free_port()),
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{closed}/bot",  # stops it after the warning
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "warning: WEBHOOK_URL ends in /telegram, which the bot adds itself: Telegram is told to "
        "post to https://bot.example.org/telegram/telegram",
        f"cannot reach the Telegram Bot API at http://127.0.0.1:{closed}: connection refused "
        "(check the network, or TELEGRAM_API_BASE_URL)",
    ]


def test_a_hostile_key_in_env_file_is_quoted_in_its_warning(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("<b>TIME\x1b[2J</b>=1\n")
    result = run_cli(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stderr
    assert result.stderr.splitlines() == [
        "warning: .env: '<b>TIME\\x1b[2J</b>' is not a setting (it is ignored)"
    ]
