"""The messages about bindings (storage/bindings.py says who is told and why): staff are asked
to confirm or refuse a request to move a member's binding to another account, with the two
buttons; the accounts concerned hear what became of it. Texts in binding.toml; the buttons are
handled by staff_admin.on_binding_button. Shared by the start flows (a request is made there),
staff's decisions and the command line's unbind."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import callbacks
from storage import outbox
from storage.bindings import BindingNews, Told
from storage.outbox import Message, button

FEATURE = "bnd"  # the staff's buttons: bnd:ok:<request id>, bnd:no:<request id>
# The dialog of an account not bound yet: what it opened before binding ({"link": payload}) and
# the language it chose ({"locale": code}), both taken up once it is bound.
BINDING_FLOW = "binding"
CONFIRM, REFUSE = "ok", "no"


def compose(news: BindingNews, office: str) -> Message:
    params: dict[str, Any] = {"office": office}
    if news.told is Told.staff_request:
        assert news.request_id is not None
        params |= {
            "request": news.request_id,
            "name": news.name,
            "member": news.subject_id,
            "account": news.account,
            "via": {"key": f"binding.via_{news.via}"},
        }
        decide = [
            button("binding.btn_confirm", callbacks.make(FEATURE, CONFIRM, news.request_id)),
            button("binding.btn_refuse", callbacks.make(FEATURE, REFUSE, news.request_id)),
        ]
        return Message("binding.staff_request", params, [decide])
    if news.told is Told.move_confirmed:
        params["name"] = news.name
    return Message(f"binding.{news.told.value}", params)


async def tell(session: AsyncSession, news: Iterable[BindingNews], office: str) -> int:
    """Post each account's message in the caller's transaction; returns how many."""
    posted = 0
    for item in news:
        posted += await outbox.post(session, item, compose(item, office))
    return posted
