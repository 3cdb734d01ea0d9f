"""`BotApiEmulator`: the emulator put together, and what a test or the console does with it.

It composes the parts (shared state, files, flood limits and faults, the update queue, the
simulated users, the method handler groups and the HTTP server) and offers the test-facing API:
users, the bot's messages and calls, waiting for them, blocking, injected errors and faults,
injected updates, listeners and transcripts. See the package docstring for an example.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable

from bot.tryout.entities import SentMessage, short
from bot.tryout.files import FileStore, StoredFile
from bot.tryout.limits import Fault, Faults, FloodLimits
from bot.tryout.messages import MessageMethods
from bot.tryout.profile import ProfileMethods
from bot.tryout.protocol import JSON, ApiCall
from bot.tryout.server import ApiServer
from bot.tryout.state import EmulatorState, EmulatorStats, IdSource
from bot.tryout.updates import UpdateQueue
from bot.tryout.users import BLOCKED_DESCRIPTION, SimUser, Users


class BotApiEmulator:
    """A local Telegram Bot API for tests (see the package docstring)."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "cppcc_test_bot",
        enforce_limits: bool = True,
        global_rate: float = 30.0,
        global_burst: int = 30,
        per_chat_rate: float = 1.0,
        per_chat_burst: int = 5,
        group_per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
        ids: IdSource | None = None,
    ) -> None:
        self.state = EmulatorState(token, bot_username, clock)
        # Shared ids (the console's store): several emulators on one bot database never hand
        # out an update id twice (the bot would drop it as a redelivery) or clash on messages.
        self.state.ids = ids
        self.files = FileStore(token)
        self.flood = FloodLimits(
            enforce=enforce_limits,
            global_rate=global_rate,
            global_burst=global_burst,
            per_chat_rate=per_chat_rate,
            per_chat_burst=per_chat_burst,
            group_per_minute=group_per_minute,
            clock=clock,
        )
        self.faults = Faults()
        self.updates = UpdateQueue(self.state)
        self.users = Users(self.state, self.files, self.updates)
        self.profile = ProfileMethods(self.state)
        self.server = ApiServer(
            self.state,
            faults=self.faults,
            users=self.users,
            files=self.files,
            method_groups=[
                self.profile.methods(),
                self.updates.methods(),
                MessageMethods(self.state, self.files, self.flood).methods(),
                self.files.methods(),
            ],
        )
        self.base_url = ""
        self.base_file_url = ""
        self._returned: dict[int, set[int]] = {}
        self._returned_calls: set[int] = set()

    # ---------------------------------------------------------------- what the parts hold

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def bot_id(self) -> int:
        return self.state.bot_id

    @property
    def bot_username(self) -> str:
        return self.state.bot_username

    @property
    def clock(self) -> Callable[[], float]:
        return self.state.clock

    @property
    def enforce_limits(self) -> bool:
        return self.flood.enforce

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def calls(self) -> list[ApiCall]:
        """Every Bot API request the bot made, in order, with its answer."""
        return self.state.calls

    @property
    def stats(self) -> EmulatorStats:
        return self.state.stats

    @property
    def unknown_methods(self) -> list[str]:
        return self.server.unknown_methods

    @property
    def internal_errors(self) -> list[str]:
        return self.server.internal_errors

    @property
    def callback_answers(self) -> dict[str, JSON]:
        """Callback query id -> the parameters of its answerCallbackQuery."""
        return self.state.callback_answers

    @property
    def commands(self) -> dict[str, list[JSON]]:
        """ "scope|language" -> the commands set for it."""
        return self.profile.commands

    @property
    def menu_buttons(self) -> dict[int | None, JSON]:
        return self.profile.menu_buttons

    @property
    def webhook_url(self) -> str | None:
        return self.updates.webhook_url

    @property
    def webhook_secret(self) -> str | None:
        return self.updates.webhook_secret

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed (or delivered to the webhook)."""
        return self.updates.pending

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port; sets `base_url` and `base_file_url`."""
        await self.server.start()
        self.base_url = f"http://127.0.0.1:{self.port}/bot"
        self.base_file_url = f"http://127.0.0.1:{self.port}/file/bot"
        self.updates.open()
        self.state.closing = False

    async def stop(self) -> None:
        """Answer pending long polls, stop webhook delivery and close the server."""
        self.state.closing = True
        self.state.notify()
        await self.updates.close()
        await self.server.stop()

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- users and messages

    def user(
        self,
        user_id: int,
        first_name: str = "测试用户",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> SimUser:
        """The simulated user ``user_id`` (created, or updated with the names given)."""
        return self.users.user(
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to ``chat_id``, oldest first, in their current state."""
        return self.state.messages_to(chat_id)

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """The bot message ``message_id`` in ``chat_id``, if the bot sent one."""
        return self.state.message(chat_id, message_id)

    def transcript(self, chat_id: int) -> str:
        """What happened in ``chat_id``, one line per event ("->" user, "<-" bot, "!!" error)."""
        chat = self.state.chats.get(chat_id)
        if chat is None or not chat.log:
            return "  (nothing)"
        return "\n".join(f"  {line}" for line in chat.log)

    def callback_unanswered(self, query_id: str) -> bool:
        """True while the callback query has not been answered (answerCallbackQuery)."""
        return query_id in self.state.pending_callbacks

    async def wait_for(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | str | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the emulator's own wait
        after: int | None = None,
    ) -> SentMessage:
        """Wait for a bot message to ``chat_id`` that matches ``predicate``.

        A string predicate matches a substring of the text or caption (as shown, or as sent).
        Without ``after``, the earliest matching message not returned by an earlier
        ``wait_for`` for this chat is returned; with ``after``, the earliest matching one at
        index ``>= after`` in `messages_to`.  Raises AssertionError with the chat's transcript
        on timeout.
        """
        match = _as_predicate(predicate)
        returned = self._returned.setdefault(chat_id, set())

        def find() -> int | None:
            messages = self.messages_to(chat_id)
            for index in range(after or 0, len(messages)):
                if after is None and index in returned:
                    continue
                if match(messages[index]):
                    return index
            return None

        index = await self.state.wait_until(find, timeout)
        if index is None:
            wanted = predicate if isinstance(predicate, str) else getattr(predicate, "__name__", "")
            raise AssertionError(
                f"no bot message to chat {chat_id} matching {wanted!r} within {timeout}s\n"
                f"transcript of chat {chat_id}:\n{self.transcript(chat_id)}"
            )
        returned.add(index)
        return self.messages_to(chat_id)[index]

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the emulator's own wait
    ) -> ApiCall:
        """Wait for an answered call of ``method`` (earliest not returned before)."""
        calls = self.state.calls

        def find() -> int | None:
            for index, call in enumerate(calls):
                if index in self._returned_calls or call.ok is None:
                    continue
                if call.method.lower() == method.lower() and (predicate is None or predicate(call)):
                    return index
            return None

        index = await self.state.wait_until(find, timeout)
        if index is None:
            recent = "\n".join(f"  {_describe_call(c)}" for c in calls[-20:])
            raise AssertionError(f"no {method} call within {timeout}s; last calls:\n{recent}")
        self._returned_calls.add(index)
        return calls[index]

    def add_listener(self, callback: Callable[[str, SentMessage], None]) -> None:
        """Call ``callback(event, message)`` on "sent", "edited" and "deleted" (console mode)."""
        self.state.listeners.append(callback)

    def add_answer_listener(self, callback: Callable[[int, JSON], None]) -> None:
        """Call ``callback(chat_id, params)`` when the bot answers a press (its pop-up)."""
        self.state.answer_listeners.append(callback)

    def set_message_lookup(self, lookup: Callable[[int, int], SentMessage | None]) -> None:
        """Where a bot message this emulator did not send is found (another console sent it),
        so it can be pressed, edited or deleted here."""
        self.state.lookup = lookup

    def add_call_listener(self, callback: Callable[[ApiCall], None]) -> None:
        """Call ``callback(call)`` after every successful Bot API call (load generators)."""
        self.server.call_listeners.append(callback)

    # ---------------------------------------------------------------- what Telegram does

    def block(
        self, chat_id: int, *, description: str = BLOCKED_DESCRIPTION, send_update: bool = False
    ) -> None:
        """The user blocked the bot: calls for ``chat_id`` answer 403 ``description``.

        ``send_update`` also queues the my_chat_member update Telegram sends then.
        """
        self.users.block(chat_id, description=description, send_update=send_update)

    def unblock(self, chat_id: int, *, send_update: bool = False) -> None:
        """The user unblocked the bot."""
        self.users.unblock(chat_id, send_update=send_update)

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id`` if given) with an error."""
        self.faults.fail_next(
            method,
            error_code=error_code,
            description=description,
            retry_after=retry_after,
            chat_id=chat_id,
            times=times,
        )

    def inject_fault(
        self,
        fault: Fault,
        *,
        methods: Iterable[str] | None = None,
        chat_id: int | None = None,
        times: int = 1,
        delay: float = 10.0,
    ) -> None:
        """Meet the next ``times`` calls (of ``methods``, to ``chat_id``) with ``fault``."""
        self.faults.inject_fault(fault, methods=methods, chat_id=chat_id, times=times, delay=delay)

    def outage(
        self,
        fault: Fault = Fault.server_error,
        *,
        methods: Iterable[str] | None = None,
        delay: float = 10.0,
    ) -> None:
        """Telegram unreachable: every call (of ``methods``) meets ``fault`` until `end_outage`."""
        self.faults.outage(fault, methods=methods, delay=delay)

    def end_outage(self) -> None:
        self.faults.end_outage()

    def inject_update(self, raw: JSON) -> int:
        """Queue an arbitrary update; returns its update_id.

        An update with its own ``update_id`` is a redelivery: it is served even when the bot's
        offset already confirmed that id, and confirmed only once it was served.
        """
        return self.updates.inject(raw)

    def register_file(
        self,
        data: bytes,
        *,
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Store a file that getFile and the download route will serve."""
        return self.files.register(data, kind=kind, file_name=file_name, mime_type=mime_type)

    def file(self, file_id: str) -> StoredFile | None:
        """A stored file by its file_id."""
        return self.files.get(file_id)


def _as_predicate(
    predicate: Callable[[SentMessage], bool] | str | None,
) -> Callable[[SentMessage], bool]:
    if predicate is None:
        return lambda _message: True
    if isinstance(predicate, str):
        needle = predicate
        return lambda m: needle in (m.text or "") or needle in (m.source_text or "")
    return predicate


def _describe_call(call: ApiCall) -> str:
    outcome = (
        "pending"
        if call.ok is None
        else "ok"
        if call.ok
        else f"{call.error_code} {call.description}"
    )
    params = {k: short(str(v), 60) for k, v in call.params.items()}
    return f"{call.method} {params} -> {outcome}"


@contextlib.asynccontextmanager
async def run_emulator(
    token: str = "123456:TEST-TOKEN",
    *,
    bot_username: str = "cppcc_test_bot",
    enforce_limits: bool = True,
    global_rate: float = 30.0,
    global_burst: int = 30,
    per_chat_rate: float = 1.0,
    per_chat_burst: int = 5,
    group_per_minute: int = 20,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[BotApiEmulator]:
    """A started `BotApiEmulator`, stopped on exit."""
    emulator = BotApiEmulator(
        token,
        bot_username=bot_username,
        enforce_limits=enforce_limits,
        global_rate=global_rate,
        global_burst=global_burst,
        per_chat_rate=per_chat_rate,
        per_chat_burst=per_chat_burst,
        group_per_minute=group_per_minute,
        clock=clock,
    )
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
