"""Names and other typed values reach members and staff exactly as typed, whatever they contain.

Messages are Telegram HTML. A member named like ``<script>…`` or ``李‹四`` once got an error on
every /start, and a roster import whose new sector was called ``<i>经济&界`` was reported to
staff as failed: the values went into the HTML unescaped and Telegram (here the emulator, which
parses as Telegram does) refused the message.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.i18n import Texts
from storage.models import Role
from tests.support import Harness

TEXTS = Texts("zh-CN")
MEMBER, STAFF = 1001, 2001
HOSTILE_NAME = "<b>李‹四</b> & <script>x</script>"
PHONE = "+8613800138001"
SECTOR = "<i>经济&界"
COMMITTEE = "提案<委员会>"


async def test_a_member_with_markup_in_the_name_binds_and_is_greeted_by_name(
    bot: Harness,
) -> None:
    await bot.add_member(HOSTILE_NAME, PHONE)
    user = bot.emu.user(MEMBER)
    await user.send_contact(PHONE)
    bound = await bot.emu.wait_for(MEMBER, "身份绑定成功")
    assert bound.text is not None and bound.text.startswith(f"{HOSTILE_NAME}委员")
    await user.send_command("start")
    again = await bot.emu.wait_for(MEMBER, "请选择下方菜单", after=1)
    assert again.text == TEXTS.plain("zh-CN", "start.welcome_back", name=HOSTILE_NAME)


async def test_a_roster_import_with_markup_and_many_rejected_rows_is_reported_in_full(
    bot: Harness,
) -> None:
    await bot.add_member("王干部", "+8615000150000", role=Role.staff, telegram_user_id=STAFF)
    staff = bot.emu.user(STAFF)
    rows = ["姓名,手机号,界别,专委会,联系点,工作单位", f"张三,13800138011,{SECTOR},{COMMITTEE},,"]
    # 60 rows with a bad phone number each: every one is listed with the value typed (long,
    # emoji-heavy, with markup), more than one message can hold.
    bad = "<b>&" + "😀" * 90
    rows += [f"委员{i},{bad}{i},,,," for i in range(60)]
    await staff.send_command("roster")
    await bot.emu.wait_for(STAFF, "请发送委员名册文件")
    await staff.send_document("\n".join(rows).encode(), "名册.csv", "text/csv")
    first = await bot.emu.wait_for(STAFF, "名册导入完成")
    last = await bot.emu.wait_for(STAFF, "另有 10 行被拒绝")
    sent = bot.emu.messages_to(STAFF)
    report = "\n".join(m.text or "" for m in sent[sent.index(first) : sent.index(last) + 1])
    assert "新增 1" in report and "拒绝 60" in report
    assert SECTOR in report and COMMITTEE in report
    assert report.count(f"手机号格式不正确 {bad}") == 50
    assert not any("出了点问题" in (m.text or "") for m in sent)


async def test_a_reminder_for_an_activity_with_markup_in_its_title_arrives(bot: Harness) -> None:
    # Reminders go through the outbox: the delivery worker renders them, escaping there too.
    member_id = await bot.add_member("陈静", "+8613900139000", telegram_user_id=1401)
    title, place = "<b>电梯</b> & 协商 <微>", "东街 <3 号> 联系点"
    start = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
    await bot.add_signed_up_activity(member_id, title=title, place=place, starts_at=start)
    scheduler = bot.scheduler()
    bot.clock.now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)  # 17:00 local, the day before
    assert await scheduler.scan() == 1
    reminder = await bot.emu.wait_for(1401, "活动提醒")
    assert f"「{title}」" in (reminder.text or "") and place in (reminder.text or "")
