"""The WeCom API client against the WeCom emulator: one shared token, renewed before expiry and
when refused; messages, cards and their one-time update; the silent per-member limit; mobiles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.tryout.wecom import WeComEmulator, run_wecom_emulator
from bot.wecom.client import WeComClient, WeComError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def emu(clock: Clock) -> AsyncIterator[WeComEmulator]:
    async with run_wecom_emulator(clock=clock) as emulator:
        emulator.add_user("chenjing", "13900139000")
        yield emulator


@pytest.fixture
async def client(emu: WeComEmulator, clock: Clock) -> AsyncIterator[WeComClient]:
    wecom = WeComClient(
        base_url=emu.base_url,
        corp_id=emu.corp_id,
        secret=emu.secret,
        agent_id=emu.agent_id,
        clock=clock,
    )
    yield wecom
    await wecom.close()


async def test_one_token_is_shared_and_renewed_before_it_expires(
    emu: WeComEmulator, client: WeComClient, clock: Clock
) -> None:
    await asyncio.gather(*(client.send_text("chenjing", f"第{i}条") for i in range(10)))
    assert emu.token_calls == 1
    assert sorted(m.text for m in emu.messages("chenjing")) == sorted(f"第{i}条" for i in range(10))
    clock.now += 7200 - 200  # inside the renewal margin, still valid at WeCom
    await client.send_text("chenjing", "again")
    assert emu.token_calls == 2


@pytest.mark.parametrize("how", ["expired", "revoked"])
async def test_a_refused_token_is_renewed_and_the_call_repeated(
    emu: WeComEmulator, client: WeComClient, how: str
) -> None:
    await client.send_text("chenjing", "first")
    if how == "expired":
        emu.expire_tokens()  # 42001
    else:
        emu._tokens.clear()  # 40014: WeCom no longer knows it
    await client.send_text("chenjing", "second")
    assert [m.text for m in emu.messages("chenjing")] == ["first", "second"]
    assert emu.token_calls == 2


async def test_over_thirty_a_minute_messages_vanish_without_an_error(
    emu: WeComEmulator, client: WeComClient, clock: Clock
) -> None:
    for i in range(35):
        await client.send_text("chenjing", str(i))  # no error for any of them
    assert len(emu.messages("chenjing")) == 30
    assert emu.dropped["chenjing"] == 5
    clock.now += 61
    await client.send_text("chenjing", "next minute")
    assert emu.messages("chenjing")[-1].text == "next minute"


async def test_cards_are_updated_once_by_response_code(
    emu: WeComEmulator, client: WeComClient
) -> None:
    card = {
        "card_type": "button_interaction",
        "main_title": {"title": "关于召开全体会议的通知"},
        "task_id": "t-1",
        "button_list": [{"text": "收到", "style": 1, "key": "notices:ack:7"}],
    }
    sent = await client.send_template_card("chenjing", card)
    assert sent.response_code
    assert emu.card("chenjing", "t-1").keys() == ["notices:ack:7"]
    await client.update_card_button("chenjing", sent.response_code, "✅ 已回执")
    assert emu.card("chenjing", "t-1").replaced_button == "✅ 已回执"
    with pytest.raises(WeComError) as used:
        await client.update_card_button("chenjing", sent.response_code, "again")
    assert used.value.code == 40058


async def test_users_by_mobile_and_unknown_userids(client: WeComClient) -> None:
    assert await client.userid_of_mobile("13900139000") == "chenjing"
    assert await client.userid_of_mobile("13900139999") is None
    with pytest.raises(WeComError) as unknown:
        await client.send_text("nobody", "hello")
    assert unknown.value.unreachable and unknown.value.code == 81013
    with pytest.raises(WeComError) as missing:
        await client.call("GET", "user/get", userid="nobody")
    assert missing.value.code == 60111


async def test_a_wrong_secret_is_reported(emu: WeComEmulator) -> None:
    wrong = WeComClient(base_url=emu.base_url, corp_id=emu.corp_id, secret="x", agent_id=1)
    try:
        with pytest.raises(WeComError) as refused:
            await wrong.send_text("chenjing", "hi")
        assert refused.value.code == 40001
    finally:
        await wrong.close()
