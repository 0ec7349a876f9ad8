"""A thin async client for the Zalo Bot Platform (the Telegram-like Bot API), on aiohttp.

Calls are ``POST {api_base}/bot<TOKEN>/<method>`` with a JSON body; answers are
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": "..."}``,
and an error can arrive with HTTP 200 and the code only in the body, so both are read.

Privacy: the token is part of the URL path, and requests carry chat ids and residents'
text. Nothing here logs a body, a URL, a chat id or a text, and no exception message or
repr contains them: server descriptions are cut short and scrubbed of the token and of
every value of the request before they are kept, and transport exceptions (whose text can
hold the URL) are replaced, not chained. There are no retries here: the delivery layer
decides, from the exception's class and ``retry_after``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any

import aiohttp
from yarl import URL

from bot.channels import rendering

log = logging.getLogger(__name__)


DEFAULT_API_BASE = "https://bot-api.zaloplatforms.com"
MAX_TEXT = 2000
SECRET_MIN = 8
SECRET_MAX = 256
DESCRIPTION_MAX = 200

EVENT_TEXT = "message.text.received"
EVENT_IMAGE = "message.image.received"
EVENT_STICKER = "message.sticker.received"
EVENT_UNSUPPORTED = "message.unsupported.received"
KNOWN_EVENTS = frozenset({EVENT_TEXT, EVENT_IMAGE, EVENT_STICKER, EVENT_UNSUPPORTED})

CHAT_PRIVATE = "PRIVATE"
CHAT_GROUP = "GROUP"

_POLL_GRACE = 5.0  # seconds a long poll may take beyond its own timeout
_OTHER_MESSAGE = re.compile(r"message\.[a-z0-9_.]{1,40}\.received")
_POLL_EMPTY = 408  # Zalo's answer to a long poll that saw no message
_SAFE_NAME = re.compile(r"[a-z][a-z0-9_.]{0,63}")
_SECRET_CHARS = re.compile(r"[\x21-\x7e]+")  # printable ASCII: it travels in a header


# ---- errors ------------------------------------------------------------------------------


class ZaloError(Exception):
    """A failed call. ``code`` is the API's error code (or the HTTP status); ``description``
    is the server's text, shortened and scrubbed of the token, chat ids and texts."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        method: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.description = description
        self.method = method
        self.retry_after = retry_after
        super().__init__(code, description)

    def __str__(self) -> str:
        where = f"Zalo {self.method}" if self.method else "Zalo"
        text = f"{where}: {self.code} {self.description}".rstrip()
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g}s)"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, description={self.description!r}, "
            f"method={self.method!r}, retry_after={self.retry_after!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_error,
            (type(self), self.code, self.description, self.method, self.retry_after),
        )


def _rebuild_error(
    cls: type[ZaloError], code: int, description: str, method: str, retry_after: float | None
) -> ZaloError:
    return cls(code, description, method=method, retry_after=retry_after)


class ZaloUnauthorized(ZaloError):
    """401: the token is wrong or revoked. Retrying will not help."""


class ZaloForbidden(ZaloError):
    """403: the bot may not write to this chat (blocked, left the group)."""


class ZaloRateLimited(ZaloError):
    """429: too many calls; wait ``retry_after`` seconds when it is known."""


class ZaloServerError(ZaloError):
    """5xx, or an answer that could not be read: Zalo's side, usually worth a retry."""


class ZaloNetworkError(ZaloError):
    """No answer: connection refused or reset, DNS, TLS, timeout (``code`` 0), or 408."""


# ---- updates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ZaloUpdate:
    """One incoming message. ``text`` is the message text, or the caption of an image.
    Ids, text, photo URL and the raw payload are kept out of the repr."""

    event_name: str
    chat_id: str = field(repr=False)
    user_id: str = field(repr=False)
    chat_type: str
    text: str = field(repr=False)
    message_id: str = field(repr=False)
    date_ms: int
    photo_url: str | None = field(default=None, repr=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)


