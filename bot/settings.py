"""Runtime settings, read once from the environment and `.env` (pydantic-settings)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.scoring import ScoringRulesError, load_rules

SUPPORTED_LOCALES = ("zh-CN", "en")
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
    admin_ids: list[int] = Field(default_factory=list)
    office_contact: str = "政协机关办公室 0591-00000000"
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
    report_categories: list[str] = Field(
        default_factory=lambda: [
            "economy",
            "livelihood",
            "ecology",
            "culture_tourism",
            "taiwan_hk_macau",
            "social_governance",
            "other",
        ],
        min_length=1,
    )
    report_title_max_chars: int = Field(default=60, ge=5, le=200)
    # Sections stay below Telegram's 4096-character message limit so a preview always fits.
    report_section_max_chars: int = Field(default=2000, ge=50, le=3500)
    report_max_attachments: int = Field(default=6, ge=0, le=20)
    # The Bot API lets bots download files up to 20 MB.
    report_max_attachment_mb: int = Field(default=10, ge=1, le=20)
    report_attachment_types: list[str] = Field(
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
        # Telegram itself needs https; a self-hosted Bot API server may post to plain http.
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an https:// address that Telegram can reach")
        return value

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


def load_settings(**overrides: object) -> Settings:
    """Read settings; a bad or missing value raises SettingsError with one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        env_name = name.split(".")[0].upper()
        reason = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            reason = "is required but not set"
        raise SettingsError(f"setting {env_name}: {reason}") from None
