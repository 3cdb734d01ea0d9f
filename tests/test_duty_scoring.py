"""Scoring rules: the shipped defaults, an override file, and every way a file can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from storage.duty_record import Facts, score
from storage.scoring import DEFAULT_RULES_FILE, Metric, ScoringRulesError, load_rules


def test_defaults_are_documented_and_loaded() -> None:
    rules = load_rules()
    assert rules.source == str(DEFAULT_RULES_FILE)
    assert rules.each(Metric.report_adopted) == 3
    assert rules.each(Metric.activity_absent) == -2
    assert rules.coauthor_factor == 1 and rules.on_time_hours == 72
    assert (rules.award_members, rules.award_reports, rules.award_liaison_points) == (80, 60, 10)
    text = DEFAULT_RULES_FILE.read_text(encoding="utf-8")
    for metric in Metric:
        assert f"\n{metric.key} = " in text, f"{metric.value} is not documented"


def test_an_override_changes_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[reports]\nadopted = 4.5\n[awards]\nmembers = 5\n", encoding="utf-8")
    rules = load_rules(path)
    assert rules.each(Metric.report_adopted) == 4.5
    assert rules.each(Metric.report_instructed) == 5  # default kept
    assert rules.award_members == 5 and rules.source == str(path)


def test_points_follow_the_rules() -> None:
    facts = Facts(reports_submitted=3, co_submitted=1, activities_absent=2, notices_on_time=3)
    result = score(facts, load_rules())
    lines = {line.metric: line for line in result.lines}
    assert lines[Metric.report_submitted].coauthored == 1
    assert lines[Metric.activity_absent].points == -4
    assert result.total == 3 - 4 + 1.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[reports]\nadoptd = 3\n", "[reports] adoptd is not a known rule"),
        ("[bonus]\nx = 1\n", "unknown section [bonus]"),
        ("[reports]\nadopted = 'three'\n", "[reports] adopted = 'three' must be a number"),
        ("[reports]\nadopted = true\n", "must be a number"),
        ("[reports]\ncoauthor_factor = 2\n", "coauthor_factor = 2 must be a number from 0 to 1"),
        ("[awards]\nmembers = 2.5\n", "must be a whole number"),
        ("[reports\nadopted = 3\n", "is not valid TOML"),
        ("reports = 3\n", "[reports] must be a table"),
    ],
)
def test_a_bad_file_is_refused_with_one_clear_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ScoringRulesError) as caught:
        load_rules(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_rules_file_stops_start_up(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, scoring_rules_file=str(missing))
    assert str(caught.value) == (
        f"setting SCORING_RULES_FILE: scoring rules file {missing} not found"
    )
    good = tmp_path / "good.toml"
    good.write_text("[activities]\nabsent = -3\n", encoding="utf-8")
    assert load_settings(_env_file=None, scoring_rules_file=str(good)).scoring_rules_file == good
    assert load_settings(_env_file=None, scoring_rules_file="").scoring_rules_file is None
