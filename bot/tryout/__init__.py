"""Trying the bot out without Telegram: a local Bot API emulator, the console, demo data.

This package is for development, tests and benchmarks. It is installed with the project so
that ``cppcc-bot console`` (chat with the real bot in a terminal, offline) and
``cppcc-bot demo-data`` (a demo roster to be someone in the console) work from an installed
copy, but the runtime never imports it: only `bot.cli` does, inside those two commands. Nothing
under ``bot/`` (outside this package), ``handlers/`` or ``storage/`` may import from here.

The emulator
------------
`BotApiEmulator` is a small aiohttp server on ``127.0.0.1`` (ephemeral port).  The *real*
python-telegram-bot ``Application`` talks to it over HTTP, exactly as it would to Telegram::

    async with run_emulator() as emu:
        app = (
            ApplicationBuilder()
            .token(emu.token)
            .base_url(emu.base_url)
            .base_file_url(emu.base_file_url)
            .build()
        )
        ...  # add handlers, then start polling (or set a webhook)
        alice = emu.user(1001, "Alice")          # a Telegram user in a private chat 1001
        await alice.send_command("start")        # queued for getUpdates / POSTed to the webhook
        hello = await emu.wait_for(1001, "欢迎")  # the next bot message containing "欢迎"
        await alice.tap(hello, "确认")            # presses an inline button -> callback_query
        assert not emu.unknown_methods           # the bot only used emulated methods

What is emulated, and how faithfully:

* Responses are ``{"ok": true, "result": ...}`` or Telegram's error objects
  (``error_code``, ``description``, ``parameters.retry_after``) with the same HTTP status, so
  PTB raises its real exceptions (`RetryAfter`, `Forbidden`, `BadRequest`, `NetworkError`...).
* Requests may be JSON, url-encoded or multipart (PTB sends url-encoded forms, or multipart
  when uploading; every non-string value is a JSON-encoded string).  Parameters are decoded
  back to Python values and recorded in `BotApiEmulator.calls`.
* ``parse_mode="HTML"`` is parsed like Telegram does (supported tags only, entities, byte
  offsets in errors), so a stray ``<`` fails with "can't parse entities" as in production.
  `SentMessage.text` is what the user sees (tags stripped); ``source_text`` is what was sent.
  Markdown modes are stored verbatim and not validated.
* Lengths are Telegram's: 4096 for a text, 1024 for a caption, 200 for a pop-up, counted in UTF-16
  units of the visible text (after parsing; an emoji counts 2); callback_data at most 64 bytes.
  The parser and the counting live in `bot.telegram_text`, which the bot uses too.
* Editing text or caption without ``reply_markup`` removes the inline keyboard (as Telegram
  does); an edit that changes nothing answers "message is not modified".
* Flood limits: token buckets, global and per chat, on message-sending methods (429).
* Updates: long polling with ``offset``/``timeout``/``limit``/``allowed_updates`` and a
  409 conflict for two concurrent pollers, or webhook delivery with the secret header and
  a few retries.
* Faults of Telegram's network edge (`BotApiEmulator.inject_fault`, `outage`): a 502 or a dropped
  connection before the request is handled (nothing happened), and the ambiguous ones after it
  was handled (the message *was* sent): a 502, a dropped connection, an answer held back past
  the client's timeout. Counted per kind and, for the ambiguous ones, per chat.
* Unknown methods answer 404 and are listed in `BotApiEmulator.unknown_methods`; bugs in the
  emulator itself answer 500 and are listed in `BotApiEmulator.internal_errors`.

Message ids are per chat and shared by user and bot messages.  Callback query ids are
``str(update_id)`` of the update that carried them.  Flood limits read ``clock`` (default
`time.monotonic`), so a test can pass a fake clock and move time by hand.

Note for assertions on errors: PTB strips the "Bad Request: " prefix and then calls
``str.capitalize()``, which also lowercases the rest ("Bad Request: BUTTON_DATA_INVALID"
becomes "Button_data_invalid"); match error texts case-insensitively.

For a console mode, `BotApiEmulator.add_listener` reports every message the bot sends, edits
or deletes, and `SimUser` methods play the user's side.

Modules
-------
``emulator``  `BotApiEmulator` (the parts put together, the test-facing API), `run_emulator`.
``server``    the aiohttp app; routing each call through faults and checks to its handler.
``protocol``  the wire format: parameters, `ApiCall`, Telegram's error answers.
``state``     what the parts share: identity, clock, calls, `EmulatorStats`, chats, waiting.
``entities``  chats and messages (`SentMessage`), parse_mode/length/keyboard checks on sends.
``messages``  the methods that send, edit, copy, forward and delete messages; callback answers.
``profile``   getMe, the command menus and the menu button.
``files``     stored files, getFile and the download route.
``updates``   the update queue, getUpdates and webhook delivery.
``users``     simulated users (`SimUser`) and what they send; blocking the bot.
``limits``    flood limits, length limits, injected errors and network faults (`Fault`).
``console``   ``cppcc-bot console``.   ``demo``   ``cppcc-bot demo-data``.
"""

from bot.telegram_text import EntityParseError, parse_html
from bot.tryout.emulator import BotApiEmulator, run_emulator
from bot.tryout.entities import MessageVersion, SentMessage
from bot.tryout.files import StoredFile
from bot.tryout.limits import Fault
from bot.tryout.protocol import ApiCall, UploadedPart
from bot.tryout.state import EmulatorStats
from bot.tryout.users import SimUser

__all__ = [
    "ApiCall",
    "BotApiEmulator",
    "EmulatorStats",
    "EntityParseError",
    "Fault",
    "MessageVersion",
    "SentMessage",
    "SimUser",
    "StoredFile",
    "UploadedPart",
    "parse_html",
    "run_emulator",
]
