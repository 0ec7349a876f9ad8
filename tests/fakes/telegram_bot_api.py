"""A stand-in Telegram Bot API on 127.0.0.1, over real HTTP, for tests.

The real aiogram client talks to it (``TelegramAPIServer.from_base(fake.base_url)``). It
answers with the Bot API's shapes (https://core.telegram.org/bots/api): ``{"ok": true,
"result": ...}``, or ``{"ok": false, "error_code": N, "description": "...",
"parameters": {...}}`` with the HTTP status equal to ``error_code``. Requests come as
form fields (aiogram JSON-encodes every non-string value) or multipart with uploads, or
as JSON. The descriptions are Telegram's own wording where known; marked "guess" where
not. As Telegram does, it serves one getUpdates per token at a time: when a second one
comes while one is open, the older is answered 409 "Conflict: terminated by other
getUpdates request; make sure that only one bot instance is running" (counted in
``poll_conflicts``) and the newer is answered as usual.

    async with FakeTelegram() as tg:
        bot = Bot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
        tg.user_sends(1001, "/start")
        [update] = await bot.get_updates()
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

MAX_TEXT = 4096
MAX_CAPTION = 1024
STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "callback_query_id",
        "url",
        "secret_token",
        "language_code",
        "parse_mode",
        "file_id",
        "action",
        "photo",
        "document",
    }
)
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass
class _Failure:
    status: int
    times: int
    retry_after: int | None
    description: str | None
    migrate_to_chat_id: int | None
    raw_body: str | None


class FakeTelegram:
    """The fake service. ``enforce_limits`` answers 429 beyond Telegram's published
    limits (30 sends/s overall, or `overall_per_second`; 1/s per private chat, 20/min
    per group);
    ``server_error_rate`` answers that fraction of sends with 500."""

    def __init__(
        self,
        token: str = "123456:TEST-token",  # noqa: S107  # a test token, not a secret
        *,
        max_poll: float = 10.0,
        enforce_limits: bool = False,
        server_error_rate: float = 0.0,
        seed: int = 0,
        overall_per_second: int = 30,
    ) -> None:
        self.token = token
        self.max_poll = max_poll
        self.enforce_limits = enforce_limits
        self.server_error_rate = server_error_rate
        self.overall_per_second = overall_per_second
        self.base_url = ""
        self.bot_user = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "Wardbot",
            "username": "wardbot_test_bot",
            "can_join_groups": True,
        }
        self.sent: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.deleted: list[tuple[int, int]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.answered_callbacks: list[dict[str, Any]] = []
        # API calls made in webhook answers rather than as requests (also in `calls`).
        self.webhook_calls: list[tuple[str, dict[str, Any]]] = []
        self.webhook: dict[str, Any] | None = None
        self.files: dict[str, bytes] = {}
        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.rate_limited = 0
        self.poll_conflicts = 0  # getUpdates answered 409: another one came meanwhile
        self.server_errors = 0
        self._random = random.Random(seed)
        self._updates: deque[dict[str, Any]] = deque()
        self._next_update_id = 500_000
        self._next_message_id: dict[int, int] = {}
        self._callbacks: set[str] = set()
        self._arrived = asyncio.Event()
        self._changed = asyncio.Event()
        self._failures: dict[str, deque[_Failure]] = {}
        self._delays: dict[str, deque[list[float]]] = {}
        self._sends: deque[float] = deque()
        self._chat_sends: dict[int, deque[float]] = {}
        self._stopping = asyncio.Event()
        self._open_poll: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/file/{bot}/{path:.+}", self._download)
        app.router.add_route("*", "/{bot}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._arrived.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- what people do ------------------------------------------------------------------

    def user_sends(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        language_code: str = "vi",
    ) -> dict[str, Any]:
        message = self._message(chat_id, user_id, chat_type, language_code)
        message["text"] = text
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._queue({"message": message})

    def user_sends_photo(
        self, chat_id: int, data: bytes, caption: str = "", *, user_id: int | None = None
    ) -> dict[str, Any]:
        message = self._message(chat_id, user_id)
        file_id = self._store(data)
        unique = file_id[:12]
        message["photo"] = [
            {
                "file_id": file_id,
                "file_unique_id": unique,
                "width": 90,
                "height": 60,
                "file_size": len(data),
            },
            {
                "file_id": file_id,
                "file_unique_id": unique,
                "width": 1280,
                "height": 960,
                "file_size": len(data),
            },
        ]
        if caption:
            message["caption"] = caption
        return self._queue({"message": message})

    def user_sends_document(
        self,
        chat_id: int,
        data: bytes,
        file_name: str,
        mime_type: str,
        caption: str = "",
        *,
        user_id: int | None = None,
    ) -> dict[str, Any]:
        message = self._message(chat_id, user_id)
        file_id = self._store(data)
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": file_id[:12],
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        if caption:
            message["caption"] = caption
        return self._queue({"message": message})

    def user_sends_location(self, chat_id: int, latitude: float, longitude: float) -> dict:
        message = self._message(chat_id, None)
        message["location"] = {"latitude": latitude, "longitude": longitude}
        return self._queue({"message": message})

    def user_sends_voice(self, chat_id: int) -> dict[str, Any]:
        message = self._message(chat_id, None)
        message["voice"] = {"file_id": self._store(b"OggS"), "file_unique_id": "v1", "duration": 3}
        return self._queue({"message": message})

    def user_sends_sticker(self, chat_id: int) -> dict[str, Any]:
        message = self._message(chat_id, None)
        message["sticker"] = {
            "file_id": self._store(b"RIFF"),
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._queue({"message": message})

    def user_sends_contact(self, chat_id: int) -> dict[str, Any]:
        message = self._message(chat_id, None)
        message["contact"] = {
            "phone_number": "+84901234567",
            "first_name": "Hàng xóm",
            "user_id": 424242,
        }
        return self._queue({"message": message})

    def user_presses(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
    ) -> dict[str, Any]:
        shown = [m for m in self.sent if m["chat_id"] == chat_id and m["message_id"] == message_id]
        if not shown:
            raise ValueError("the bot sent no such message")
        query_id = secrets.token_hex(8)
        self._callbacks.add(query_id)
        return self._queue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id or chat_id),
                    "chat_instance": str(abs(chat_id)),
                    "data": data,
                    "message": shown[-1]["result"],
                }
            }
        )

    def bot_removed(
        self, chat_id: int, *, by_user_id: int = 1, status: str = "kicked"
    ) -> dict[str, Any]:
        return self._member_update(chat_id, by_user_id, "member", status)

    def bot_added(self, chat_id: int, title: str = "Tổ dân phố", *, by_user_id: int = 1) -> dict:
        return self._member_update(chat_id, by_user_id, "left", "member", title)

    def migrate_group(self, old_chat_id: int, new_chat_id: int) -> None:
        """Telegram's upgrade of a group to a supergroup: sends to the old chat answer 400
        with ``migrate_to_chat_id``, and the two service messages arrive."""
        self.migrated[old_chat_id] = new_chat_id
        old = self._message(old_chat_id, None, "group")
        old["migrate_to_chat_id"] = new_chat_id
        self._queue({"message": old})
        new = self._message(new_chat_id, None, "supergroup")
        new["migrate_from_chat_id"] = old_chat_id
        self._queue({"message": new})

    def send_raw_update(self, update: dict[str, Any]) -> dict[str, Any]:
        return self._queue(dict(update))

    def pending_updates(self) -> int:
        return len(self._updates)

    def drop_updates(self) -> None:
        """Forget the queued updates (a test posts one by hand)."""
        self._updates.clear()

    def _member_update(
        self, chat_id: int, by: int, old: str, new: str, title: str = "Tổ dân phố"
    ) -> dict[str, Any]:
        chat = self._chat(chat_id, None)
        if chat_id < 0:
            chat["title"] = title
        return self._queue(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": self._user(by),
                    "date": int(time.time()),
                    "old_chat_member": {"status": old, "user": self.bot_user},
                    "new_chat_member": {
                        "status": new,
                        "user": self.bot_user,
                        **({"until_date": 0} if new == "kicked" else {}),
                    },
                }
            }
        )

    def _user(self, user_id: int, language_code: str = "vi") -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": "Cư dân",
            "username": f"user{user_id}",
            "language_code": language_code,
        }

    def _chat(self, chat_id: int, chat_type: str | None) -> dict[str, Any]:
        kind = chat_type or ("private" if chat_id > 0 else "group")
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = "Cư dân"
        else:
            chat["title"] = "Tổ dân phố"
        return chat

    def _message(
        self,
        chat_id: int,
        user_id: int | None,
        chat_type: str | None = None,
        language_code: str = "vi",
    ) -> dict[str, Any]:
        return {
            "message_id": self._message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat(chat_id, chat_type),
            "from": self._user(user_id or chat_id, language_code),
        }

    def _message_id(self, chat_id: int) -> int:
        self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
        return self._next_message_id[chat_id]

    def _queue(self, update: dict[str, Any]) -> dict[str, Any]:
        if "update_id" not in update:
            self._next_update_id += 1
            update["update_id"] = self._next_update_id
        self._updates.append(update)
        self._arrived.set()
        return update

    def _store(self, data: bytes) -> str:
        file_id = "AgAC" + secrets.token_urlsafe(24)
        self.files[file_id] = data
        return file_id

    # ---- steering ------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
        migrate_to_chat_id: int | None = None,
        raw_body: str | None = None,
    ) -> None:
        self._failures.setdefault(method, deque()).append(
            _Failure(status, times, retry_after, description, migrate_to_chat_id, raw_body)
        )

    def delay_next(
        self, method: str, seconds: float, times: int = 1, *, chat_id: int | None = None
    ) -> None:
        """Hold the next `times` calls of `method` (to `chat_id` only, when given)."""
        key = method if chat_id is None else f"{method}:{chat_id}"
        self._delays.setdefault(key, deque()).append([seconds, times])

    def block(self, chat_id: int) -> None:
        self.blocked.add(chat_id)

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        return self.commands.get(_scope_key(scope, language_code), [])

    async def wait_for_sent(
        self,
        count: int = 1,
        *,
        chat_id: int | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        def matching() -> list[dict[str, Any]]:
            return [m for m in self.sent if chat_id is None or m["chat_id"] == chat_id]

        await self._wait(lambda: len(matching()) >= count, timeout, f"{count} sent message(s)")
        return matching()

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        def matching() -> list[dict[str, Any]]:
            return [params for name, params in self.calls if name == method]

        await self._wait(lambda: len(matching()) >= count, timeout, f"{count} {method} call(s)")
        return matching()

    async def _wait(self, condition: Any, timeout: float, what: str) -> None:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"expected {what} within {timeout}s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def push_updates_to_webhook(
        self, url: str, secret_token: str | None, *, raw_body: bytes | None = None
    ) -> list[int]:
        """POST queued updates as Telegram does; one answered non-2xx stays queued (and
        the pushing stops there), as Telegram retries it later."""
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        statuses: list[int] = []
        async with ClientSession(timeout=ClientTimeout(total=30)) as session:
            while self._updates:
                update = self._updates[0]
                body = raw_body if raw_body is not None else json.dumps(update).encode()
                async with session.post(url, data=body, headers=headers) as response:
                    answer = await response.read()
                    statuses.append(response.status)
                if not 200 <= response.status < 300:
                    break
                self._updates.popleft()
                await self.run_webhook_answer(answer)
        return statuses

    async def run_webhook_answer(self, answer: bytes) -> None:
        """Telegram runs the API call a webhook's answer holds ({"method": ...}), as if
        the bot had made it."""
        try:
            call = json.loads(answer)
        except ValueError:
            return
        if not isinstance(call, dict) or not isinstance(call.get("method"), str):
            return
        method = call.pop("method")
        self.calls.append((method, call))
        self.webhook_calls.append((method, call))
        self._changed.set()
        handler = getattr(self, "_m_" + method, None)
        if handler is not None:
            await handler(call, {})

    # ---- the API -------------------------------------------------------------------------

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["bot"] != f"bot{self.token}":
            return web.Response(status=401)
        data = self.files.get(request.match_info["path"].split("/")[-1])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["bot"] != f"bot{self.token}":
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params, uploads = await _read_params(request)
        self.calls.append((method, params))
        self._changed.set()
        delay = self._take(self._delays, method)
        if delay is None and "chat_id" in params:
            delay = self._take(self._delays, f"{method}:{_int(params.get('chat_id'))}")
        if delay is not None:
            try:
                await asyncio.wait_for(self._stopping.wait(), delay)
            except TimeoutError:
                pass
        failure = self._take(self._failures, method)
        if failure is not None:
            return self._injected(failure)
        if method in SEND_METHODS:
            refused = self._refuse_send(params)
            if refused is not None:
                return refused
        if method == "getUpdates":
            return await self._get_updates(request, params)
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            return self._error(404, "Not Found")
        return await handler(params, uploads)

    def _refuse_send(self, params: dict[str, Any]) -> web.Response | None:
        chat_id = _int(params.get("chat_id"))
        if chat_id in self.migrated:
            return self._error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        if chat_id in self.blocked:
            if chat_id > 0:
                return self._error(403, "Forbidden: bot was blocked by the user")
            return self._error(403, "Forbidden: bot was kicked from the group chat")
        if self.server_error_rate and self._random.random() < self.server_error_rate:
            self.server_errors += 1
            return self._error(500, "Internal Server Error")
        if self.enforce_limits:
            wait = self._over_limit(chat_id)
            if wait:
                self.rate_limited += 1
                return self._error(
                    429, f"Too Many Requests: retry after {wait}", {"retry_after": wait}
                )
        return None

    def _over_limit(self, chat_id: int) -> int:
        now = time.monotonic()
        window, per = (60.0, 20) if chat_id < 0 else (1.0, 1)
        chat = self._chat_sends.setdefault(chat_id, deque())
        while self._sends and now - self._sends[0] >= 1.0:
            self._sends.popleft()
        while chat and now - chat[0] >= window:
            chat.popleft()
        if len(self._sends) >= self.overall_per_second:
            return max(1, int(1.0 - (now - self._sends[0]) + 0.999))
        if len(chat) >= per:
            return max(1, int(window - (now - chat[0]) + 0.999))
        self._sends.append(now)
        chat.append(now)
        return 0

    async def _m_getMe(self, params: dict, uploads: dict) -> web.Response:
        return self._ok(self.bot_user)

    async def _get_updates(self, request: web.Request, params: dict) -> web.Response:
        if self.webhook is not None:
            return self._error(
                409,
                "Conflict: can't use getUpdates method while webhook is "
                "active; use deleteWebhook to delete the webhook first",
            )
        # Telegram serves one getUpdates per token at a time: a newer one ends the one
        # still open, which is answered 409 (and the newer one is answered as usual).
        if self._open_poll is not None:
            self._open_poll.set()
        ended = self._open_poll = asyncio.Event()
        try:
            offset = _int(params.get("offset"))
            if offset:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
            limit = min(100, _int(params.get("limit")) or 100)
            wait = min(float(_int(params.get("timeout")) or 0), self.max_poll)
            if not self._updates and wait > 0:
                await self._first_of(self._arrived, ended, wait)
            if ended.is_set():
                if request.transport is None or request.transport.is_closing():
                    return self._ok([])  # the client gave up this poll: nobody hears a 409
                self.poll_conflicts += 1
                return self._error(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if self._stopping.is_set():
                return self._ok([])
            return self._ok(list(self._updates)[:limit])
        finally:
            if self._open_poll is ended:
                self._open_poll = None

    @staticmethod
    async def _first_of(arrived: asyncio.Event, ended: asyncio.Event, wait: float) -> None:
        """Wait until an update arrives, the poll is ended by a newer one, or `wait` s."""
        arrived.clear()
        waits = [asyncio.ensure_future(arrived.wait()), asyncio.ensure_future(ended.wait())]
        try:
            await asyncio.wait(waits, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()

    async def _m_setWebhook(self, params: dict, uploads: dict) -> web.Response:
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            return self._error(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = {
            "url": params.get("url", ""),
            "secret_token": secret,
            "allowed_updates": params.get("allowed_updates"),
        }
        return self._ok(True)

    async def _m_deleteWebhook(self, params: dict, uploads: dict) -> web.Response:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return self._ok(True)

    async def _m_getWebhookInfo(self, params: dict, uploads: dict) -> web.Response:
        url = self.webhook["url"] if self.webhook else ""
        return self._ok(
            {
                "url": url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
        )

    async def _m_sendMessage(self, params: dict, uploads: dict) -> web.Response:
        text = params.get("text", "")
        if not isinstance(text, str) or not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if _utf16(text) > MAX_TEXT:
            return self._error(400, "Bad Request: message is too long")
        return self._record("sendMessage", params, {"text": text}, text=text)

    async def _m_sendPhoto(self, params: dict, uploads: dict) -> web.Response:
        return self._send_file("sendPhoto", "photo", params, uploads)

    async def _m_sendDocument(self, params: dict, uploads: dict) -> web.Response:
        return self._send_file("sendDocument", "document", params, uploads)

    def _send_file(self, method: str, field: str, params: dict, uploads: dict) -> web.Response:
        caption = params.get("caption", "") or ""
        if _utf16(caption) > MAX_CAPTION:
            return self._error(400, "Bad Request: message caption is too long")
        reference = str(params.get(field, ""))
        if reference.startswith("attach://"):
            filename, data = uploads.get(reference[len("attach://") :], ("", b""))
        elif reference.startswith(("http://", "https://")):  # Telegram fetches it itself
            filename, data = reference.rsplit("/", 1)[-1], reference.encode()
        else:
            filename, data = "", self.files.get(reference, b"")
        if not data:
            return self._error(400, f"Bad Request: there is no {field} in the request")
        file_id = self._store(data)
        if field == "photo":
            content: dict[str, Any] = {
                "photo": [
                    {
                        "file_id": file_id,
                        "file_unique_id": file_id[:12],
                        "width": 800,
                        "height": 600,
                        "file_size": len(data),
                    }
                ]
            }
        else:
            content = {
                "document": {
                    "file_id": file_id,
                    "file_unique_id": file_id[:12],
                    "file_name": filename,
                    "file_size": len(data),
                }
            }
        if caption:
            content["caption"] = caption
        return self._record(method, params, content, caption=caption, file=data, filename=filename)

    def _record(
        self, method: str, params: dict, content: dict[str, Any], **extra: Any
    ) -> web.Response:
        chat_id = _int(params.get("chat_id"))
        message = {
            "message_id": self._message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat(chat_id, "supergroup" if chat_id < -1_000_000 else None),
            "from": self.bot_user,
            **content,
        }
        markup = params.get("reply_markup")
        if markup:
            message["reply_markup"] = markup
        self.sent.append(
            {
                "method": method,
                "chat_id": chat_id,
                "message_id": message["message_id"],
                "reply_markup": markup or None,
                "protect_content": bool(params.get("protect_content", False)),
                "params": params,
                "result": message,
                **extra,
            }
        )
        self._changed.set()
        return self._ok(message)

    async def _m_answerCallbackQuery(self, params: dict, uploads: dict) -> web.Response:
        query_id = params.get("callback_query_id")
        if query_id not in self._callbacks:
            return self._error(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._callbacks.discard(query_id)
        self.answered_callbacks.append(params)
        return self._ok(True)

    async def _m_editMessageText(self, params: dict, uploads: dict) -> web.Response:
        return self._ok(True)

    async def _m_editMessageReplyMarkup(self, params: dict, uploads: dict) -> web.Response:
        return self._ok(True)

    async def _m_deleteMessage(self, params: dict, uploads: dict) -> web.Response:
        chat_id, message_id = _int(params.get("chat_id")), _int(params.get("message_id"))
        if not self._known(chat_id, message_id):
            return self._error(400, "Bad Request: message to delete not found")
        self.deleted.append((chat_id, message_id))
        self._changed.set()
        return self._ok(True)

    async def _m_deleteMessages(self, params: dict, uploads: dict) -> web.Response:
        chat_id = _int(params.get("chat_id"))
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not ids:
            return self._error(400, "Bad Request: message identifiers are not specified")
        if len(ids) > 100:
            return self._error(400, "Bad Request: too many messages to delete")
        for message_id in ids:
            if self._known(chat_id, int(message_id)):
                self.deleted.append((chat_id, int(message_id)))
        self._changed.set()
        return self._ok(True)

    def _known(self, chat_id: int, message_id: int) -> bool:
        return 0 < message_id <= self._next_message_id.get(chat_id, 0)

    async def _m_setMyCommands(self, params: dict, uploads: dict) -> web.Response:
        commands = params.get("commands")
        if not isinstance(commands, list):
            return self._error(400, "Bad Request: BOT_COMMANDS_INVALID")  # guess
        for command in commands:
            if not _COMMAND.fullmatch(str(command.get("command", ""))):
                return self._error(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                return self._error(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = _scope_key(params.get("scope"), params.get("language_code") or "")
        self.commands[key] = commands
        return self._ok(True)

    async def _m_deleteMyCommands(self, params: dict, uploads: dict) -> web.Response:
        self.commands.pop(_scope_key(params.get("scope"), params.get("language_code") or ""), None)
        return self._ok(True)

    async def _m_getMyCommands(self, params: dict, uploads: dict) -> web.Response:
        return self._ok(self.commands_for(params.get("scope"), params.get("language_code") or ""))

    async def _m_getFile(self, params: dict, uploads: dict) -> web.Response:
        file_id = str(params.get("file_id", ""))
        data = self.files.get(file_id)
        if data is None:
            return self._error(400, "Bad Request: invalid file_id")
        return self._ok(
            {
                "file_id": file_id,
                "file_unique_id": file_id[:12],
                "file_size": len(data),
                "file_path": f"photos/{file_id}",
            }
        )

    async def _m_sendChatAction(self, params: dict, uploads: dict) -> web.Response:
        return self._ok(True)

    # ---- answers -------------------------------------------------------------------------

    @staticmethod
    def _take(table: dict[str, deque[Any]], method: str) -> Any:
        queue = table.get(method)
        if not queue:
            return None
        entry = queue[0]
        if isinstance(entry, list):  # a delay: [seconds, times]
            entry[1] -= 1
            if entry[1] <= 0:
                queue.popleft()
            return entry[0]
        entry.times -= 1
        if entry.times <= 0:
            queue.popleft()
        return entry

    def _injected(self, failure: _Failure) -> web.Response:
        if failure.raw_body is not None:
            return web.Response(
                status=failure.status, text=failure.raw_body, content_type="text/html"
            )
        parameters: dict[str, Any] = {}
        description = failure.description
        if failure.status == 429:
            retry = failure.retry_after if failure.retry_after is not None else 1
            parameters["retry_after"] = retry
            description = description or f"Too Many Requests: retry after {retry}"
        if failure.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = failure.migrate_to_chat_id
        if description is None:
            description = {
                500: "Internal Server Error",
                502: "Bad Gateway",
                503: "Service Unavailable",
                403: "Forbidden",
                400: "Bad Request",
            }.get(failure.status, "Error")
        return self._error(failure.status, description, parameters or None)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str, parameters: dict | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=code)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """Form fields (JSON-decoded where aiogram encoded them), uploads by field name."""
    params: dict[str, Any] = {}
    uploads: dict[str, Any] = {}
    if request.content_type == "application/json":
        body = await request.json()
        return (body if isinstance(body, dict) else {}), uploads
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if part.filename is not None:
                uploads[part.name] = (part.filename, await part.read())
            else:
                params[part.name] = _decode(part.name, await part.text())
        return params, uploads
    form = await request.post()
    for key, value in form.items():
        params[key] = _decode(key, str(value))
    return params, uploads


def _decode(name: str | None, value: str) -> Any:
    if name in STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _utf16(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _scope_key(scope: Any, language_code: str) -> str:
    return json.dumps([scope or {"type": "default"}, language_code or ""], sort_keys=True)
