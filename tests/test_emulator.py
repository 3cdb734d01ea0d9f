"""The Bot API emulator, driven by a real python-telegram-bot `Bot` over HTTP."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, EndPointNotFound, Forbidden, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from bot.tryout import BotApiEmulator, EntityParseError, parse_html, run_emulator

TOKEN = "123456:TEST-TOKEN"
# PTB warns about RetryAfter.retry_after becoming a timedelta whenever it builds one.
pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")


class FakeClock:
    """Monotonic time the flood-limit tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with run_emulator(TOKEN) as emulator:
        yield emulator
    assert not emulator.unknown_methods
    assert not emulator.internal_errors


def retry_seconds(error: RetryAfter) -> float:
    """RetryAfter.retry_after as seconds (an int now, a timedelta with PTB_TIMEDELTA)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value if isinstance(value, int | float) else value.total_seconds()


def make_bot(emu: BotApiEmulator) -> Bot:
    return Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url)


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in buttons]])


async def test_get_me(emu: BotApiEmulator) -> None:
    async with make_bot(emu) as bot:
        me = await bot.get_me()
    assert me.username == "cppcc_test_bot" and me.id == emu.bot_id and me.is_bot
    assert emu.calls[0].method == "getMe" and emu.calls[0].ok


async def test_send_message_is_recorded_decoded_and_awaitable(emu: BotApiEmulator) -> None:
    async with make_bot(emu) as bot:
        sent = await bot.send_message(
            1001,
            "<b>你好</b>, &lt;委员&gt;",
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(("是", "y")),
        )
        await bot.send_message(1001, "second", reply_markup=ReplyKeyboardMarkup([["菜单", "帮助"]]))
    first = await emu.wait_for(1001, "你好")
    assert first.text == "你好, <委员>" and first.source_text == "<b>你好</b>, &lt;委员&gt;"
    assert first.entities == [{"type": "bold", "offset": 0, "length": 2}]
    assert sent.text == first.text and sent.entities[0].type == "bold"
    assert first.buttons() == ["是"] and first.callback_for("是") == "y"
    second = await emu.wait_for(1001)  # the next one not returned yet
    assert second.keyboard_texts() == ["菜单", "帮助"] and second.message_id == first.message_id + 1
    call = emu.calls[-1]
    assert call.params["chat_id"] == 1001
    assert call.params["reply_markup"]["keyboard"][0] == [{"text": "菜单"}, {"text": "帮助"}]
    assert emu.stats.messages_sent[1001] == 2
    with pytest.raises(AssertionError, match="transcript of chat 1001"):
        await emu.wait_for(1001, timeout=0.05)


async def test_long_poll_returns_on_arrival_and_offset_confirms(emu: BotApiEmulator) -> None:
    user = emu.user(1001, "Alice", username="alice")
    async with make_bot(emu) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        for _ in range(400):  # until the long poll is waiting in the emulator
            if any(c.method == "getUpdates" for c in emu.calls):
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)
        assert not poll.done() and emu.calls[-1].ok is None  # still waiting
        update_id = await user.send_command("start", "abc")
        updates = await asyncio.wait_for(poll, 2)
        assert [u.update_id for u in updates] == [update_id]
        message = updates[0].message
        assert message is not None and message.text == "/start abc"
        assert message.parse_entities() == {message.entities[0]: "/start"}
        assert message.chat.id == 1001 and message.from_user is not None
        assert message.from_user.username == "alice"
        # Not confirmed yet: served again; confirmed by the offset: gone.
        assert len(await bot.get_updates(timeout=0)) == 1
        assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    assert emu.pending_updates == 0


async def test_tap_sends_callback_query_and_answer(emu: BotApiEmulator) -> None:
    user = emu.user(1002)
    async with make_bot(emu) as bot:
        await bot.send_message(
            1002, "确认吗？", reply_markup=keyboard(("确认", "ok:7"), ("取消", "no"))
        )
        message = await emu.wait_for(1002, "确认吗")
        update_id = await user.tap(message, "确认")
        (update,) = await bot.get_updates(timeout=1)
        query = update.callback_query
        assert query is not None and query.data == "ok:7" and query.id == str(update_id)
        assert query.message is not None and query.message.message_id == message.message_id
        await query.answer("好的")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await query.answer("again")
        assert emu.callback_answers[str(update_id)]["text"] == "好的"
        await bot.edit_message_text("已确认", chat_id=1002, message_id=message.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("已确认", chat_id=1002, message_id=message.message_id)
    current = user.messages()[0]
    assert current.text == "已确认" and current.buttons() == []  # no markup: keyboard removed
    assert [v.text for v in current.history] == ["确认吗？"]
    with pytest.raises(AssertionError, match="no inline button"):
        await user.tap(current, "确认")


async def test_document_upload_and_user_photo_download(emu: BotApiEmulator) -> None:
    user = emu.user(1003)
    async with make_bot(emu) as bot:
        sent = await bot.send_document(
            1003,
            b"%PDF-1.7 report",
            filename="报告.pdf",
            caption="周报",
            reply_markup=keyboard(("下载", "d")),
        )
        message = await emu.wait_for(1003, "周报")
        assert message.kind == "document" and message.file_name == "报告.pdf"
        assert message.data == b"%PDF-1.7 report" and message.buttons() == ["下载"]
        upload = emu.calls[-1]
        assert upload.files["document"].file_name == "报告.pdf"
        assert upload.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "下载"
        assert sent.document is not None
        again = await bot.send_document(1003, sent.document.file_id)  # re-send by file_id
        assert again.document is not None and again.document.file_id == sent.document.file_id

        await user.send_photo(b"\xff\xd8\xff photo bytes", caption="现场")
        (update,) = await bot.get_updates(timeout=1)
        assert update.message is not None and update.message.caption == "现场"
        photo_file = await update.message.photo[-1].get_file()
        assert bytes(await photo_file.download_as_bytearray()) == b"\xff\xd8\xff photo bytes"
        with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
            await bot.get_file("nope")


async def test_per_chat_flood_limit_raises_retry_after() -> None:
    clock = FakeClock()
    async with run_emulator(TOKEN, clock=clock) as emu, make_bot(emu) as bot:
        for i in range(5):  # the burst
            await bot.send_message(1004, f"m{i}")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1004, "one too many")
        assert retry_seconds(caught.value) == 1
        await bot.send_message(1005, "another chat is fine")
        clock.now += 1.0
        await bot.send_message(1004, "after a second")
        assert emu.stats.retry_after_responses == 1 and emu.stats.retry_after_by_chat[1004] == 1
        assert len(emu.messages_to(1004)) == 6


async def test_group_and_global_limits() -> None:
    clock = FakeClock()
    async with run_emulator(TOKEN, clock=clock) as emu, make_bot(emu) as bot:
        for i in range(20):
            await bot.send_message(-100123, f"g{i}")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(-100123, "g20")
        assert retry_seconds(caught.value) == 3  # 20 per minute
        clock.now += 60
        for i in range(90):  # a steady 30/s over many chats is never refused
            await bot.send_message(2000 + i, "steady")
            clock.now += 1 / 30
        for i in range(30):  # ... but a burst beyond 30 at once is
            await bot.send_message(3000 + i, "burst")
        with pytest.raises(RetryAfter):
            await bot.send_message(4000, "over")
        assert emu.stats.retry_after_responses == 2


async def test_block_answers_forbidden(emu: BotApiEmulator) -> None:
    emu.user(1006)
    emu.block(1006)
    async with make_bot(emu) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(1006, "hello")
        emu.unblock(1006)
        await bot.send_message(1006, "hello again")
    assert emu.stats.errors[403] == 1
    assert "bot was blocked" in emu.transcript(1006)


async def test_bad_requests(emu: BotApiEmulator) -> None:
    async with make_bot(emu) as bot:
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(1007, "x" * 4097)
        await bot.send_message(1007, "x" * 4096)
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(1007, "   ")
        with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
            await bot.send_document(1007, b"d", filename="a.txt", caption="c" * 1025)
        with pytest.raises(
            BadRequest, match=r"(?i)can't parse entities: unsupported start tag \"3\""
        ):
            await bot.send_message(1007, "a <3 b", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(1007, "k", reply_markup=keyboard(("x", "d" * 65)))
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("t", chat_id=1007, message_id=999)
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("sendCarrierPigeon", api_kwargs={"chat_id": 1007})
    assert emu.unknown_methods == ["sendCarrierPigeon"]
    emu.unknown_methods.clear()


async def test_injected_errors(emu: BotApiEmulator) -> None:
    emu.fail_next("sendMessage", error_code=500, description="Internal Server Error")
    emu.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 7",
        retry_after=7,
        chat_id=1009,
    )
    async with make_bot(emu) as bot:
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(1008, "a")
        await bot.send_message(1008, "b")  # only the next one failed; 1009's error waits
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1009, "c")
        assert retry_seconds(caught.value) == 7
        await bot.send_message(1009, "d")
    assert emu.stats.injected_errors == 2 and emu.stats.retry_after_responses == 1


async def test_redelivered_update_is_served_again(emu: BotApiEmulator) -> None:
    user = emu.user(1010)
    async with make_bot(emu) as bot:
        update_id = await user.send_text("hi")
        (first,) = await bot.get_updates(timeout=0)
        assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
        emu.inject_update(first.to_dict())
        (again,) = await bot.get_updates(offset=update_id + 1, timeout=0)
        assert again.update_id == update_id and again.message is not None
        assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()


async def test_webhook_posts_with_secret_and_retries(emu: BotApiEmulator) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []
    statuses = [500, 200]

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(status=statuses.pop(0) if statuses else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        user = emu.user(1011)
        async with make_bot(emu) as bot:
            assert await bot.set_webhook(url, secret_token="s3cret-token")
            update_id = await user.send_text("via webhook")
            for _ in range(100):
                if len(received) == 2 and emu.pending_updates == 0:
                    break
                await asyncio.sleep(0.01)
            assert [secret for secret, _ in received] == ["s3cret-token", "s3cret-token"]
            assert received[1][1]["update_id"] == update_id  # retried after the 500
            info = await bot.get_webhook_info()
            assert info.url == url and info.pending_update_count == 0
            assert info.last_error_message is not None and "500" in info.last_error_message
            with pytest.raises(Exception, match="webhook is active"):
                await bot.get_updates(timeout=0)
            await bot.delete_webhook()
            await user.send_text("back to polling")
            (update,) = await bot.get_updates(timeout=1)
            assert update.message is not None and update.message.text == "back to polling"
    finally:
        await runner.cleanup()


async def test_real_application_polling(emu: BotApiEmulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"欢迎 <b>{' '.join(context.args or [])}</b>",
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(("继续", "next")),
        )

    app = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    user = emu.user(1012)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await user.send_command("start", "林文华")
        hello = await emu.wait_for(1012, "欢迎 林文华")
        assert hello.buttons() == ["继续"]
        await app.updater.stop()
        await app.stop()
    assert emu.pending_updates == 0  # the shutdown getUpdates confirmed it
    assert not emu.stats.errors  # the abandoned long poll is no conflict


def test_parse_html_like_telegram() -> None:
    source = '<a href="https://t.me/x?a=1&amp;b=2">链接</a> '
    text, entities = parse_html(source + '<pre><code class="language-py">x</code></pre>')
    assert text == "链接 x"
    assert entities == [
        {"type": "text_link", "offset": 0, "length": 2, "url": "https://t.me/x?a=1&b=2"},
        {"type": "pre", "offset": 3, "length": 1, "language": "py"},
    ]
    assert parse_html("😀 <i>a</i> & b")[1] == [{"type": "italic", "offset": 3, "length": 1}]
    for bad, message in [
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("a<br>b", 'Unsupported start tag "br" at byte offset 1'),
        ("<span>s</span>", 'Tag "span" must have class "tg-spoiler"'),
    ]:
        with pytest.raises(EntityParseError, match=message):
            parse_html(bad)


async def test_other_methods_and_user_messages(emu: BotApiEmulator) -> None:
    user = emu.user(1013, "Li", last_name="Wei")
    async with make_bot(emu) as bot:
        album = await bot.send_media_group(
            1013,
            [
                InputMediaPhoto(b"p1", caption="<i>一</i>", parse_mode="HTML"),
                InputMediaPhoto(b"p2"),
            ],
        )
        assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
        assert album[0].caption == "一" and emu.messages_to(1013)[1].data == b"p2"
        await bot.send_location(1013, 26.07, 119.3)
        assert emu.messages_to(1013)[-1].raw["location"]["latitude"] == 26.07
        assert await bot.send_chat_action(1013, ChatAction.TYPING)
        assert await bot.set_my_commands([BotCommand("start", "开始")], language_code="zh")
        assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["start"]
        with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
            await bot.set_my_commands([BotCommand("开始", "start")])

        await user.send_contact("+8613800138000")
        await user.send_location(26.0, 119.0)
        await user.send_voice(b"ogg", duration=5)
        contact, location, voice = await bot.get_updates(timeout=1)
        assert contact.message is not None and contact.message.contact is not None
        assert contact.message.contact.user_id == 1013
        assert contact.message.contact.last_name == "Wei"
        assert location.message is not None and location.message.location is not None
        assert voice.message is not None and voice.message.voice is not None
        assert voice.message.voice.file_size == 3
        copied = await bot.copy_message(1013, 1013, contact.message.message_id)
        assert emu.messages_to(1013)[-1].message_id == copied.message_id
        assert await bot.delete_message(1013, location.message.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
            await bot.delete_message(1013, location.message.message_id)
        await bot.send_message(1013, "reply", reply_to_message_id=voice.message.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
            await bot.send_message(1013, "reply", reply_to_message_id=999)

    emu.block(1013)
    await user.send_text("I am back")  # writing to the bot unblocks it
    async with make_bot(emu) as bot:
        await bot.send_message(1013, "welcome back")
    assert "user unblocked the bot" in emu.transcript(1013)
