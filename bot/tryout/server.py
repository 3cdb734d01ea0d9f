"""The emulator's HTTP server: an aiohttp app on 127.0.0.1 (ephemeral port) with Telegram's two
routes, ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``.

Each Bot API call is read, logged in `EmulatorState.calls`, checked against the token, the
faults and errors a test injected and a blocked chat, then routed to its method handler (case
insensitive, as Telegram). Answers are ``{"ok": true, "result": ...}`` or Telegram's error objects
with the same HTTP status. Unknown methods answer 404 and are listed in `unknown_methods`; bugs
in the emulator itself answer 500 and are listed in `internal_errors`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from aiohttp import web

from bot.tryout.files import FileStore
from bot.tryout.limits import Fault, Faults
from bot.tryout.protocol import (
    ApiCall,
    ApiError,
    Handler,
    Request,
    bad,
    error_response,
    gone,
    read_params,
)
from bot.tryout.state import EmulatorState
from bot.tryout.users import Users

_LOGGER = logging.getLogger(__name__)


class ApiServer:
    """The aiohttp app and the routing of Bot API calls to the method handlers."""

    def __init__(
        self,
        state: EmulatorState,
        *,
        faults: Faults,
        users: Users,
        files: FileStore,
        method_groups: Iterable[dict[str, Handler]],
    ) -> None:
        self.state = state
        self.faults = faults
        self.users = users
        self.files = files
        self.unknown_methods: list[str] = []
        self.internal_errors: list[str] = []
        self.call_listeners: list[Callable[[ApiCall], None]] = []
        self.port = 0
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for group in method_groups
            for name, handler in group.items()
        }
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port (`port`)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self.files.handle_download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle_api(self, request: web.Request) -> web.Response:
        state = self.state
        at = state.clock()
        name = request.match_info["method"]
        try:
            params, files = await read_params(request)
        except Exception as exc:  # a body we cannot read at all
            return error_response(bad(f"can't parse request: {exc}"))
        known = self._methods.get(name.lower())
        method = known[0] if known else name
        call = ApiCall(method=method, params=params, at=at, files=files)
        state.calls.append(call)
        state.stats.calls[method] += 1
        try:
            if request.match_info["token"] != state.token:
                raise ApiError(401, "Unauthorized")
            if known is None:
                self.unknown_methods.append(name)
                raise ApiError(404, f"Not Found: method {name} is not emulated")
            fault = self.faults.take_fault(method, params, handled=False)
            if fault is not None:
                state.stats.faults[fault.fault] += 1
                if fault.fault is Fault.drop:
                    return self._drop(call, request)
                raise ApiError(502, "Bad Gateway")
            injected = self.faults.take_injected(method, params)
            if injected is not None:
                state.stats.injected_errors += 1
                raise injected
            self.users.raise_blocked(method, params)
            result = await known[1](Request(method, params, files, gone(request)))
        except ApiError as error:
            self._finish_error(call, error)
            return error_response(error)
        except Exception as exc:
            _LOGGER.exception("emulator bug in %s", method)
            self.internal_errors.append(f"{method}: {exc!r}")
            bug = ApiError(500, f"Internal Server Error: emulator failed: {exc!r}")
            self._finish_error(call, bug)
            return error_response(bug)
        call.ok = True
        call.result = result
        state.notify()
        for listener in self.call_listeners:
            listener(call)
        fault = self.faults.take_fault(method, params, handled=True)
        if fault is not None:  # an ambiguous one: it took effect, the client will not know
            state.stats.faults[fault.fault] += 1
            if call.chat_id is not None:
                state.stats.ambiguous_by_chat[call.chat_id] += 1
            if fault.fault is Fault.drop_after:
                return self._drop(call, request)
            if fault.fault is Fault.server_error_after:
                return error_response(ApiError(502, "Bad Gateway"))
            await asyncio.sleep(fault.delay)
        return web.json_response({"ok": True, "result": result})

    def _drop(self, call: ApiCall, request: web.Request) -> web.Response:
        """Close the connection without an answer (what the client sees of a network cut)."""
        if call.ok is None:
            call.ok = False
            call.description = "connection dropped"
        if request.transport is not None:
            request.transport.abort()
        self.state.notify()
        return web.Response(status=500)  # never reaches the client

    def _finish_error(self, call: ApiCall, error: ApiError) -> None:
        call.ok = False
        call.error_code = error.code
        call.description = error.description
        call.retry_after = error.retry_after
        if error.code == 499:  # nobody is listening: not an error the bot saw
            self.state.notify()
            return
        stats = self.state.stats
        stats.errors[error.code] += 1
        if error.code == 429:
            stats.retry_after_responses += 1
            if call.chat_id is not None:
                stats.retry_after_by_chat[call.chat_id] += 1
        if call.chat_id is not None and call.chat_id in self.state.chats:
            self.state.chats[call.chat_id].log.append(
                f"!! {call.method} -> {error.code} {error.description}"
            )
        self.state.notify()
