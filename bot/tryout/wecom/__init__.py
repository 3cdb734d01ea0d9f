"""A WeCom (企业微信) API emulator and a simulated member, for tests and trying out.

`WeComEmulator` is an aiohttp server on 127.0.0.1 answering the calls the bot makes
(gettoken, message/send, message/update_template_card, user/getuserid, user/get) with WeCom's
JSON and error codes; `WeComMember` posts encrypted, signed callbacks to the bot the way WeCom
does, with wechatpy's own `WeChatCrypto`, so a test never forges what it checks with the code
under test. Like the rest of bot.tryout, the runtime never imports this package.
"""

from bot.tryout.wecom.emulator import Card, Sent, WeComEmulator, run_wecom_emulator
from bot.tryout.wecom.member import CallbackAnswer, WeComMember

__all__ = [
    "CallbackAnswer",
    "Card",
    "Sent",
    "WeComEmulator",
    "WeComMember",
    "run_wecom_emulator",
]
