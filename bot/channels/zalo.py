"""The Zalo channel, on the thin client in zalo_api.py.

Zalo has no buttons: the core's options are sent as a numbered list and a typed number
picks one. It cannot delete messages, and sendPhoto wants a public URL, so files for
officers are named in the text (the officer reads them on Telegram or asks again).

Zalo's getUpdates hands out one update per call and has no offset: an update is gone
from Zalo's side once returned, so the bot handles it at once and only then asks for
the next. Privacy as in zalo_api.py: no id, text or URL reaches a log.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from bot.channels.base import Backoff, Failure, Fault, MalformedUpdate, NetworkChannel, Part
from bot.channels.rendering import numbered_text
from bot.channels.zalo_api import (
    EVENT_IMAGE,
    EVENT_STICKER,
    EVENT_TEXT,
    ZaloBotAPI,
    ZaloError,
    ZaloForbidden,
    ZaloNetworkError,
    ZaloRateLimited,
    ZaloServerError,
    ZaloUpdate,
    parse_update,
    split_text,
)
from engine.conversation import Dispatcher
from kernel.config import ChannelSettings
from kernel.errors import describe
from kernel.faults import PROGRAMMING_ERRORS
from kernel.messages import Attachment, ChannelInfo, ChatKind, Inbound, Reply
from kernel.routes import Route
from storage.attachments import MAX_BYTES

log = logging.getLogger(__name__)

CHANNEL = "zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"  # noqa: S105  # a header name
# Short polls: a poll in progress is never cut (what Zalo hands out is gone from its side),
# so this is also the longest a shutdown waits for it.
POLL_SECONDS = 10
MAX_IN_HAND = 100
# Where a resident's photo may be fetched from: https on the default port, from a host
# under one of these domains (Zalo's file CDNs), or from the configured api_base's own
# origin. Zalo's Bot Platform documents no host for `photo_url`; public code shows Zalo
# chat photos on *.zdn.vn (f21-zpc.zdn.vn, f3.photo.talk.zdn.vn, photo-stal-1.zdn.vn)
# and static files and avatars on *.zadn.vn. Anything else would let an update make the
# bot fetch from its own network (SSRF), so it is refused, and so is every redirect.
ZALO_FILE_DOMAINS = ("zdn.vn", "zadn.vn")
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")


class ZaloChannel(NetworkChannel):
    def __init__(self, dispatcher: Dispatcher, settings: ChannelSettings, **kwargs: Any):
        super().__init__(dispatcher, settings, **kwargs)
        self.api = ZaloBotAPI(
            settings.token, api_base=settings.api_base, request_timeout=POLL_SECONDS + 15
        )
        self._files: aiohttp.ClientSession | None = None
        self._info = ChannelInfo(CHANNEL, can_delete_messages=False, fetch=self._fetch)

    @property
    def info(self) -> ChannelInfo:
        return self._info

    async def close(self) -> None:
        await self.api.close()
        if self._files is not None:
            await self._files.close()

    async def connect(self) -> None:
        await self.api.get_me()
        if self.settings.mode == "webhook":
            await self.api.set_webhook(self.settings.webhook_url, self.settings.webhook_secret)
        elif (await self.api.get_webhook_info()).get("url"):
            await self.api.delete_webhook()  # getUpdates does not work while one is set

    # ---- receiving ----------------------------------------------------------------------

    async def poll(self) -> None:
        """Zalo documents no conflict between two pollers of one token (each call hands
        out a different update), but two would answer one chat's messages out of order:
        on PostgreSQL only the leading process polls (NetworkChannel._poll_when_leading)."""
        backoff = Backoff(first=self.policy.first_backoff * 2)
        while not self.poll_halted.is_set():
            try:
                updates = await self.api.get_updates(timeout=POLL_SECONDS)
            except Exception as exc:
                failure = self.classify(exc)
                delay = backoff.next(failure)
                self.state = "retrying"
                self.counts[f"poll_{failure.fault}"] += 1
                log.warning(
                    "zalo: cannot fetch updates (%s, %s); retrying in %.0f s",
                    failure.fault,
                    describe(exc),
                    delay,
                )
                await self._sleep(delay)
                continue
            backoff.reset()
            self.state = "running"
            for update in updates:  # already handed out by Zalo: handled even when stopping
                inbound = self.translate(update)
                if inbound is not None:
                    self.process_soon(inbound)  # answered meanwhile; one chat in order
            await self.room_for(MAX_IN_HAND)
        await self.finish_in_flight()

    async def read_webhook(self, body: Any) -> list[Inbound]:
        inner = body.get("result") if isinstance(body, dict) and body.get("ok") is True else body
        if not isinstance(inner, dict) or not isinstance(inner.get("event_name"), str):
            raise MalformedUpdate("not a Zalo update")
        update = parse_update(inner)
        if update is None:
            if inner["event_name"].startswith("message."):
                raise MalformedUpdate("a Zalo message without the fields every message has")
            return []  # an event the bot does not handle
        inbound = self.translate(update)
        return [] if inbound is None else [inbound]

    def translate(self, update: ZaloUpdate) -> Inbound | None:
        group = update.chat_type == "GROUP"
        if group:
            if not update.text.startswith("/"):
                return None  # group chatter is not for the bot: not even read
            route = Route(CHANNEL, update.chat_id, update.user_id)
        else:
            route = Route(CHANNEL, update.chat_id)
        attachments: tuple[Attachment, ...] = ()
        if update.event_name == EVENT_IMAGE:
            attachments = (Attachment("photo", update.photo_url or "", "image/jpeg", 0),)
        elif update.event_name == EVENT_STICKER:
            attachments = (Attachment("sticker"),)
        elif update.event_name != EVENT_TEXT:
            attachments = (Attachment("other"),)
        return Inbound(
            route,
            ChatKind.GROUP if group else ChatKind.PRIVATE,
            text=update.text,
            attachments=attachments,
            message_id=update.message_id,
        )

    async def _fetch(self, attachment: Attachment) -> bytes:
        """A resident's photo from Zalo's file server, at most the size the bot accepts.
        Only a URL of Zalo's (see ZALO_FILE_DOMAINS) or of api_base's own origin is
        fetched: no userinfo, no IP literal, no other port, no redirect."""
        ref = attachment.file_ref
        try:
            if not ref.isascii() or not ref.isprintable() or "@" in urlsplit(ref).netloc:
                raise ValueError("not a plain URL")
            url, api = URL(ref), URL(self.settings.api_base)
        except ValueError:
            raise LookupError("not a Zalo file URL") from None
        host = (url.raw_host or "").lower()
        try:
            ipaddress.ip_address(host)
            literal = True
        except ValueError:
            literal = False
        zalo = (
            url.scheme == "https"
            and url.explicit_port in (None, 443)
            and not literal
            and _HOST_NAME.fullmatch(host) is not None
            and any(host == d or host.endswith("." + d) for d in ZALO_FILE_DOMAINS)
        )
        own = url.is_absolute() and (url.scheme, host, url.port) == (
            api.scheme,
            (api.raw_host or "").lower(),
            api.port,
        )
        if url.user is not None or url.password is not None or not (zalo or own):
            raise LookupError("not a Zalo file URL")
        if self._files is None:
            self._files = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        try:
            async with self._files.get(url, allow_redirects=False) as response:
                if response.status != 200:  # a redirect too: it could lead anywhere
                    raise LookupError(f"file not fetched (HTTP {response.status})")
                if (response.content_length or 0) > MAX_BYTES:
                    raise LookupError("file too large")
                data = await response.content.read(MAX_BYTES + 1)
        except LookupError:
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise LookupError(f"file not fetched ({type(exc).__name__})") from None
        if len(data) > MAX_BYTES:
            raise LookupError("file too large")
        return data

    # ---- sending ------------------------------------------------------------------------

    def parts(self, reply: Reply) -> list[Part]:
        photos = [self._photo_part(m.url) for m in reply.media if m.url and m.kind == "image"]
        chunks = [c for c in split_text(numbered_text(reply)) if c.strip()]
        if not chunks and not photos:
            chunks = ["…"]
        return photos + [self._text_part(chunk) for chunk in chunks]

    def _photo_part(self, url: str) -> Part:
        async def call(route: Route) -> str | None:
            result = await self.api.send_photo(route.chat_id, url)
            message_id = result.get("message_id")
            return str(message_id) if message_id else None

        return call

    def _text_part(self, text: str) -> Part:
        async def call(route: Route) -> str | None:
            result = await self.api.send_message(route.chat_id, text)
            message_id = result.get("message_id")
            return str(message_id) if message_id else None

        return call

    async def delete_messages(self, route: Route, message_ids: tuple[str, ...]) -> None:
        raise NotImplementedError("Zalo bots cannot delete messages")

    def classify(self, exc: BaseException) -> Failure:
        if isinstance(exc, ZaloRateLimited):
            return Failure(Fault.THROTTLED, retry_after=float(exc.retry_after or 1.0))
        if isinstance(exc, ZaloForbidden):
            return Failure(Fault.GONE)
        if isinstance(exc, ZaloServerError | ZaloNetworkError | aiohttp.ClientError | TimeoutError):
            return Failure(Fault.TRANSIENT)
        if isinstance(exc, asyncio.CancelledError):
            raise exc
        if isinstance(exc, ZaloError):
            return Failure(Fault.REJECTED)
        if isinstance(exc, PROGRAMMING_ERRORS):  # ours, not Zalo's: ZaloBotAPI's are above
            return Failure(Fault.ERROR)
        return Failure(Fault.REJECTED)
