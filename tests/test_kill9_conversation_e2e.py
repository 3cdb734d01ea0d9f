"""Kill -9 at random points while members talk to the bot: a conversation and a backlog
survive the crash (the bot process, the killer and the members: tests/kill9_support.py).

What must hold afterwards:
* conversation: every answer the bot acknowledged is in the draft, word for word, every field
  holds the member's own text, and /start offers to continue the draft;
* backlog: updates fetched (and so confirmed to Telegram) but not yet handled when the bot
  was killed come back from the inbox: all but those inside a handler are answered, none
  twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest
from sqlalchemy import insert

from bot.settings import Settings
from bot.tryout import SentMessage, SimUser
from storage import reports
from storage.db import Database
from storage.models import Member, Role, utcnow
from tests.kill9_support import (
    CONCURRENT_UPDATES,
    HELP,
    ROUNDS,
    SEED,
    BotProcess,
    Person,
    Sent,
    bind_many,
    bot_fixture,  # noqa: F401 (the fixture `bot`)
    database_fixture,  # noqa: F401 (the fixture `database`)
    settle,
)
from tests.support import bind_telegram

# -- a. a conversation ----------------------------------------------------------------------

SUBMIT = "📝 提交社情民意"
CONTINUE = "▶️ 继续填写"
MARKERS = (
    ("第 1/5 步", "title"),
    ("第 2/5 步", "category"),
    ("第 3/5 步", "situation"),
    ("第 4/5 步", "problem"),
    ("第 5/5 步", "suggestions"),
    ("或文件作为附件", "attachments"),  # reached by Edit → Attachments only
    ("未完成的社情民意草稿", "offer"),
    ("请核对您的社情民意信息", "preview"),
)


def _screen(message: SentMessage) -> tuple[str, SentMessage] | None:
    text = message.text or ""
    for marker, step in MARKERS:
        if marker in text:
            return step, message
    return None


class Writer(Person):
    """A member writing an opinion report in the guided dialog."""

    def __init__(self, bot: BotProcess, user: SimUser, n: int) -> None:
        super().__init__(bot, user)
        self.answers = {
            "title": f"关于老旧小区加装电梯的建议（{n}号）",
            "situation": f"全市老旧小区约三百个，{n}号委员调研了十二个。\n第二行：居民意见分歧。",
            "problem": f"协调难、资金难、维护难 — <{n}> & “引号” 😀",
            "suggestions": f"一、建立协商机制；二、财政补贴；三、物业托管。（{n}）",
        }
        self.acked: dict[str, str] = {}  # step -> the answer the bot went on from

    async def _do(self, send: Callable[[], Awaitable[int]], tap: bool = False) -> Any:
        def answered(sent: Sent) -> Any:
            screen = self.next_message(_screen)
            if screen is not None:
                return screen
            if tap and self.callback_answer(sent):
                return ("stale", None)  # a refusal popup and no new question
            return None

        return await self.act(send, answered)

    def _answer(self, step: str, message: SentMessage) -> tuple[str, Callable[[], Awaitable[int]]]:
        """What the member does for the question on the screen."""
        user = self.user
        if step == "category":
            data = message.callback_for(message.buttons()[0])
            return data, lambda: user.send_callback(message.message_id, data)
        text = self.answers[step]
        return text, lambda: user.send_text(text)

    async def write(self, step_done: asyncio.Event) -> None:
        """Answer whatever the screen asks until the attachments question (the text is done)."""
        screen = await self._do(lambda: self.user.send_text(SUBMIT))
        while screen[0] not in ("attachments", "preview"):
            step, message = screen
            if step == "stale":  # as the popup says: open the menu again
                screen = await self._do(lambda: self.user.send_text(SUBMIT))
            elif step == "offer":
                screen = await self._do(partial(self.user.tap, message, CONTINUE), tap=True)
            else:
                answer, send = self._answer(step, message)
                screen = await self._do(send, tap=step == "category")
                if screen[0] not in (step, "stale"):
                    self.acked[step] = answer  # the bot went on to the next question
                    step_done.set()

    async def come_back(self) -> None:
        """/start offers the draft; continuing shows it whole."""
        screen = await self._do(lambda: self.user.send_command("start"))
        while screen[0] != "preview":
            if screen[0] == "offer":
                screen = await self._do(partial(self.user.tap, screen[1], CONTINUE), tap=True)
            else:
                screen = await self._do(lambda: self.user.send_command("start"))


async def _killer(bot: BotProcess, kills: int, trigger: asyncio.Event) -> None:
    """Kill right after a member's step was acknowledged (plus a random few milliseconds)."""
    for _ in range(kills):
        trigger.clear()
        await trigger.wait()
        await asyncio.sleep(bot.rng.uniform(0.0, 0.08))
        await bot.crash_and_restart()


