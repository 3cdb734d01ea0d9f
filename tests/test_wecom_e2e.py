"""WeCom end to end: the real bot with the channel on, a WeCom API emulator, and members posting
encrypted callbacks signed with wechatpy (not our code). On SQLite and PostgreSQL: a roster
member found by mobile writes and is answered through message/send, taps a card button, picks a
numbered choice; a stranger is refused; forged, stale, replayed, repeated and unreadable
callbacks are handled as documented in bot/wecom/callback.py."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.tryout import BotApiEmulator
from bot.tryout.wecom import Sent, WeComEmulator, WeComMember, run_wecom_emulator
from bot.wecom.callback import WeComChannel
from handlers.channel.views import Action, Button, View
from handlers.channel.wecom import TEXT_MAX_BYTES, WeComTurn, split_text
from storage import identities, reports
from storage.identities import Account
from storage.models import ChannelMessage, QuarantinedUpdate
from tests.support import TOKEN, FakeClock, Harness, free_port, fresh_database, make_settings

TOKEN_WECOM = "cppccWeComToken"
AES_KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode().rstrip("=")
REPORT = "鼓楼区老旧小区加装电梯进展缓慢\n部分小区居民意见不一，<协调>难度大 & 资金缺口明显"


@dataclass
class Office:
    bot: Harness
    emu: WeComEmulator
    channel: WeComChannel

    def member(self, userid: str) -> WeComMember:
        return WeComMember(
            callback_url=f"http://127.0.0.1:{self.channel.port}/wecom/callback",
            token=TOKEN_WECOM,
            aes_key=AES_KEY,
            corp_id=self.emu.corp_id,
            agent_id=self.emu.agent_id,
            userid=userid,
        )

    async def received(self, userid: str, count: int) -> list[Sent]:
        """The member's messages once all callbacks so far were handled."""
        await self.channel.idle()
        messages = self.emu.messages(userid)
        assert len(messages) >= count, [m.text for m in messages]
        return messages

    async def stored(self) -> int:
        async with self.bot.db.read() as session:
            return int(await session.scalar(select(func.count()).select_from(ChannelMessage)) or 0)


@pytest.fixture(params=["sqlite", "postgresql"])
async def office(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Office]:
    telegram = BotApiEmulator(TOKEN, per_chat_burst=20)
    await telegram.start()
    try:
        async with (
            run_wecom_emulator() as emu,
            fresh_database(request.param, tmp_path) as database,
        ):
            settings = make_settings(
                telegram,
                database.url,
                tmp_path,
                wecom_corp_id=emu.corp_id,
                wecom_agent_id=emu.agent_id,
                wecom_secret=emu.secret,
                wecom_token=TOKEN_WECOM,
                wecom_aes_key=AES_KEY,
                wecom_api_base=emu.base_url,
                webhook_listen="127.0.0.1",
                webhook_port=free_port(),
            )
            bot = Harness(telegram, database, settings, FakeClock())
            await bot.start()
            assert bot.app is not None and bot.app.bot_data.wecom is not None
            try:
                yield Office(bot, emu, bot.app.bot_data.wecom)
            finally:
                await bot.stop()
    finally:
        await telegram.stop()