def parse_update(payload: Any) -> ZaloUpdate | None:
    """Read one update, as getUpdates returns it in ``result`` or as a webhook delivers it
    (plain, or wrapped as ``{"ok": true, "result": {...}}``). Returns None for anything
    unknown or malformed; never raises."""
    try:
        return _parse_update(payload)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None


def _parse_update(payload: Any) -> ZaloUpdate | None:
    if not isinstance(payload, dict):
        return None
    if payload.get("ok") is True and isinstance(payload.get("result"), dict):
        payload = payload["result"]
    event_name = payload.get("event_name")
    if event_name not in KNOWN_EVENTS:
        if not isinstance(event_name, str) or not _OTHER_MESSAGE.fullmatch(event_name):
            return None
        event_name = EVENT_UNSUPPORTED  # a voice note, a file, a video...: answered politely
    message = payload.get("message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat")
    sender = message.get("from")
    if not isinstance(chat, dict) or not isinstance(sender, dict):
        return None
    chat_id = _identifier(chat.get("id"))
    user_id = _identifier(sender.get("id"))
    message_id = _identifier(message.get("message_id"))
    if chat_id is None or user_id is None or message_id is None:
        return None
    photo_url: str | None = None
    if event_name == EVENT_TEXT:
        text = message.get("text", "")
    elif event_name == EVENT_IMAGE:
        text = message.get("caption") or ""
        url = message.get("photo_url") or message.get("photo")
        photo_url = url if isinstance(url, str) and url else None
    else:
        text = ""
    if not isinstance(text, str):
        return None
    return ZaloUpdate(
        event_name=event_name,
        chat_id=chat_id,
        user_id=user_id,
        chat_type=_chat_type(chat.get("chat_type"), chat_id, user_id),
        text=text,
        message_id=message_id,
        date_ms=_date_ms(message.get("date")),
        photo_url=photo_url,
        raw=payload,
    )


