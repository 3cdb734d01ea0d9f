"""Settings errors are one clear line; the command line imports rosters and manages staff."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from tests.support import run_cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "roster-sample.xlsx"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TIMEZONE": "Mars/Base"}, "setting TIMEZONE: unknown time zone"),
        ({"BOT_TOKEN": "not-a-token"}, "setting BOT_TOKEN: must look like"),
        ({"DATABASE_URL": "mysql://x"}, "setting DATABASE_URL: must start with"),
        ({"WEBHOOK_PORT": "99999"}, "setting WEBHOOK_PORT:"),
        ({"DEFAULT_LOCALE": "fr"}, "setting DEFAULT_LOCALE: must be one of"),
    ],
)
def test_bad_setting_is_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_run_without_token_stops_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "run")
    assert result.returncode == 2
    assert result.stderr.strip() == "setting BOT_TOKEN: is required to run the bot but not set"
    assert "Traceback" not in result.stderr


def test_cli_roster_import_twice_then_staff_and_invite(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "roster", "import", str(SAMPLE))
    assert first.returncode == 0, first.stderr
    assert "新增 30" in first.stdout
    second = run_cli(tmp_path, "roster", "import", str(SAMPLE))
    assert "新增 0，更新 0，未变 30" in second.stdout

    phone = "13805910001"
    staff = run_cli(tmp_path, "staff", "add", phone)
    unknown = run_cli(tmp_path, "staff", "add", "13000000000")
    assert unknown.returncode == 1 and "no member" in unknown.stderr
    invite = run_cli(tmp_path, "invite", phone, BOT_USERNAME="cppcc_bot")
    assert invite.returncode == 0
    assert "https://t.me/cppcc_bot?start=inv_" in invite.stdout
    assert "now staff" in staff.stdout or "already staff" in staff.stdout


def test_cli_reports_rejected_rows(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "roster", "import", str(ROOT / "samples" / "roster-bad-rows.csv"))
    assert result.returncode == 0
    assert "第 3 行" in result.stdout
    assert "拒绝 5" in result.stdout