async def test_a_roster_member_reports_and_taps_on_wecom(office: Office) -> None:
    member_id = await office.bot.add_member("陈静", "+8613900139000")
    office.emu.add_user("chenjing", "13900139000")
    chen = office.member("chenjing")

    started = time.monotonic()
    answer = await chen.say(REPORT)
    assert (answer.status, answer.body) == (200, "")  # stored and answered before handling
    assert time.monotonic() - started < 1.0
    card = (await office.received("chenjing", 1))[-1]
    # Found by the roster's mobile (no contact sharing) and bound to the WeCom account.
    async with office.bot.db.read() as session:
        account = await identities.account_of(session, member_id, "wecom")
        draft = await reports.open_draft(session, member_id)
    assert account == Account("wecom", "chenjing", "chenjing")
    assert draft is not None and draft.title == "鼓楼区老旧小区加装电梯进展缓慢"
    # The answer is a button card, texts as typed (no HTML).
    assert card.msgtype == "template_card" and card.card is not None
    assert "已把您的消息存为社情民意草稿" in card.text and "<b>" not in card.text
    assert card.card.labels() == ["✍️ 现在补全", "⏰ 稍后再说", "🗑 放弃草稿"]

    # A tap comes back as a template_card_event and runs the same action as on Telegram.
    later = card.card.keys()[1]
    code = office.emu.response_code_for_tap("chenjing", card.card.task_id)
    assert (await chen.tap(card.card.task_id, later, code)).status == 200
    messages = await office.received("chenjing", 2)
    assert "草稿已保存" in messages[-1].text

    # More than a card holds: numbered choices; the reply "2" presses the second.
    assert office.bot.app is not None
    turn = WeComTurn(
        office.channel,
        Account("wecom", "chenjing", "chenjing"),
        viewer=None,
        dialog=None,
        locale="zh-CN",
    )
    discard = Action.decode(card.card.keys()[2])
    assert discard is not None
    many = [Button(f"选项{i}", Action.of("common", "noop", i)) for i in range(1, 8)]
    await turn.reply(View(["请选择一项"], [many[:1], [Button("放弃", discard)], many[1:]]))
    numbered = (await office.received("chenjing", 3))[-1]
    assert numbered.msgtype == "text"
    assert "回复 1：选项1" in numbered.text and "回复 2：放弃" in numbered.text
    await chen.say("2")
    confirm = (await office.received("chenjing", 4))[-1]
    assert "确定放弃草稿" in confirm.text and confirm.card is not None
    yes = confirm.card.keys()[confirm.card.labels().index("确认放弃")]
    code = office.emu.response_code_for_tap("chenjing", confirm.card.task_id)
    await chen.tap(confirm.card.task_id, yes, code)
    assert "草稿已放弃" in (await office.received("chenjing", 5))[-1].text
    async with office.bot.db.read() as session:
        assert await reports.open_draft(session, member_id) is None  # discarded


async def test_hello_gets_an_answer_and_a_stranger_the_refusal(office: Office) -> None:
    await office.bot.add_member("陈静", "+8613900139000")
    office.emu.add_user("chenjing", "13900139000")
    office.emu.add_user("stranger", "13700000000")
    await office.member("chenjing").say("你好")
    hello = await office.received("chenjing", 1)
    assert hello[-1].text.strip()

    await office.member("stranger").say("你好")
    refusal = (await office.received("stranger", 1))[-1]
    assert "没有在委员名册中找到" in refusal.text and "OFFICE-PHONE-0591" in refusal.text
    async with office.bot.db.read() as session:
        assert await identities.member_of(session, "wecom", "stranger") is None


async def test_forged_stale_replayed_and_repeated_callbacks(office: Office) -> None:
    await office.bot.add_member("陈静", "+8613900139000")
    office.emu.add_user("chenjing", "13900139000")
    chen = office.member("chenjing")

    verified, echo = await chen.verify_url("echo-5u9")
    assert (verified.status, verified.body) == (200, echo)
    assert (await chen.say("伪造", bad_signature=True)).status == 403
    assert (await chen.say("过期", timestamp=int(time.time()) - 301)).status == 403
    assert (await chen.post(chen.text_xml("一次"), nonce="n-once")).status == 200
    assert (await chen.post(chen.text_xml("重放"), nonce="n-once")).status == 403
    await office.channel.idle()
    assert await office.stored() == 1

    # WeCom's retries of one message (same MsgId): stored and answered once.
    repeated = chen.text_xml("建议增设社区养老服务站点，解决老人就餐难问题", msg_id=424242)
    before = len(office.emu.messages("chenjing"))
    answers = await asyncio.gather(*(chen.post(repeated) for _ in range(3)))
    assert [a.status for a in answers] == [200, 200, 200]
    await office.channel.idle()
    assert await office.stored() == 2
    answer = office.emu.messages("chenjing")[before:]
    # One answer: the draft's card once (its text may come first when it does not fit a card).
    assert sum(1 for m in answer if m.card is not None) == 1 and len(answer) <= 2

    # A signed message that is no XML is quarantined; the next one is handled as usual.
    assert (await chen.post("<xml><FromUserName>chen\x01</xml")).status == 200
    async with office.bot.db.read() as session:
        kept = (await session.scalars(select(QuarantinedUpdate))).all()
    assert [(q.channel, q.kind) for q in kept] == [("wecom", "unreadable")]
    handled = len(office.emu.messages("chenjing"))
    await chen.say("你好")
    assert len(await office.received("chenjing", handled + 1)) == handled + 1


def test_long_texts_are_split_within_wecom_bytes() -> None:
    text = ("政协委员😀<b>&" * 300) + "\n" + "x" * 3000
    pieces = split_text(text)
    assert all(len(p.encode()) <= TEXT_MAX_BYTES for p in pieces)
    assert len(pieces) > 2
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    assert split_text("短") == ["短"]
