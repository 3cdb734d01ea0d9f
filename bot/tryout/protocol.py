"""The Bot API's wire format as the emulator reads and answers it.

A request's parameters (query string, JSON, url-encoded or multipart body) decoded back to Python
values, a typed view of them for the method handlers (`Request`), the record of each call
(`ApiCall`), and Telegram's error objects (`ApiError`, `error_response`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

# Parameters whose values are plain strings.  Every other form value is JSON-decoded when it
# can be (PTB JSON-encodes ints, bools, lists and objects but sends strings as they are).
# fmt: off
_RAW_STRING_PARAMS = frozenset({
    "action", "address", "animation", "audio", "business_connection_id", "callback_query_id",
    "caption", "currency", "custom_title", "description", "document", "emoji", "explanation",
    "file_id", "first_name", "foursquare_id", "google_place_id", "inline_message_id",
    "invite_link", "ip_address", "language_code", "last_name", "message_effect_id", "name",
    "parse_mode", "payload", "phone_number", "photo", "provider_token", "query", "question",
    "secret_token", "short_description", "start_parameter", "sticker", "text", "thumbnail",
    "title", "url", "vcard", "video", "video_note", "voice",
})
# fmt: on


class ApiError(Exception):
    """An error answer of the Bot API (``error_code``, ``description``, ``retry_after``)."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def bad(description: str) -> ApiError:
    """A 400 "Bad Request: ..." answer."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class UploadedPart:
    """One file part of a multipart request, as the bot uploaded it."""

    name: str
    file_name: str | None
    mime_type: str | None
    data: bytes


@dataclass
class ApiCall:
    """One Bot API request the bot made, with the answer it got.

    ``ok`` is ``None`` while the request is still being answered (a long poll).
    """

    method: str
    params: JSON
    at: float
    files: dict[str, UploadedPart] = field(default_factory=dict)
    ok: bool | None = None
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    retry_after: int | None = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int) else None


@dataclass
class Request:
    """A Bot API call as a method handler sees it: its parameters, typed on access."""

    method: str
    params: JSON
    files: dict[str, UploadedPart]
    disconnected: Callable[[], bool] = lambda: False

    def str_param(self, key: str) -> str | None:
        value = self.params.get(key)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def int_param(self, key: str) -> int | None:
        value = self.params.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad(f"invalid {key} specified")
        try:
            return int(value)
        except ValueError:
            raise bad(f"invalid {key} specified") from None

    def float_param(self, key: str) -> float | None:
        value = self.params.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad(f"invalid {key} specified")
        try:
            return float(value)
        except ValueError:
            raise bad(f"invalid {key} specified") from None

    def obj_param(self, key: str) -> Any:
        value = self.params.get(key)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad(f"can't parse {key} JSON object") from None
        return value

    def require_int(self, key: str, empty: str | None = None) -> int:
        value = self.int_param(key)
        if value is None:
            raise bad(empty or f"{key} is empty")
        return value


Handler = Callable[[Request], Awaitable[Any]]
"""A Bot API method: its result, or an `ApiError`."""


async def read_params(request: web.Request) -> tuple[JSON, dict[str, UploadedPart]]:
    """Parameters from the query string and a JSON, url-encoded or multipart body, decoded."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedPart] = {}
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                raw.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedPart(
                        key, value.filename, value.content_type, value.file.read()
                    )
                elif isinstance(value, bytes | bytearray):
                    raw[key] = bytes(value).decode("utf-8", "replace")
                else:
                    raw[key] = value
    return {key: _decode_param(key, value) for key, value in raw.items()}, files


def gone(request: web.Request) -> Callable[[], bool]:
    """Whether the client of ``request`` closed its connection."""

    def closed() -> bool:
        transport = request.transport
        return transport is None or transport.is_closing()

    return closed


def _decode_param(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in _RAW_STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def error_response(error: ApiError) -> web.Response:
    body: JSON = {"ok": False, "error_code": error.code, "description": error.description}
    if error.retry_after is not None:
        body["parameters"] = {"retry_after": error.retry_after}
    return web.json_response(body, status=error.code)