async def test_conversation_keeps_every_acknowledged_answer(
    bot: BotProcess, database: Database
) -> None:
    await bot.start()
    writers = []
    async with database.transaction() as session:
        for n in range(4):
            user_id = 8_100_000 + n
            member = Member(name=f"委员{n}", phone=f"+86139000000{n:02d}")
            session.add(member)
            await session.flush()
            await bind_telegram(session, member.id, user_id)
            writers.append((member.id, Writer(bot, bot.emu.user(user_id, f"委员{n}"), n)))

    trigger = asyncio.Event()
    killer = asyncio.create_task(_killer(bot, ROUNDS, trigger))
    await asyncio.gather(*(w.write(trigger) for _, w in writers))
    # Keep the members busy (coming back to their drafts) until every kill happened.
    while not killer.done():
        await asyncio.gather(*(w.come_back() for _, w in writers))
        trigger.set()
    await killer
    await asyncio.gather(*(w.come_back() for _, w in writers))

    first_category = Settings.model_fields["report_categories"].get_default(
        call_default_factory=True
    )[0]
    async with database.transaction() as session:  # open_draft locks the row
        for member_id, writer in writers:
            view = await reports.open_draft(session, member_id)
            transcript = bot.emu.transcript(writer.user.user_id)
            assert view is not None, f"seed {SEED}: member {member_id}'s draft is gone"
            assert not view.missing, f"seed {SEED}: draft incomplete: {view.missing}"
            assert view.category == first_category
            for step, answer in writer.acked.items():
                if step != "category":
                    assert view.value(step) == answer, (
                        f"seed {SEED}: member {member_id}'s acknowledged {step} is not in the"
                        f" draft: {view.value(step)!r} != {answer!r}\n{transcript}"
                    )
            # Nothing foreign or mangled: every field holds one of the member's own answers
            # (a crash between moving to the next question and sending it can make a member's
            # repeated answer land in the next field, as the preview then shows).
            for step in writer.answers:
                assert view.value(step) in writer.answers.values(), (
                    f"seed {SEED}: member {member_id}'s {step}: {view.value(step)!r}\n{transcript}"
                )
    assert not bot.dropped(), f"seed {SEED}: dropped without a crash: {bot.dropped()}"
    await bot.check_probes()
    assert len(bot.kills) == ROUNDS


# -- b. a backlog fetched, then a kill --------------------------------------------------------


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_backlog_fetched_before_a_kill_is_not_lost(
    bot: BotProcess, database: Database
) -> None:
    """PTB confirms a batch to Telegram as soon as it has queued it: without the inbox a kill
    would lose everything fetched and not yet handled. (SQLite only, to keep CI short: the
    inbox's PostgreSQL statements run in every other scenario.)"""
    members = 250
    first = 8_400_000
    now = utcnow()
    async with database.transaction() as session:
        await session.execute(
            insert(Member),
            [
                {
                    "name": f"委员{n}", "phone": f"+86135{n:08d}", "role": Role.member,
                    "reachable": True, "active": True, "created_at": now, "updated_at": now,
                }
                for n in range(members)
            ],
        )  # fmt: skip
        await bind_many(session, {f"+86135{n:08d}": first + n for n in range(members)})
    for n in range(members):  # while the bot is down
        await bot.emu.user(first + n).send_command("help")

    def answered() -> Counter[int]:
        return Counter(
            n
            for n in range(members)
            for m in bot.emu.messages_to(first + n)
            if HELP in (m.text or "")
        )

    await bot.start()
    await settle(bot, "the first answers", partial(_at_least, answered, 1 + bot.rng.randrange(40)))
    await bot.kill()  # most of the backlog is fetched (and confirmed) by now, little handled
    fetched = len(bot.served)
    await bot.start()
    await settle(bot, "the drain", partial(_at_least, answered, members - CONCURRENT_UPDATES))
    await asyncio.sleep(0.5)  # anything answered twice would show by now
    copies = answered()
    print(f"backlog: {fetched} fetched before the kill, {members - len(copies)} lost")
    assert max(copies.values()) == 1, f"seed {SEED}: answered twice"
    assert len(copies) >= members - CONCURRENT_UPDATES, f"seed {SEED}: {len(copies)} answered"


async def _at_least(count: Callable[[], Counter[int]], n: int) -> bool:
    return len(count()) >= n
