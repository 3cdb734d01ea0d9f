"""The same update delivered twice has one effect and gets one reply."""

from __future__ import annotations

import asyncio

from tests.support import Harness


async def test_redelivered_update_is_handled_once(bot: Harness) -> None:
    await bot.add_member("陈静", "+8613900139000", telegram_user_id=1301)
    user = bot.emu.user(1301)
    update_id = await user.send_command("help")
    await bot.emu.wait_for(1301, "本助手可以")
    original = next(c for c in bot.emu.calls if c.method == "getUpdates" and c.result)
    raw = next(u for u in original.result if u["update_id"] == update_id)
    bot.emu.inject_update(raw)
    await user.send_command("menu")  # a later update proves the redelivery was consumed
    await bot.emu.wait_for(1301, "请选择下方菜单")
    await asyncio.sleep(0.2)
    helps = [m for m in bot.emu.messages_to(1301) if "本助手可以" in (m.text or "")]
    assert len(helps) == 1
