"""A stand-in Zalo Bot API on 127.0.0.1, over real HTTP, for tests.

It answers the shapes the Zalo Bot Platform documents and that public clients have
recorded from the real service: ``{"ok": true, "result": ...}``; errors as
``{"ok": false, "error_code": N, "description": "..."}``; getUpdates hands out ONE update
per call (an object, not a list) and answers an empty long poll with HTTP 408
``Request timeout``; getWebhookInfo without a webhook answers 404. Where the real
service's answer is not known (the wording of most descriptions, 403 for a blocked chat,
409 for getUpdates while a webhook is set, where 429 puts ``retry_after``), the choice
is marked "guess".

    async with FakeZalo() as zalo:
        api = ZaloBotAPI(zalo.token, api_base=zalo.base_url)
        zalo.user_sends("chat-1", "xin chào")
        [update] = await api.get_updates(timeout=1)
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

MAX_TEXT = 2000
SECRET_MIN = 8
SECRET_MAX = 256
CHAT_ACTIONS = frozenset({"typing", "upload_photo"})

EVENT_TEXT = "message.text.received"
EVENT_IMAGE = "message.image.received"
EVENT_STICKER = "message.sticker.received"
EVENT_UNSUPPORTED = "message.unsupported.received"


def zalo_length(text: str) -> int:
    """UTF-16 code units, as the Java/JavaScript side most likely counts (guess)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _new_id() -> str:
    return secrets.token_hex(10)  # Zalo's ids look like 20 hex digits


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Failure:
    status: int
    times: int
    retry_after: float | None
    retry_after_header: bool
    description: str | None
    raw_body: str | None


@dataclass
class _Delay:
    seconds: float
    times: int