def _identifier(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def _chat_type(value: Any, chat_id: str, user_id: str) -> str:
    """PRIVATE or GROUP. When Zalo leaves it out, a chat whose id is the sender's is
    private; anything unclear counts as a group, the more careful of the two."""
    if isinstance(value, str) and value.upper() in (CHAT_PRIVATE, CHAT_GROUP):
        return value.upper()
    if value is None and chat_id == user_id:
        return CHAT_PRIVATE
    return CHAT_GROUP


def _date_ms(value: Any) -> int:
    """Milliseconds since the epoch (Zalo's unit); seconds are scaled; missing is 0."""
    number = _float_or_none(value)
    if number is None:
        return 0
    return int(number * 1000) if number < 10**11 else int(number)


# ---- the client --------------------------------------------------------------------------


class ZaloBotAPI:
    """The calls wardbot needs. Give it a session to share one, or it makes its own (and
    closes only that one in ``close``)."""

    def __init__(
        self,
        token: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        session: aiohttp.ClientSession | None = None,
        request_timeout: float = 35.0,
    ) -> None:
        if not isinstance(token, str) or not token or any(c in token for c in " /?#%\t\r\n"):
            raise ValueError("the Zalo token is empty or has characters a token cannot have")
        base = URL(api_base)
        if base.scheme not in ("http", "https") or not base.host or base.query_string:
            raise ValueError("api_base must be an http(s) URL without a query")
        if request_timeout <= 0:
            raise ValueError("request_timeout must be positive")
        self._token = token
        self._prefix = f"{str(base).rstrip('/')}/bot{token}/"
        self._session = session
        self._own_session = session is None
        self._request_timeout = float(request_timeout)
        self._closed = False
        self.skipped_updates = 0  # malformed or unknown updates dropped by get_updates

    def __repr__(self) -> str:
        return f"{type(self).__name__}(request_timeout={self._request_timeout:g})"

    async def __aenter__(self) -> ZaloBotAPI:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ---- methods -------------------------------------------------------------------------

    async def get_me(self) -> dict[str, Any]:
        return _as_dict(await self._call("getMe", {}))

    async def get_updates(self, timeout: int = 30) -> list[ZaloUpdate]:  # noqa: ASYNC109
        """Long poll: wait up to ``timeout`` seconds for messages (Zalo hands out one per
        call). An empty poll is ``[]``; unreadable or unknown updates are skipped and
        counted in ``skipped_updates``, never raised."""
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
            raise ValueError("timeout must be a whole number of seconds, 0 or more")
        limit = max(self._request_timeout, timeout + _POLL_GRACE)
        # The documentation types the field as a string.
        result = await self._call("getUpdates", {"timeout": str(timeout)}, timeout=limit)
        if result is None or result == {} or result == []:
            return []
        entries = result if isinstance(result, list) else [result]
        updates: list[ZaloUpdate] = []
        for entry in entries:
            update = parse_update(entry)
            if update is None:
                self.skipped_updates += 1
                log.info("zalo: skipped an update it cannot read (%s)", _event_label(entry))
            else:
                updates.append(update)
        return updates

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        """Send 1–2,000 characters (``split_text`` cuts longer texts); raises ValueError
        otherwise, without contacting Zalo."""
        _check_text(text, "text", allow_empty=False)
        return _as_dict(await self._call("sendMessage", {"chat_id": _chat(chat_id), "text": text}))

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> dict[str, Any]:
        """Send a photo that Zalo fetches from ``photo_url``; the caption may be empty."""
        if not isinstance(photo_url, str) or not photo_url.startswith(("http://", "https://")):
            raise ValueError("photo_url must be an http(s) URL")
        _check_text(caption, "caption", allow_empty=True)
        payload = {"chat_id": _chat(chat_id), "photo": photo_url}
        if caption:
            payload["caption"] = caption
        return _as_dict(await self._call("sendPhoto", payload))

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> dict[str, Any]:
        return _as_dict(
            await self._call("sendChatAction", {"chat_id": _chat(chat_id), "action": action})
        )

    async def set_webhook(self, url: str, secret_token: str) -> dict[str, Any]:
        """Have Zalo POST updates to ``url`` with ``secret_token`` in the header
        ``X-Bot-Api-Secret-Token`` (8–256 printable ASCII characters, no spaces)."""
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("the webhook url must be an http(s) URL (Zalo wants https)")
        if (
            not isinstance(secret_token, str)
            or not SECRET_MIN <= len(secret_token) <= SECRET_MAX
            or not _SECRET_CHARS.fullmatch(secret_token)
        ):
            raise ValueError(
                f"secret_token must be {SECRET_MIN}-{SECRET_MAX} printable ASCII characters "
                "without spaces"
            )
        return _as_dict(await self._call("setWebhook", {"url": url, "secret_token": secret_token}))

    async def delete_webhook(self) -> dict[str, Any]:
        return _as_dict(await self._call("deleteWebhook", {}))

    async def get_webhook_info(self) -> dict[str, Any]:
        """``{"url": ..., "updated_at": ...}``; ``url`` is "" when no webhook is set (Zalo
        answers that case with 404 rather than an empty url)."""
        try:
            info = _as_dict(await self._call("getWebhookInfo", {}))
        except ZaloError as exc:
            if type(exc) is ZaloError and exc.code == 404:
                return {"url": ""}
            raise
        info.setdefault("url", "")
        return info

    async def close(self) -> None:
        self._closed = True
        if self._own_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    # ---- plumbing ------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        if self._closed:
            raise RuntimeError("this ZaloBotAPI is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession()
        limit = self._request_timeout if timeout is None else timeout
        answer = await self._exchange(method, payload, limit)
        if isinstance(answer, str):  # the transport failed; `answer` names how
            log.info("zalo %s: no answer (%s)", method, answer)
            raise ZaloNetworkError(0, answer, method=method)
        status, headers, body = answer
        return self._result(method, payload, status, headers, body)

    async def _exchange(
        self, method: str, payload: dict[str, Any], limit: float
    ) -> tuple[int, Mapping[str, str], bytes] | str:
        """The HTTP round trip, or a short name for the failure. Failures are returned,
        not raised, so that no transport exception (whose text may hold the URL, and so
        the token) is chained to the one the caller sees."""
        assert self._session is not None
        try:
            async with self._session.post(
                self._prefix + method,
                json=payload,
                timeout=aiohttp.ClientTimeout(total=limit),
                allow_redirects=False,
            ) as response:
                return response.status, response.headers, await response.read()
        except TimeoutError:
            return "timed out"
        except aiohttp.ClientError as exc:
            return _failure_name(exc)
        except OSError as exc:
            return _failure_name(exc)

    def _result(
        self,
        method: str,
        payload: dict[str, Any],
        status: int,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Any:
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            answer = None
        if answer is not None and 200 <= status < 300 and answer.get("ok") is True:
            return answer.get("result")

        code = status
        if answer is not None and 200 <= status < 300:
            body_code = _int_or_none(answer.get("error_code"))
            code = body_code if body_code else status
        if method == "getUpdates" and code == _POLL_EMPTY:
            return None  # the long poll ended without a message: not an error
        if answer is None:
            description = _http_reason(status) if status >= 300 else "unreadable answer"
            if 200 <= status < 300:
                code = status
        else:
            description = self._scrub(answer.get("description"), payload) or _http_reason(code)
        retry_after = _retry_after(answer, headers)
        log.info("zalo %s: failed with %s", method, code)
        cls = _error_class(code, unreadable=answer is None and 200 <= status < 300)
        raise cls(code, description, method=method, retry_after=retry_after)

    def _scrub(self, description: Any, payload: dict[str, Any]) -> str:
        if not isinstance(description, str):
            return ""
        secrets = [self._token, *self._token.split(":")]
        secrets += [str(v) for v in payload.values() if isinstance(v, str | int)]
        for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
            description = description.replace(secret, "<redacted>")
        description = " ".join(description.split())
        if len(description) > DESCRIPTION_MAX:
            description = description[: DESCRIPTION_MAX - 1] + "…"
        return description


def _error_class(code: int, *, unreadable: bool) -> type[ZaloError]:
    if unreadable:
        return ZaloServerError
    if code == 401:
        return ZaloUnauthorized
    if code == 403:
        return ZaloForbidden
    if code == 429:
        return ZaloRateLimited
    if code == 408:
        return ZaloNetworkError
    if code >= 500:
        return ZaloServerError
    return ZaloError


def _retry_after(answer: dict[str, Any] | None, headers: Mapping[str, str]) -> float | None:
    if answer is not None:
        parameters = answer.get("parameters")
        if isinstance(parameters, dict):
            value = _float_or_none(parameters.get("retry_after"))
            if value is not None:
                return value
    header = headers.get("Retry-After")
    if header is None:
        return None
    value = _float_or_none(header)
    if value is not None:
        return value
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _float_or_none(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number or number < 0 or number == float("inf"):
        return None
    return number


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _http_reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


def _failure_name(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "cannot connect"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    return type(exc).__name__


def _event_label(entry: Any) -> str:
    name = entry.get("event_name") if isinstance(entry, dict) else None
    if isinstance(name, str) and _SAFE_NAME.fullmatch(name):
        return name
    return "no event name"


def _as_dict(result: Any) -> dict[str, Any]:
    return dict(result) if isinstance(result, dict) else {}


def _chat(chat_id: Any) -> str:
    if isinstance(chat_id, bool) or not isinstance(chat_id, str | int) or not str(chat_id):
        raise ValueError("chat_id must be a non-empty string")
    return str(chat_id)


def _check_text(text: Any, name: str, *, allow_empty: bool) -> None:
    if not isinstance(text, str):
        raise ValueError(f"{name} must be a string")
    size = zalo_length(text)
    if size > MAX_TEXT or (size == 0 and not allow_empty):
        raise ValueError(f"{name} must be 1-{MAX_TEXT} characters, this one has {size}")


def zalo_length(text: str) -> int:
    """Zalo most likely counts UTF-16 code units, as Java and JavaScript do."""
    return rendering.utf16_length(text)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of 1..``limit`` characters, cut losslessly (see rendering.split_text)."""
    return rendering.split_text(text, limit)
