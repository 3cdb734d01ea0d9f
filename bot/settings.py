"""Runtime settings, read once from the environment and `.env` (pydantic-settings)."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from storage.scoring import ScoringRulesError, load_rules

SUPPORTED_LOCALES = ("zh-CN", "en")
# Telegram's rule for setWebhook's secret_token.
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# The Bot API Telegram runs; a self-hosted Bot API server has other rules (it may post to http).
OFFICIAL_API_HOST = "api.telegram.org"
LIST_EXAMPLES = {
    "report_categories": ["economy", "livelihood"],
    "report_attachment_types": ["pdf", "docx"],
}
T = TypeVar("T")


class SettingsError(Exception):
    """A setting is missing or wrong; the message names it in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Required to run against Telegram; management commands and the console work without it.
    bot_token: SecretStr | None = None
    bot_username: str = ""
    database_url: str = "sqlite+aiosqlite:///./data/cppcc.db"
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_file_base_url: str = "https://api.telegram.org/file/bot"
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh-CN"
    # NoDecode: lists are read by the validators below (a JSON list or comma-separated), not by
    # pydantic-settings' JSON decoding, whose failure names no setting and no cause.
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    office_contact: str = "政协机关办公室 0591-00000000"
    # The office's name as it signs documents: author and company of every Word file, the
    # compilation's cover.
    office_name: str = Field(default="政协机关办公室", min_length=1, max_length=100)
    webhook_url: str = ""
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_secret: SecretStr = SecretStr("")
    # A client must send a whole request (headers and body) within this many seconds, so slow
    # or stalled connections cannot pile up on the webhook server.
    webhook_read_timeout: float = Field(default=10.0, gt=0, le=300)
    log_level: str = "INFO"
    data_dir: Path = Path("./data")
    # Conversations idle longer than this are closed; drafts stay in the database.
    dialog_timeout_minutes: int = Field(default=30, ge=1)
    # Invite links stop working this many days after they were made (and after one use).
    invite_ttl_days: int = Field(default=7, ge=1, le=365)
    # Delivery (outbox) limits.
    delivery_rate_per_second: float = Field(default=30.0, gt=0)
    delivery_per_chat_interval: float = Field(default=1.0, ge=0)
    delivery_group_per_minute: int = Field(default=20, ge=1)
    delivery_max_attempts: int = Field(default=5, ge=1)
    delivery_batch_size: int = Field(default=100, ge=1)
    # Delivery worker: the share of delivery_rate_per_second it aims for (headroom for direct
    # replies and network jitter, so it does not run into 429s), and how long a claimed message
    # may go without its worker's heartbeat before another worker takes it over (crash recovery).
    delivery_rate_margin: float = Field(default=0.95, gt=0, le=1)
    delivery_lease_seconds: int = Field(default=60, ge=5)
    # Telegram unreachable (network errors, 5xx, timeouts): how long a message keeps waiting,
    # counted from when it was due, before it is marked failed with the last reason (hours).
    delivery_outage_horizon_hours: float = Field(default=24.0, gt=0)
    # Notices: how often the sender's progress message may be edited (seconds).
    notice_progress_seconds: float = Field(default=3.0, gt=0)
    # Opinion reports: the category keys offered (a key with a text in reports.toml is shown
    # translated, any other key as typed), length limits per answer, and attachments.
    report_categories: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "economy",
            "livelihood",
            "ecology",
            "culture_tourism",
            "taiwan_hk_macau",
            "social_governance",
            "other",
        ],
    )
    report_title_max_chars: int = Field(default=60, ge=5, le=200)
    # Sections stay below Telegram's 4096-character message limit so a preview always fits.
    report_section_max_chars: int = Field(default=2000, ge=50, le=3500)
    report_max_attachments: int = Field(default=6, ge=0, le=20)
    # The Bot API lets bots download files up to 20 MB.
    report_max_attachment_mb: int = Field(default=10, ge=1, le=20)
    report_attachment_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["jpg", "jpeg", "png", "pdf", "doc", "docx", "xls", "xlsx", "txt"]
    )
    # Reminders and schedules (local times, HH:MM). Nothing non-urgent is sent in quiet hours.
    quiet_hours_start: str = "22:00"
    quiet_hours_end: str = "07:30"
    reminder_day_before_at: str = "17:00"
    reminder_before_start_minutes: int = Field(default=120, ge=5)
    reminder_deadline_hours_before: int = Field(default=24, ge=1)
    weekly_schedule_weekday: int = Field(default=0, ge=0, le=6)  # 0 = Monday
    weekly_schedule_at: str = "08:00"
    staff_digest_at: str = "08:30"
    notice_remind_after_hours: int = Field(default=24, ge=1)
    notice_remind_max: int = Field(default=2, ge=0)
    scan_interval_seconds: int = Field(default=60, ge=5)
    # Activities: check-in opens this many minutes before the start and closes this many minutes
    # after it; a shared location counts when it is within this many metres of the venue.
    activity_checkin_before_minutes: int = Field(default=60, ge=0)
    activity_checkin_after_minutes: int = Field(default=120, ge=0)
    activity_checkin_radius_meters: int = Field(default=500, ge=10)
    # The office's official order of the sectors (界别), as names separated by commas: staff pick
    # sectors in this order (inviting to an activity, sending a notice); sectors not named here
    # follow, in their usual order. Empty: the usual order (by name).
    sector_order: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Parallel update handling (updates of one chat stay in order).
    concurrent_updates: int = Field(default=32, ge=1)
    # Duty record: a TOML file overriding the shipped scoring rules (storage/scoring_default.toml);
    # unset = the defaults. Read at start-up: a bad file stops the bot with one line.
    scoring_rules_file: Path | None = None
    # WeCom (企业微信) self-built app (docs/wecom.md). The channel is on when corp id, secret,
    # token and AES key are all set; its callback is served on WEBHOOK_LISTEN:WEBHOOK_PORT.
    wecom_corp_id: str = ""
    wecom_agent_id: int = Field(default=0, ge=0)
    wecom_secret: SecretStr = SecretStr("")
    wecom_token: SecretStr = SecretStr("")
    wecom_aes_key: SecretStr = SecretStr("")
    wecom_api_base: str = "https://qyapi.weixin.qq.com"

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        head, sep, tail = raw.partition(":")
        if not sep or not head.isdigit() or not tail:
            raise ValueError("must look like 123456:ABC-DEF (digits, a colon, then the secret)")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str) -> str:
        # Telegram itself needs https (checked by check_webhook, which knows which Bot API
        # server is used); a self-hosted Bot API server may post to plain http.
        value = value.strip()
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an https:// address that Telegram can reach")
        if parts.query or parts.fragment:
            # The bot appends its path (/telegram) to this address.
            raise ValueError("must be an address without ?query or #fragment")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr) -> SecretStr:
        # Telegram refuses setWebhook with any other secret_token; the value is not echoed.
        raw = value.get_secret_value()
        if raw and not WEBHOOK_SECRET_PATTERN.fullmatch(raw):
            others = re.search(r"[^A-Za-z0-9_-]", raw) is not None
            found = "other characters" if others else f"{len(raw)} characters"
            raise ValueError(
                f"Telegram accepts 1 to 256 characters of A-Z a-z 0-9 _ - (it has {found})"
            )
        return value

    @field_validator("telegram_api_base_url", "telegram_file_base_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(
                f"must be an http(s) address like {OFFICIAL_API_HOST}'s, not {value!r}"
            )
        return value.strip()

    @field_validator("wecom_agent_id", mode="before")
    @classmethod
    def _wecom_agent(cls, value: object) -> object:
        # Empty in .env.example until the office has created its app.
        return 0 if isinstance(value, str) and not value.strip() else value

    @field_validator("wecom_api_base")
    @classmethod
    def _wecom_api(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(
                f"must be an http(s) address like https://qyapi.weixin.qq.com, not {value!r}"
            )
        return value.strip().rstrip("/")

    @field_validator("wecom_aes_key")
    @classmethod
    def _wecom_aes_key(cls, value: SecretStr) -> SecretStr:
        # WeCom's EncodingAESKey: 43 characters of base64 (a 32-byte AES key without its "=").
        raw = value.get_secret_value().strip()
        if raw and (len(raw) != 43 or re.fullmatch(r"[A-Za-z0-9+/]{43}", raw) is None):
            raise ValueError(
                "must be the 43 letters and digits of the app's EncodingAESKey "
                f"(it has {len(raw)} characters)"
            )
        return SecretStr(raw)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        ids = []
        for item in _split_list(value, example=["123456789", "987654321"], json_texts=False):
            text = str(item).strip()
            if not text.isascii() or not text.isdigit() or int(text) == 0:
                raise ValueError(
                    f"{text[:40]!r} is not a Telegram user id; write the ids separated by "
                    "commas, e.g. 123456789,987654321"
                )
            ids.append(int(text))
        return ids

    @field_validator("report_categories", "report_attachment_types", mode="before")
    @classmethod
    def _text_list(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        example = LIST_EXAMPLES[info.field_name or ""]
        items = _split_list(value, example=example)
        if not all(isinstance(item, str) for item in items):
            raise ValueError(f"must be a list of texts, e.g. {json.dumps(example)}")
        return items

    @field_validator(
        "quiet_hours_start",
        "quiet_hours_end",
        "reminder_day_before_at",
        "weekly_schedule_at",
        "staff_digest_at",
    )
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, sep, minutes = value.strip().partition(":")
        if (
            not (sep and hours.isdigit() and minutes.isdigit())
            or int(hours) > 23
            or int(minutes) > 59
        ):
            raise ValueError(f"{value!r} is not a time like 07:30")
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _db_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// (async drivers)"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (try Asia/Shanghai)") from exc
        return value

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("report_categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        # Stored per report (60 characters) and offered as buttons: short, distinct, not blank.
        cleaned = [item.strip() for item in value]
        if not cleaned:
            raise ValueError("must name at least one category, e.g. economy,livelihood")
        if any(not item or len(item) > 60 for item in cleaned):
            raise ValueError("each category must be 1 to 60 characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("categories must be distinct")
        return cleaned

    @field_validator("sector_order", mode="before")
    @classmethod
    def _sector_order(cls, value: object) -> object:
        # Written as a list of names, not JSON: "中共,民革,民盟" (Chinese commas work too).
        if isinstance(value, str):
            return [name.strip() for name in re.split(r"[,，、]", value) if name.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return upper

    @field_validator("scoring_rules_file", mode="before")
    @classmethod
    def _scoring_rules(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            load_rules(Path(str(value)))
        except ScoringRulesError as exc:
            raise ValueError(str(exc)) from None
        return value

    def token(self) -> str:
        """The bot token; SettingsError when it is not set."""
        if self.bot_token is None:
            raise SettingsError("setting BOT_TOKEN: is required to run the bot but not set")
        return self.bot_token.get_secret_value()

    @property
    def wecom_enabled(self) -> bool:
        """The WeCom channel is on: every value its callback and API calls need is set."""
        return all(
            (
                self.wecom_corp_id.strip(),
                self.wecom_secret.get_secret_value(),
                self.wecom_token.get_secret_value(),
                self.wecom_aes_key.get_secret_value(),
            )
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def in_sector_order(self, items: Sequence[T], name: Callable[[T], str]) -> list[T]:
        """Sectors (named by name()) in SECTOR_ORDER; those it does not name after them, in the
        order they came."""
        rank: dict[str, int] = {}
        for index, sector in enumerate(self.sector_order):
            rank.setdefault(sector, index)  # named twice: the first place counts
        unranked = len(self.sector_order)
        # sorted() is stable: the unnamed keep their order among themselves.
        return sorted(items, key=lambda item: rank.get(name(item), unranked))

    def check_webhook(self) -> None:
        """What `run --webhook` needs beyond the single values: SettingsError when not met."""
        if not self.webhook_url:
            raise SettingsError("setting WEBHOOK_URL: is required for --webhook but not set")
        if not self.webhook_secret.get_secret_value():
            raise SettingsError("setting WEBHOOK_SECRET: is required for --webhook but not set")
        official = urlsplit(self.telegram_api_base_url).hostname == OFFICIAL_API_HOST
        if official and urlsplit(self.webhook_url).scheme != "https":
            raise SettingsError(
                "setting WEBHOOK_URL: must start with https:// (Telegram posts updates only to "
                "https addresses)"
            )


def _split_list(value: str, *, example: list[str], json_texts: bool = True) -> list[object]:
    """A list setting as written in the environment: a JSON list, or items separated by commas
    (an empty value is an empty list)."""
    text = value.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            items = None
        if not isinstance(items, list):
            as_json = json.dumps(example) if json_texts else f"[{', '.join(example)}]"
            raise ValueError(f"is not a JSON list; write {','.join(example)} or {as_json}")
        return items
    return [item.strip() for item in text.split(",") if item.strip()]


def unknown_env_file_keys(path: Path | None = None) -> list[str]:
    """A warning for each key in the .env file that is no setting, with the closest setting.

    Only the file is checked: the process environment holds many unrelated variables."""
    env_file = Path(str(Settings.model_config.get("env_file") or ".env")) if path is None else path
    try:
        keys = list(dotenv_values(env_file, encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return []  # unreadable: reading the settings says why
    prefix = str(Settings.model_config.get("env_prefix") or "").upper()
    known: list[str] = []
    for name, field in Settings.model_fields.items():
        known.append(prefix + name.upper())
        if isinstance(field.validation_alias, str):
            known.append(field.validation_alias.upper())
    warnings = []
    for key in keys:
        if key.upper() in known:
            continue
        guess = difflib.get_close_matches(key.upper(), known, n=1)
        hint = f"; did you mean {guess[0]}?" if guess else " (it is ignored)"
        # Quoted when it holds control characters, so it cannot disturb the terminal.
        shown = key[:60] if key[:60].isprintable() else repr(key[:60])
        warnings.append(f"{env_file}: {shown} is not a setting{hint}")
    return warnings


def load_settings(**overrides: object) -> Settings:
    """Read settings; a bad or missing value raises SettingsError with one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SourceError as exc:
        # A value pydantic-settings could not decode before validation (complex types).
        field = re.search(r'field "([^"]+)"', str(exc))
        name = field.group(1).upper() if field else "settings"
        raise SettingsError(
            f"setting {name}: cannot be read (see .env.example for its form)"
        ) from None
    except UnicodeDecodeError:
        raise SettingsError(".env: is not UTF-8 text (save it as UTF-8)") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        env_name = name.split(".")[0].upper()
        reason = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            reason = "is required but not set"
        raise SettingsError(f"setting {env_name}: {reason}") from None
