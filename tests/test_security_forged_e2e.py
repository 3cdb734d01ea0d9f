"""Security end to end, beyond the authority table: forged buttons that point at other
people's things (another member's draft, a notice never received, an activity not invited to)
are refused and change nothing, and every export staff download is audited (the world and
Watch: tests/security_support.py; the authority table: test_security_authority_e2e.py)."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels import TELEGRAM
from storage.models import AuditLog
from tests.security_support import MEMBER, STAFF, STRANGER, Watch, alert_text, build_world, t
from tests.support import Harness

# -- forged buttons pointing at other people's things ----------------------------------------------


async def test_buttons_cannot_touch_another_members_draft(bot: Harness) -> None:
    """Every draft button, forged with the other member's draft id: refused, nothing changed.
    (Their submitted report: test_reports_member_e2e::
    test_member_cannot_open_another_members_report_by_forged_callback.)"""
    world = await build_world(bot)
    watch = await Watch(bot, MEMBER).start()
    user = bot.emu.user(MEMBER)
    d = world.draft
    forged = [
        f"rep:continue:{d}",
        f"rep:discard:{d}",
        f"rep:discard_yes:{d}",
        f"rep:discard_no:{d}",
        f"rep:edit:{d}",
        f"rep:edit_section:{d}:title",
        f"rep:preview:{d}",
        f"rep:coauthors:{d}",
        f"rep:add_coauthor:{d}:{world.member}",
        f"rep:remove_coauthor:{d}:{world.other}",
        f"rep:confirm:{d}:1",
        f"rep:open:{d}",
        f"rep:revise:{d}",
    ]
    for data in forged:
        update_id = await user.send_callback(1, data)
        assert t("common.stale_button") in await alert_text(bot, update_id), data
    await watch.assert_nothing_changed()


async def test_notice_buttons_of_a_notice_never_received(bot: Harness) -> None:
    """A member who was not a recipient, and a stranger, cannot open, answer or read the answer
    of a notice. (A non-recipient pressing "received": test_notices_e2e::
    test_bad_input_is_refused_and_nothing_is_recorded.)"""
    world = await build_world(bot)
    n = world.notice_done
    # Each under its name and its old one (ntc:my, ntc:acked, ntc:ack): buttons already in chats.
    opened = [f"ntc:mine:{n}", f"ntc:acknowledged:{n}", f"ntc:my:{n}", f"ntc:acked:{n}"]
    answered = [f"ntc:acknowledge:{n}:0", f"ntc:ack:{n}:0"]
    for user_id, forged, refusal in (
        (MEMBER, opened, "common.stale_button"),
        (STRANGER, answered + opened, "common.not_bound"),
    ):
        watch = await Watch(bot, user_id).start()
        user = bot.emu.user(user_id)
        for data in forged:
            update_id = await user.send_callback(1, data)
            assert t(refusal) in await alert_text(bot, update_id), data
        await watch.assert_nothing_changed()


async def test_activity_buttons_for_an_activity_not_invited_to(bot: Harness) -> None:
    """The member is not invited (another sector): the card, leave, check-in, calendar file and
    cancel are refused; a draft activity does not exist for members. (Signing up:
    test_activities_member_e2e::test_deep_link_opens_the_card_and_refuses_the_uninvited_and_forged.)
    """
    world = await build_world(bot)
    watch = await Watch(bot, MEMBER).start()
    user = bot.emu.user(MEMBER)
    a, draft = world.activity, world.draft_activity
    expected = {
        f"act:open:{a}": "activities.not_invited",
        f"act:v:{a}": "activities.not_invited",  # v, l, j: names on messages sent before
        f"act:l:{a}": "activities.outcome_not_invited",
        f"act:leave:{a}": "activities.outcome_not_invited",
        f"act:leave_no_reason:{a}": "common.stale_button",
        f"act:checkin:{a}": "activities.not_invited",
        f"act:calendar:{a}": "activities.not_invited",
        f"act:cancel:{a}": "activities.outcome_not_signed_up",
        f"act:open:{draft}": "common.stale_button",
        f"act:signup:{draft}": "common.stale_button",
        f"act:j:{draft}": "common.stale_button",
        f"act:checkin:{draft}": "common.stale_button",
        f"act:calendar:{draft}": "common.stale_button",
    }
    for data, key in expected.items():
        update_id = await user.send_callback(1, data)
        assert t(key) in await alert_text(bot, update_id), data
    await watch.assert_nothing_changed()


# -- exports: staff only, and on record ------------------------------------------------------------


async def test_every_export_is_audited(bot: Harness) -> None:
    """Reports (xlsx, compilation, one report), an activity roster and notice statistics: each
    file comes with an audit row naming the staff member. (Members are refused every one of them:
    the rows "rrv search and exports", "acs roster, export, check-in code" and "ntc statistics"
    of test_security_authority_e2e; the duty record exports: test_duty_record_e2e.)"""
    world = await build_world(bot)
    staff = bot.emu.user(STAFF)
    exports = {
        "rrv:xlsx:-": ("report.export", ".xlsx"),
        "rrv:compilation:-": ("report.export", ".docx"),
        f"rrv:docx:{world.report}": ("report.export", ".docx"),
        f"acs:export:{world.activity}": ("activity.export", ".xlsx"),
        f"ntc:export:{world.notice_done}": ("notice.export", ".xlsx"),
    }
    for data, (action, suffix) in exports.items():
        count = len(bot.emu.messages_to(STAFF))
        await staff.send_callback(1, data)
        sent = await bot.emu.wait_for(STAFF, lambda m: m.kind == "document", after=count)
        assert (sent.file_name or "").endswith(suffix), data
        async with bot.db.transaction() as s:
            row = await s.scalar(select(AuditLog).order_by(AuditLog.id.desc()).limit(1))
        assert row is not None and row.action == action, data
        assert row.actor_member_id == world.staff
        assert (row.actor_channel, row.actor_external_id) == (TELEGRAM, str(STAFF))
    async with bot.db.transaction() as s:
        rows = list(await s.scalars(select(AuditLog).where(AuditLog.action == "report.export")))
    assert [r.details.get("format") for r in rows] == ["xlsx", "docx", "docx"]
    assert [r.details.get("count") for r in rows] == [1, 1, 1]
    assert rows[2].object_id == str(world.report)