class FakeZalo:
    """The fake service. ``errors_as_http_status=False`` answers every error with HTTP 200
    and the code only in the body, which the real service also does for some errors."""

    def __init__(
        self,
        token: str = "zalo-test-token",  # noqa: S107  # a test token, not a secret
        *,
        max_poll: float = 10.0,
        errors_as_http_status: bool = True,
    ) -> None:
        self.token = token
        self.max_poll = max_poll  # long polls wait at most this long, whatever they ask
        self.errors_as_http_status = errors_as_http_status
        self.base_url = ""
        self.bot_info: dict[str, Any] = {
            "id": "1459232241454765289",
            "account_name": "bot.wardbot",
            "account_type": "BASIC",
            "can_join_groups": False,
        }
        self.sent: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.webhook: dict[str, Any] | None = None
        self.blocked: set[str] = set()
        self._updates: deque[dict[str, Any]] = deque()
        self._arrived = asyncio.Event()
        self._sent_changed = asyncio.Event()
        self._failures: dict[str, deque[_Failure]] = {}
        self._delays: dict[str, deque[_Delay]] = {}
        self._closing = False
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> FakeZalo:
        app = web.Application()
        app.router.add_route("*", "/{bot}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        self._stopping.set()
        self._arrived.set()  # wake the long polls so they end now
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- what residents do ---------------------------------------------------------------

    def user_sends(
        self,
        chat_id: str,
        text: str,
        *,
        user_id: str | None = None,
        chat_type: str = "PRIVATE",
    ) -> dict[str, Any]:
        message = self._message(chat_id, user_id, chat_type)
        message["text"] = text
        return self._queue(EVENT_TEXT, message)

    def user_sends_image(
        self,
        chat_id: str,
        photo_url: str,
        caption: str = "",
        *,
        user_id: str | None = None,
        chat_type: str = "PRIVATE",
    ) -> dict[str, Any]:
        message = self._message(chat_id, user_id, chat_type)
        message["photo_url"] = photo_url
        if caption:
            message["caption"] = caption
        return self._queue(EVENT_IMAGE, message)

    def user_sends_sticker(
        self,
        chat_id: str,
        sticker: str = "d063f44dc80821567819",
        *,
        user_id: str | None = None,
        chat_type: str = "PRIVATE",
    ) -> dict[str, Any]:
        message = self._message(chat_id, user_id, chat_type)
        message["sticker"] = sticker
        message["url"] = f"https://stickers.invalid/{sticker}.png"
        return self._queue(EVENT_STICKER, message)

    def user_sends_unsupported(
        self, chat_id: str, *, user_id: str | None = None, chat_type: str = "PRIVATE"
    ) -> dict[str, Any]:
        return self._queue(EVENT_UNSUPPORTED, self._message(chat_id, user_id, chat_type))

    def send_malformed_update(self, kind: str = "missing_ids") -> dict[str, Any]:
        """Queue an update no client can read: ``missing_ids`` (a text message without
        chat or sender), ``unknown_event``, or ``not_a_message`` (message is a string)."""
        if kind == "missing_ids":
            update: dict[str, Any] = {
                "event_name": EVENT_TEXT,
                "message": {"text": "mất chat id", "message_id": _new_id(), "date": _now_ms()},
            }
        elif kind == "unknown_event":
            update = {"event_name": "message.hologram.received", "message": {}}
        elif kind == "not_a_message":
            update = {"event_name": EVENT_TEXT, "message": "không phải object"}
        else:
            raise ValueError(kind)
        self._updates.append(update)
        self._arrived.set()
        return update

    def _message(self, chat_id: str, user_id: str | None, chat_type: str) -> dict[str, Any]:
        return {
            "from": {"id": user_id or chat_id, "display_name": "Cư dân", "is_bot": False},
            "chat": {"id": chat_id, "chat_type": chat_type},
            "message_id": _new_id(),
            "date": _now_ms(),
        }

    def _queue(self, event_name: str, message: dict[str, Any]) -> dict[str, Any]:
        update = {"event_name": event_name, "message": message}
        self._updates.append(update)
        self._arrived.set()
        return update

    # ---- steering ------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        times: int = 1,
        retry_after: float | None = None,
        retry_after_header: bool = False,
        description: str | None = None,
        raw_body: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with ``status``. ``retry_after`` goes
        in ``parameters.retry_after`` as Telegram does (guess), or in a Retry-After header
        with ``retry_after_header``. ``raw_body`` replaces the JSON (an HTML error page)."""
        failure = _Failure(status, times, retry_after, retry_after_header, description, raw_body)
        self._failures.setdefault(method, deque()).append(failure)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are answered after ``seconds``. As with
        the real service, a call the client gave up on is still carried out afterwards."""
        self._delays.setdefault(method, deque()).append(_Delay(seconds, times))

    def block(self, chat_id: str) -> None:
        """The resident blocked the bot: sends to this chat answer 403 from now on."""
        self.blocked.add(chat_id)

    async def wait_for_sent(
        self,
        count: int = 1,
        *,
        chat_id: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """The messages sent (to ``chat_id``, if given) once there are at least ``count``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            matching = [m for m in self.sent if chat_id is None or m["chat_id"] == chat_id]
            if len(matching) >= count:
                return matching
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} sent message(s), saw {len(matching)} in {timeout}s"
                )
            self._sent_changed.clear()
            try:
                await asyncio.wait_for(self._sent_changed.wait(), remaining)
            except TimeoutError:
                pass

    async def push_updates_to_webhook(
        self, url: str, secret_token: str | None, *, wrapped: bool = False
    ) -> list[int]:
        """POST every queued update to ``url`` as Zalo's webhook does, with the secret in
        ``X-Bot-Api-Secret-Token`` (left out when None); returns the HTTP statuses. The
        body is the bare update; ``wrapped`` sends ``{"ok": true, "result": update}``, the
        shape the SDK's webhook example reads (the real one is unsettled)."""
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers["X-Bot-Api-Secret-Token"] = secret_token
        statuses: list[int] = []
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while self._updates:
                update = self._updates.popleft()
                body = {"ok": True, "result": update} if wrapped else update
                async with session.post(url, json=body, headers=headers) as response:
                    await response.read()
                    statuses.append(response.status)
        return statuses

    # ---- the API -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["bot"] != f"bot{self.token}":
            return self._error(401, "Unauthorized")  # wording: guess
        if request.method != "POST":
            return self._error(405, "Method Not Allowed")
        method = request.match_info["method"]
        raw = await request.read()
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            return self._error(400, "Bad request: invalid JSON")
        if not isinstance(payload, dict):
            return self._error(400, "Bad request: invalid JSON")
        self.calls.append((method, payload))

        delay = self._take(self._delays, method)
        if delay is not None:
            try:  # ends early when the fake shuts down
                await asyncio.wait_for(self._stopping.wait(), delay.seconds)
            except TimeoutError:
                pass
        failure = self._take(self._failures, method)
        if failure is not None:
            return self._injected(failure)

        handler = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }.get(method)
        if handler is None:
            return self._error(404, "Not Found")
        return await handler(payload)

    async def _get_me(self, payload: dict[str, Any]) -> web.Response:
        return self._ok(self.bot_info)

    async def _get_updates(self, payload: dict[str, Any]) -> web.Response:
        if self.webhook is not None:  # documented: getUpdates does not work with a webhook
            return self._error(409, "Conflict: a webhook is set")  # code and wording: guess
        try:
            timeout = float(payload.get("timeout", 30))
        except (TypeError, ValueError):
            return self._error(400, "Bad request: timeout must be a number")
        if timeout < 0:
            return self._error(400, "Bad request: timeout must not be negative")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(timeout, self.max_poll)
        while not self._updates and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                break
        if self._updates and not self._closing:
            return self._ok(self._updates.popleft())
        return self._error(408, "Request timeout")

    async def _send_message(self, payload: dict[str, Any]) -> web.Response:
        problem = self._check_chat(payload) or self._check_text(payload.get("text"), "text")
        if problem is not None:
            return problem
        return self._record("sendMessage", payload, text=payload["text"])

    async def _send_photo(self, payload: dict[str, Any]) -> web.Response:
        problem = self._check_chat(payload)
        if problem is not None:
            return problem
        photo = payload.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            return self._error(400, "Bad request: photo must be a URL")
        caption = payload.get("caption")
        if caption is not None:
            problem = self._check_text(caption, "caption")
            if problem is not None:
                return problem
        return self._record("sendPhoto", payload, photo=photo, caption=caption or "")

    async def _send_sticker(self, payload: dict[str, Any]) -> web.Response:
        problem = self._check_chat(payload)
        if problem is not None:
            return problem
        sticker = payload.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            return self._error(400, "Bad request: sticker must not be empty")
        return self._record("sendSticker", payload, sticker=sticker)

    async def _send_chat_action(self, payload: dict[str, Any]) -> web.Response:
        problem = self._check_chat(payload)
        if problem is not None:
            return problem
        if payload.get("action") not in CHAT_ACTIONS:
            return self._error(400, "Bad request: unknown action")
        return web.json_response({"ok": True})  # documented: no result

    async def _set_webhook(self, payload: dict[str, Any]) -> web.Response:
        url = payload.get("url")
        secret = payload.get("secret_token")
        if not isinstance(url, str) or not url.startswith(("https://", "http://127.0.0.1")):
            return self._error(400, "Bad request: url must be HTTPS")  # loopback allowed here
        if not isinstance(secret, str) or not SECRET_MIN <= len(secret) <= SECRET_MAX:
            return self._error(400, "Bad request: secret_token must be 8-256 characters")
        self.webhook = {"url": url, "secret_token": secret, "updated_at": _now_ms()}
        return self._ok({"url": url, "updated_at": self.webhook["updated_at"]})

    async def _delete_webhook(self, payload: dict[str, Any]) -> web.Response:
        self.webhook = None
        return self._ok({"url": "", "updated_at": _now_ms()})

    async def _get_webhook_info(self, payload: dict[str, Any]) -> web.Response:
        if self.webhook is None:
            return self._error(404, "Not Found")  # as recorded from the real service
        return self._ok({"url": self.webhook["url"], "updated_at": self.webhook["updated_at"]})

    # ---- helpers -------------------------------------------------------------------------

    def _check_chat(self, payload: dict[str, Any]) -> web.Response | None:
        chat_id = payload.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            return self._error(400, "Bad request: The chat_id must not be empty")
        if chat_id in self.blocked:
            return self._error(403, "Forbidden: the user has blocked the bot")  # guess
        return None

    def _check_text(self, text: Any, name: str) -> web.Response | None:
        if not isinstance(text, str) or not 1 <= zalo_length(text) <= MAX_TEXT:
            return self._error(400, f"Bad request: {name} must be 1-{MAX_TEXT} characters")
        return None

    def _record(self, method: str, payload: dict[str, Any], **content: Any) -> web.Response:
        result = {"message_id": _new_id(), "date": _now_ms()}
        self.sent.append({"method": method, "chat_id": payload["chat_id"], **content, **result})
        self._sent_changed.set()
        return self._ok(result)

    @staticmethod
    def _take(table: dict[str, deque[Any]], method: str) -> Any:
        queue = table.get(method)
        if not queue:
            return None
        entry = queue[0]
        entry.times -= 1
        if entry.times <= 0:
            queue.popleft()
        return entry

    def _injected(self, failure: _Failure) -> web.Response:
        headers: dict[str, str] = {}
        if failure.retry_after is not None and failure.retry_after_header:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        if failure.raw_body is not None:
            return web.Response(
                status=failure.status,
                text=failure.raw_body,
                content_type="text/html",
                headers=headers,
            )
        body: dict[str, Any] = {
            "ok": False,
            "error_code": failure.status,
            "description": failure.description or _DESCRIPTIONS.get(failure.status, "Error"),
        }
        if failure.retry_after is not None and not failure.retry_after_header:
            body["parameters"] = {"retry_after": failure.retry_after}
        status = failure.status if self.errors_as_http_status else 200
        return web.json_response(body, status=status, headers=headers)

    def _ok(self, result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    def _error(self, code: int, description: str) -> web.Response:
        status = code if self.errors_as_http_status else 200
        body = {"ok": False, "error_code": code, "description": description}
        return web.json_response(body, status=status)


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
