"""Property-based bad input: random text, callback data, button presses and files, fed to the
real bot through the emulator as a member and as staff. The bot must answer every update, never
let an exception escape a handler, and leave the database consistent.

FUZZ_EXAMPLES (default 20) and FUZZ_STEPS (default 12) set the size; CI uses the defaults, a
longer run is e.g. `FUZZ_EXAMPLES=300 FUZZ_STEPS=30 .venv/bin/pytest tests/test_fuzz_e2e.py`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Coroutine
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import text

from bot.tryout import BotApiEmulator, SentMessage, SimUser
from storage.models import Role
from tests.support import TOKEN, Harness

ANSWERS = {
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
    "answerCallbackQuery",
    "sendDocument",
    "sendPhoto",
    "sendMediaGroup",
}
NASTY = [
    "\u200b\u200b",
    "\u202eمرحبا بالعالم",
    "🤖" * 300,
    "字" * 5000,
    "<b>bold</b> <script>alert(1)</script>",
    "'; DROP TABLE member; --",
    "\x01\x02\x7f control",
    "</pre>&amp;&lt;",
    "2026-13-45 25:61",
    "-1",
    "0",
    "99999999999999999999",
    "/start act_999999",
    "/start inv_forged",
    "/cancel",
]
TEXTS = st.one_of(
    st.sampled_from(NASTY),
    st.text(min_size=1, max_size=80).filter(lambda s: s.strip() != ""),
)
CALLBACKS = st.one_of(
    st.text(min_size=1, max_size=64),
    st.builds(
        lambda feature, action, arg: f"{feature}:{action}:{arg}",
        st.sampled_from(
            ["rep", "rrv", "duty", "act", "ntc", "lang", "rec", "x", "rev", "acts", "notice"]
        ),
        st.sampled_from(
            [
                *("open", "set", "signup", "cancel", "ack", "page", "del", "adopt", "x"),
                *("confirm", "discard_yes", "edit_section", "list", "decide", "mine", "member"),
            ]
        ),
        st.one_of(st.integers(-5, 10**9).map(str), st.text(max_size=10)),
    ),
)
FILES = st.tuples(
    st.binary(max_size=4096),
    st.sampled_from(["a.xlsx", "b.csv", "c.pdf", "d.exe", "e.txt", "noext", "名册.xlsx"]),
    st.sampled_from(["application/octet-stream", "text/csv", "application/pdf"]),
)


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """Flood limits off: the fuzzer sends far faster than a person, and is about input."""
    emu = BotApiEmulator(TOKEN, enforce_limits=False)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class BotFuzz(RuleBasedStateMachine):
    """One user poking the bot; rules run on the test's event loop from hypothesis's thread."""

    bot: ClassVar[Harness]
    user: ClassVar[SimUser]
    loop: ClassVar[asyncio.AbstractEventLoop]
    errors: ClassVar[ErrorLog]

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def _answers(self) -> int:
        uid = self.user.user_id
        return sum(
            1
            for c in self.bot.emu.calls
            if c.method in ANSWERS and (c.chat_id == uid or c.method == "answerCallbackQuery")
        )

    def _act(self, action: Coroutine[Any, Any, Any]) -> None:
        before = self._answers()

        async def go() -> None:
            await action
            for _ in range(200):
                if self._answers() > before:
                    return
                await asyncio.sleep(0.025)
            raise AssertionError(
                "the bot did not answer:\n" + self.bot.emu.transcript(self.user.user_id)[-1500:]
            )

        self._run(go())

    def _last(self, predicate: Any) -> SentMessage | None:
        for message in reversed(self.bot.emu.messages_to(self.user.user_id)):
            if not message.deleted and predicate(message):
                return message
        return None

    @rule(message=TEXTS)
    def send_text(self, message: str) -> None:
        self._act(self.user.send_text(message))

    @rule(data=CALLBACKS)
    def forged_callback(self, data: str) -> None:
        last = self._last(lambda m: True)
        self._act(self.user.send_callback(last.message_id if last else 1, data))

    @rule(index=st.integers(0, 30))
    def tap_button(self, index: int) -> None:
        last = self._last(lambda m: bool(m.buttons()))
        if last is None:
            return
        buttons = last.buttons()
        self._act(self.user.tap(last, buttons[index % len(buttons)]))

    @rule(index=st.integers(0, 30))
    def press_menu(self, index: int) -> None:
        last = self._last(lambda m: bool(m.keyboard_texts()))
        if last is None:
            self._act(self.user.send_command("menu"))
            return
        labels = last.keyboard_texts()
        self._act(self.user.send_text(labels[index % len(labels)]))

    @rule(file=FILES)
    def send_file(self, file: tuple[bytes, str, str]) -> None:
        data, name, mime = file
        self._act(self.user.send_document(data or b"\0", name, mime))

    @rule(data=st.binary(min_size=1, max_size=2048), caption=st.one_of(st.none(), TEXTS))
    def send_photo(self, data: bytes, caption: str | None) -> None:
        self._act(self.user.send_photo(data, caption))

    @invariant()
    def no_handler_raised(self) -> None:
        assert not self.errors.records, self.errors.records[0].getMessage()


def _consistent(bot: Harness) -> None:
    async def check() -> None:
        async with bot.db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA integrity_check"))).scalar() == "ok"
            assert list(await conn.execute(text("PRAGMA foreign_key_check"))) == []

    asyncio.run_coroutine_threadsafe(check(), BotFuzz.loop).result(timeout=30)


@pytest.mark.parametrize("role", [Role.member, Role.staff])
async def test_random_input_never_breaks_the_bot(bot: Harness, role: Role) -> None:
    await bot.add_member("模糊测试", "+8613900139000", telegram_user_id=1701, role=role)
    await bot.add_member("另一位委员", "+8613900139001", telegram_user_id=1702)
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    BotFuzz.bot, BotFuzz.user, BotFuzz.errors = bot, bot.emu.user(1701), errors
    BotFuzz.loop = asyncio.get_running_loop()
    config = settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20")),
        stateful_step_count=int(os.environ.get("FUZZ_STEPS", "12")),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=os.environ.get("FUZZ_SEED") is None,
        database=None,
        # The bot keeps its state between examples, so a replay is not the same run: report
        # the first failing sequence as generated, without shrinking.
        phases=(Phase.explicit, Phase.generate),
    )
    try:
        await asyncio.to_thread(run_state_machine_as_test, BotFuzz, settings=config)
        await asyncio.to_thread(_consistent, bot)
    finally:
        logging.getLogger().removeHandler(errors)
