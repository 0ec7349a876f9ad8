"""The Telegram channel, on aiogram's Bot API client.

aiogram is the HTTP client and the typed model of updates; the conversation is the
shared core's, so aiogram's own dispatcher is not used. Polling is a plain loop over
getUpdates: an update is confirmed to Telegram (the next call's `offset`) only after
the core committed it and its replies went out, so a crash or a kill leaves it for
redelivery instead of dropping it.

Privacy: updates carry names, usernames, phone numbers (a shared contact) and ids. Only
the chat id and user id travel on, inside a Route; names, usernames and contacts are
never read, and nothing from an update is logged but its type.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from dataclasses import replace
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods.base import Response
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    BufferedInputFile,
    File,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from aiohttp import ClientError
from pydantic import ValidationError

from bot.channels.base import Backoff, Failure, Fault, MalformedUpdate, NetworkChannel, Part
from bot.channels.rendering import numbered_text, split_text
from engine.conversation import Dispatcher
from kernel.config import ChannelSettings
from kernel.errors import describe
from kernel.faults import PROGRAMMING_ERRORS
from kernel.i18n import N_
from kernel.messages import Attachment, ChannelInfo, ChatEvent, ChatKind, Inbound, Media, Reply
from kernel.routes import Route
from storage import officers
from storage.attachments import MAX_BYTES
from storage.db import Lead
from storage.models import POLICE_ROLES

log = logging.getLogger(__name__)

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  # a header name
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
DELETE_BATCH = 100
POLL_SECONDS = 25
MAX_IN_HAND = 100
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
# aiogram reads every answer as `Response[<what the call returns>]`, and pydantic keeps
# such a class only while something refers to it: once the garbage collector dropped
# it, the next call built it again (2.5 ms here, 5% of the event loop under load).
# Referred to here for what the bot's calls return, so they are built once.
RESPONSE_TYPES = (Response[Message], Response[bool], Response[list[Update]], Response[File])
GROUP_TYPES = ("group", "supergroup")
PRESENT = ("member", "administrator", "restricted", "creator")
ABSENT = ("left", "kicked")

RESIDENT_COMMANDS = (
    ("start", N_("Open the menu")),
    ("report", N_("Report a tip")),
    ("status", N_("Check a tip you sent")),
    ("hotline", N_("Hotline numbers")),
    ("campaign", N_("The campaign")),
    ("subscribe", N_("Receive anti-drug messages")),
    ("pledge", N_("The drug-free family pledge")),
    ("quiz", N_("This week's quiz")),
    ("invite", N_("Invite neighbours")),
    ("stop", N_("Stop the anti-drug messages")),
    ("language", N_("Language / Ngôn ngữ")),
)
OFFICER_COMMANDS = (
    ("queue", N_("Open tips")),
    ("tip", N_("Show a tip: /tip CODE")),
    ("claim", N_("Take a tip: /claim CODE")),
    ("close", N_("Close a tip: /close CODE OUTCOME")),
    ("stats", N_("Ward statistics")),
    ("broadcast", N_("Write a message for residents")),
    ("broadcasts", N_("Broadcasts and their progress")),
    ("progress", N_("Drug-free residential groups against targets")),
    ("drugfree", N_("Record a TDP's drug-free status")),
    ("orgpledge", N_("Record a school's or business's pledge")),
    ("baocao", N_("Commander: the monthly report (PDF)")),
    ("help", N_("Police commands")),
)
GROUP_COMMANDS = (
    ("start", N_("How to report safely")),
    ("register_group", N_("Police: register this chat for a TDP")),
)


class TelegramChannel(NetworkChannel):
    def __init__(self, dispatcher: Dispatcher, settings: ChannelSettings, **kwargs: Any):
        super().__init__(dispatcher, settings, **kwargs)
        server = TelegramAPIServer.from_base(settings.api_base)
        session = AiohttpSession(api=server, json_loads=self._loads)
        self.bot = Bot(settings.token, session=session)
        self.username = ""
        self._offset: int | None = None
        self._highest = -1  # the highest update id seen
        self._in_hand: set[int] = set()  # seen at or after the offset: never started twice
        self._unfinished: dict[int, asyncio.Task[None]] = {}
        self._left: set[int] = set()  # not handled because polling halted: left to Telegram
        self._uncommitted: set[int] = set()  # started, first transaction not yet committed
        self._progress = asyncio.Event()
        opts = self.poll_options
        self._conflict_backoff = Backoff(first=opts.conflict_first, most=opts.conflict_most)
        self._conflict_logged: float | None = None  # when the conflict was last logged
        self._conflict_announced = False  # logged, and polling again not logged yet
        self._officer_chats: set[str] = set()
        self._info = ChannelInfo(
            CHANNEL, can_delete_messages=True, can_send_files=True, fetch=self._fetch
        )

    @property
    def info(self) -> ChannelInfo:
        return self._info

    async def close(self) -> None:
        await self.bot.session.close()

    # ---- connecting ---------------------------------------------------------------------

    async def connect(self) -> None:
        me = await self.bot.get_me()
        self.username = me.username or ""
        if self.settings.mode == "webhook":
            await self.bot.set_webhook(
                self.settings.webhook_url,
                secret_token=self.settings.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            # Updates waiting from before are kept: they are residents' messages.
            await self.bot.delete_webhook(drop_pending_updates=False)
        await self._set_commands()

    async def _set_commands(self) -> None:
        """Residents see their commands everywhere; officers also see theirs, in their own
        chats only. A failure here costs a menu, not a message: logged, not fatal."""
        translator = self.services.translator
        try:
            for language in ("", "en"):
                _ = translator.get(language or self.services.settings.default_language).gettext
                resident = [BotCommand(command=c, description=_(d)) for c, d in RESIDENT_COMMANDS]
                group = [BotCommand(command=c, description=_(d)) for c, d in GROUP_COMMANDS]
                await self.bot.set_my_commands(
                    resident, BotCommandScopeDefault(), language_code=language or None
                )
                await self.bot.set_my_commands(
                    group, BotCommandScopeAllGroupChats(), language_code=language or None
                )
            await self.refresh_officer_commands()
        except Exception as exc:
            log.warning("telegram: commands menu not set (%s)", describe(exc))

    async def housekeeping(self) -> None:
        try:
            await self.refresh_officer_commands()
        except Exception as exc:
            log.info("telegram: officer commands not refreshed (%s)", describe(exc))

    async def refresh_officer_commands(self) -> int:
        """Give officers enrolled on Telegram since the last refresh their commands menu."""
        async with self.services.db.transaction() as session:
            active = [
                o for o in await officers.active_officers(session) if o.role in POLICE_ROLES
            ]  # a city's figures-only staff get the residents' menu and /thanhpho
            routes = [officers.read_route(self.services.vault, officer) for officer in active]
        _ = self.services.translator.get(self.services.settings.default_language).gettext
        commands = [
            BotCommand(command=c, description=_(d))
            for c, d in (*RESIDENT_COMMANDS, *OFFICER_COMMANDS)
        ]
        added = 0
        for route in routes:
            if route is None or route.channel != CHANNEL or route.chat_id in self._officer_chats:
                continue
            scope = BotCommandScopeChat(chat_id=int(route.chat_id))
            await self.bot.set_my_commands(commands, scope)
            self._officer_chats.add(route.chat_id)
            added += 1
        return added

    # ---- receiving ----------------------------------------------------------------------

    async def poll(self) -> None:
        """Updates are answered concurrently (one chat's in order). Telegram is told an
        update is done (the next call's offset) only when it and every earlier one are:
        until then a crash leaves them for redelivery. Updates handed out again while
        still in hand are skipped.

        A 409 (another instance asked for this token's updates meanwhile; Telegram then
        hands each of them the updates nobody confirmed yet) ends the poll: the updates
        being answered are finished, those still waiting for their chat are left to the
        other instance, and nothing more is asked for, not even a confirmation, which
        would take updates from it (`wait_out_conflict` decides when to poll again). The
        next poll starts from what Telegram holds, not from this one's offset."""
        self._forget_offsets()
        backoff = Backoff(first=self.policy.first_backoff * 2)
        began = asyncio.get_running_loop().time()
        while not self.poll_halted.is_set():
            await self._room_for_more()
            try:
                # Unconfirmed updates come back on the next call, so a poll can be cut.
                asked_with = self._confirmable()
                updates = await self.unless_stopped(
                    self.bot.get_updates(
                        offset=asked_with,
                        timeout=0 if self._uncommitted else POLL_SECONDS,
                        allowed_updates=ALLOWED_UPDATES,
                        request_timeout=POLL_SECONDS + 15,
                    )
                )
            except ClientDecodeError as exc:
                # One update aiogram cannot read would otherwise block every later one.
                updates = self._readable(exc.data)
                if updates is None:
                    self.counts["poll_unreadable"] += 1
                    await self._sleep(backoff.next())
                    continue
            except TelegramConflictError as exc:
                self._conflicted(exc, began)
                break
            except Exception as exc:
                failure = self.classify(exc)
                delay = backoff.next(failure)
                self.state = "retrying"
                self.counts[f"poll_{failure.fault}"] += 1
                log.warning(
                    "telegram: cannot fetch updates (%s, %s); retrying in %.0f s",
                    failure.fault,
                    describe(exc),
                    delay,
                )
                await self._sleep(delay)
                continue
            if updates is None:
                break
            backoff.reset()
            self._polling_again()
            fresh = [u for u in updates if u.update_id not in self._in_hand]
            for update in fresh:
                if self.poll_halted.is_set():
                    break  # the rest is not confirmed: Telegram hands it out again
                self._start(update)
            if not fresh and self._uncommitted:
                # All that came back is in hand: ask again once the offset has moved
                # (the same answer would come back), or after a short while.
                await self._offset_moved(asked_with)
        await asyncio.gather(*self._unfinished.values(), return_exceptions=True)
        if self.poll_halted_for == "stopping":
            await self._confirm()  # not after a conflict or a lost lead: another polls

    def _forget_offsets(self) -> None:
        """A new poll asks from what Telegram holds (no offset): after a conflict or a
        lost lead, another instance may have answered and confirmed updates since."""
        self._offset, self._highest = None, -1
        self._in_hand.clear()
        self._left.clear()

    def _conflicted(self, exc: TelegramConflictError, began: float) -> None:
        """A 409 on getUpdates: logged once, then again at most every conflict_reminder
        seconds; counted; the poll halts."""
        options = self.poll_options
        now = asyncio.get_running_loop().time()
        if now - began >= options.conflict_most:
            self._conflict_backoff.reset()  # polled long enough without one: start short
        self.counts["poll_conflict"] += 1
        self.state = "conflict"
        self.halt_polling("conflict")
        last = self._conflict_logged
        if last is not None and now - last < options.conflict_reminder:
            return
        self._conflict_logged, self._conflict_announced = now, True
        if "webhook" in exc.message.lower():
            log.warning(
                "telegram: a webhook is set for this token (another instance runs in "
                "webhook mode?), so Telegram refuses getUpdates (409 Conflict, %d so "
                "far); this one stops polling until it is removed",
                self.counts["poll_conflict"],
            )
            return
        log.warning(
            "telegram: another instance is polling with this token; this one stops "
            "asking for updates until the other seems gone (Telegram answered 409 "
            "Conflict, %d so far). Run one poller per token: on PostgreSQL the "
            "processes of one bot agree on one by themselves; a second bot with this "
            "token or a second SQLite deployment must be stopped",
            self.counts["poll_conflict"],
        )

    def _polling_again(self) -> None:
        if self.state == "conflict" and self._conflict_announced:
            self._conflict_announced = False
            log.info(
                "telegram: polling again after a conflict (%d so far)", self.counts["poll_conflict"]
            )
        self.state = "running"

    async def wait_out_conflict(self, lead: Lead) -> None:
        """After a conflict: ask for no updates (that would take them from the instance
        polling now), but look every conflict_check seconds how many wait at Telegram
        (getWebhookInfo, which takes nothing). Poll again when some have waited
        conflict_stuck seconds with none taken (the other instance is gone), or when
        none wait once the quiet wait is over (conflict_first, doubling per conflict):
        then a poll takes nothing another instance holds, and if that instance still
        polls, it is the one that waits next."""
        options = self.poll_options
        loop = asyncio.get_running_loop()
        quiet_until = loop.time() + self._conflict_backoff.next()
        waiting_since: float | None = None
        last = 0
        while not self.stopping.is_set() and lead:
            await self._sleep(options.conflict_check)
            if self.stopping.is_set() or not lead:
                return
            try:
                info = await self.bot.get_webhook_info()
            except Exception as exc:
                self.counts["conflict_check_failed"] += 1
                log.info("telegram: cannot check for waiting updates (%s)", describe(exc))
                continue
            now = loop.time()
            if info.url:
                waiting_since = None  # a webhook takes the updates: polling would be refused
                continue
            pending = info.pending_update_count
            if pending == 0:
                waiting_since = None
                if now >= quiet_until:
                    return
            else:
                if waiting_since is None or pending < last:
                    waiting_since = now  # some were taken: the other instance is alive
                if now - waiting_since >= options.conflict_stuck:
                    return
            last = pending

    def _loads(self, text: str) -> Any:
        """aiogram's JSON decoder, but a getUpdates answer loses the updates already in
        hand before aiogram builds a model of each: while one update is still being
        committed, Telegram hands out every later one again on each call."""
        data = json.loads(text)
        result = data.get("result") if isinstance(data, dict) else None
        if isinstance(result, list) and result and self._in_hand:
            data["result"] = [
                entry
                for entry in result
                if not (isinstance(entry, dict) and entry.get("update_id") in self._in_hand)
            ]
        return data

    def _start(self, update: Update) -> None:
        self._in_hand.add(update.update_id)
        self._uncommitted.add(update.update_id)
        self._highest = max(self._highest, update.update_id)
        task = asyncio.create_task(self._handle_counted(update))
        self._unfinished[update.update_id] = task
        uid = update.update_id
        task.add_done_callback(lambda _task: self._finished(uid))

    async def _handle_counted(self, update: Update) -> None:
        try:
            await self.handle_update(update)
        except Exception as exc:  # the core never raises; a bug here must not stop polling
            log.error("telegram: an update failed (%s)", describe(exc))

    def _committed(self, update_id: int) -> None:
        """The update's first transaction committed: a crash from here on cannot lose it
        (the conversation knows it, and refuses it if its slow part was cut off), so it
        no longer holds the offset back; only updates not yet committed do."""
        self._uncommitted.discard(update_id)
        self._progress.set()

    def _finished(self, update_id: int) -> None:
        self._unfinished.pop(update_id, None)
        self._uncommitted.discard(update_id)
        self._progress.set()

    def _confirmable(self) -> int | None:
        """The offset to ask with: the lowest update still in hand, else past the last."""
        if self._uncommitted or self._left:
            offset = min(self._uncommitted | self._left)
        elif self._highest >= 0:
            offset = self._highest + 1
        else:
            return self._offset
        self._in_hand = {i for i in self._in_hand if i >= offset}
        self._offset = offset
        return offset

    async def _offset_moved(self, asked_with: int | None, most: float = 0.5) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + most
        while not self.poll_halted.is_set() and loop.time() < deadline:
            lowest = min(self._uncommitted | self._left, default=None)
            if lowest is None or asked_with is None or lowest > asked_with:
                return
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), deadline - loop.time())
            except TimeoutError:
                return

    async def _one_finished(self) -> None:
        self._progress.clear()
        try:
            await asyncio.wait_for(self._progress.wait(), 1.0)
        except TimeoutError:
            pass

    async def _room_for_more(self) -> None:
        """At most MAX_IN_HAND updates at once: a flood waits at Telegram, not in memory."""
        while len(self._unfinished) >= MAX_IN_HAND and not self.poll_halted.is_set():
            await self._one_finished()

    def _readable(self, data: Any) -> list[Update] | None:
        """The updates of a getUpdates answer one by one; those that cannot be read are
        skipped (counted, never logged: they may hold a message) by moving the offset
        past them. None when the answer has no update list at all."""
        entries = data.get("result") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            return None
        readable: list[Update] = []
        for entry in entries:
            update_id = entry.get("update_id") if isinstance(entry, dict) else None
            if not isinstance(update_id, int) or update_id in self._in_hand:
                continue  # not an update, or one already started (or skipped) before
            try:
                readable.append(Update.model_validate(entry, context={"bot": self.bot}))
            except ValidationError:
                self.counts["malformed"] += 1
                log.info("telegram: skipped an update it cannot read")
                self._in_hand.add(update_id)  # skipped once, not counted again
                self._highest = max(self._highest, update_id)  # confirmed with the rest
        return readable

    async def _confirm(self) -> None:
        """Tell Telegram the handled updates are done, so a restart does not repeat them."""
        if self._confirmable() is None:
            return
        try:
            await self.bot.get_updates(
                offset=self._offset, timeout=0, limit=1, allowed_updates=ALLOWED_UPDATES
            )
        except Exception as exc:
            log.info("telegram: could not confirm the last updates (%s)", describe(exc))

    async def read_webhook(self, body: Any) -> list[Inbound]:
        if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
            raise MalformedUpdate("not a Telegram update")
        try:
            update = Update.model_validate(body, context={"bot": self.bot})
        except ValidationError:
            raise MalformedUpdate("not a Telegram update") from None
        inbound = self.translate(update)
        return [] if inbound is None else [replace(inbound, update_id=str(update.update_id))]

    async def handle_update(self, update: Update) -> None:
        await self._answer_button(update)
        inbound = self.translate(update)
        if inbound is None:
            self.counts["ignored"] += 1
            return
        handled = await self.process(
            replace(inbound, update_id=str(update.update_id)),
            redelivered_if_stopped=True,
            committed=lambda: self._committed(update.update_id),
        )
        if not handled:
            self._left.add(update.update_id)  # never confirmed: Telegram hands it out again

    def webhook_answer(self, body: dict[str, Any] | list[Any]) -> dict[str, Any]:
        """A button press is acknowledged in the webhook's answer (Telegram runs the
        call it holds), which stops the button's spinner when the reply has gone out,
        without a request of its own."""
        query = body.get("callback_query") if isinstance(body, dict) else None
        if isinstance(query, dict) and isinstance(query.get("id"), str):
            return {"method": "answerCallbackQuery", "callback_query_id": query["id"]}
        return super().webhook_answer(body)

    async def _answer_button(self, update: Update) -> None:
        """Stop the button's spinner at once; the answer itself comes as a message."""
        if update.callback_query is None:
            return
        try:
            await self.bot.answer_callback_query(update.callback_query.id)
        except Exception as exc:
            log.info("telegram: button press not acknowledged (%s)", describe(exc))

    def translate(self, update: Update) -> Inbound | None:
        """The update as the core's Inbound, or None for what the bot does not handle."""
        if update.message is not None:
            return self._from_message(update.message)
        query = update.callback_query
        if query is not None and query.data and query.message is not None:
            chat = query.message.chat
            route, kind = _route(chat.id, chat.type, query.from_user.id)
            return Inbound(
                route, kind, action=query.data, language_hint=query.from_user.language_code
            )
        member = update.my_chat_member
        if member is not None:
            route = Route(CHANNEL, str(member.chat.id))
            kind = ChatKind.GROUP if member.chat.type in GROUP_TYPES else ChatKind.PRIVATE
            new, old = member.new_chat_member.status, member.old_chat_member.status
            if new in ABSENT:
                return Inbound(route, kind, event=ChatEvent.BOT_REMOVED)
            if new in PRESENT and old in ABSENT and kind is ChatKind.GROUP:
                return Inbound(route, kind, event=ChatEvent.BOT_ADDED)
        return None

    def _from_message(self, message: Message) -> Inbound | None:
        chat = message.chat
        if message.migrate_to_chat_id is not None:
            return Inbound(
                Route(CHANNEL, str(chat.id)),
                ChatKind.GROUP,
                event=ChatEvent.MIGRATED,
                moved_to=Route(CHANNEL, str(message.migrate_to_chat_id)),
            )
        if message.migrate_from_chat_id is not None:
            old = Route(CHANNEL, str(message.migrate_from_chat_id))
            new = Route(CHANNEL, str(chat.id))
            return Inbound(old, ChatKind.GROUP, event=ChatEvent.MIGRATED, moved_to=new)
        if message.from_user is None or message.from_user.is_bot or chat.type == "channel":
            return None
        route, kind = _route(chat.id, chat.type, message.from_user.id)
        if kind is ChatKind.GROUP and not (message.text or "").startswith("/"):
            return None  # group chatter is not for the bot: not even read
        location = None
        if message.location is not None:
            location = (message.location.latitude, message.location.longitude)
        return Inbound(
            route,
            kind,
            text=message.text or message.caption or "",
            attachments=_attachments(message),
            location=location,
            language_hint=message.from_user.language_code,
            message_id=str(message.message_id),
        )

    async def _fetch(self, attachment: Attachment) -> bytes:
        """A resident's photo or document, at most the size the bot accepts."""
        if attachment.size > MAX_BYTES:
            raise LookupError("file too large")
        try:
            file = await self.bot.get_file(attachment.file_ref)
            if file.file_path is None or (file.file_size or 0) > MAX_BYTES:
                raise LookupError("file not available")
            buffer = io.BytesIO()
            await self.bot.download_file(file.file_path, buffer, timeout=120)
        except LookupError:
            raise
        except Exception as exc:
            raise LookupError(f"file not fetched ({describe(exc)})") from None
        data = buffer.getvalue()
        if len(data) > MAX_BYTES:
            raise LookupError("file too large")
        return data

    # ---- sending ------------------------------------------------------------------------

    def parts(self, reply: Reply) -> list[Part]:
        markup = _keyboard(reply)
        text = (
            reply.text
            if markup is not None or not reply.buttons
            else numbered_text(Reply(reply.text, reply.buttons))
        )
        chunks = split_text(text, MAX_TEXT) or ([] if reply.media else ["…"])
        calls: list[Part] = []
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            calls.append(self._text_part(chunk, markup if last else None, reply.protect))
        calls += [self._media_part(media, reply.protect) for media in reply.media]
        return calls

    def _text_part(self, text: str, markup: InlineKeyboardMarkup | None, protect: bool) -> Part:
        async def call(route: Route) -> str:
            # A protected reply (a tip) never has a link fetched for a preview: a map
            # link would hand the tip's place to whoever serves the page.
            message = await self.bot.send_message(
                int(route.chat_id),
                text,
                reply_markup=markup,
                protect_content=protect,
                link_preview_options=LinkPreviewOptions(is_disabled=True) if protect else None,
            )
            return str(message.message_id)

        return call

    def _media_part(self, media: Media, protect: bool) -> Part:
        async def call(route: Route) -> str:
            upload: BufferedInputFile | str = media.url or BufferedInputFile(
                media.data, filename=media.filename or _filename(media)
            )
            if media.kind == "image":
                message = await self.bot.send_photo(
                    int(route.chat_id), upload, protect_content=protect
                )
            else:
                message = await self.bot.send_document(
                    int(route.chat_id), upload, protect_content=protect
                )
            return str(message.message_id)

        return call

    async def delete_messages(self, route: Route, message_ids: tuple[str, ...]) -> None:
        ids = sorted({int(i) for i in message_ids if i.isdigit()})
        for start in range(0, len(ids), DELETE_BATCH):
            await self.bot.delete_messages(int(route.chat_id), ids[start : start + DELETE_BATCH])

    def classify(self, exc: BaseException) -> Failure:
        if isinstance(exc, TelegramRetryAfter):
            return Failure(Fault.THROTTLED, retry_after=float(exc.retry_after))
        if isinstance(exc, TelegramMigrateToChat):
            return Failure(Fault.MOVED, moved_to=str(exc.migrate_to_chat_id))
        if isinstance(exc, TelegramForbiddenError):
            return Failure(Fault.GONE)
        if isinstance(exc, TelegramBadRequest) and "chat not found" in exc.message.lower():
            return Failure(Fault.GONE)
        if isinstance(exc, TelegramEntityTooLarge):
            return Failure(Fault.REJECTED)
        if isinstance(exc, TelegramServerError | TelegramNetworkError | ClientError | TimeoutError):
            return Failure(Fault.TRANSIENT)
        if isinstance(exc, asyncio.CancelledError):
            raise exc
        if isinstance(exc, PROGRAMMING_ERRORS):  # ours, not Telegram's (aiogram's are above)
            return Failure(Fault.ERROR)
        return Failure(Fault.REJECTED)


def _route(chat_id: int, chat_type: str, user_id: int) -> tuple[Route, ChatKind]:
    if chat_type in GROUP_TYPES:
        return Route(CHANNEL, str(chat_id), str(user_id)), ChatKind.GROUP
    return Route(CHANNEL, str(chat_id)), ChatKind.PRIVATE


def _attachments(message: Message) -> tuple[Attachment, ...]:
    if message.photo:
        biggest = message.photo[-1]
        return (Attachment("photo", biggest.file_id, "image/jpeg", biggest.file_size or 0),)
    if message.document is not None:
        document = message.document
        return (
            Attachment(
                "document", document.file_id, document.mime_type or "", document.file_size or 0
            ),
        )
    for kind in ("sticker", "voice", "audio", "video", "video_note", "animation"):
        if getattr(message, kind, None) is not None:
            return (Attachment("voice" if kind == "video_note" else kind),)
    if message.contact is not None or message.poll is not None or message.venue is not None:
        return (Attachment("other"),)  # a contact carries a phone number: never read
    return ()


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Buttons as an inline keyboard; None when there are none, or when an action does
    not fit Telegram's 64 bytes of callback data (then the options are numbered)."""
    if not reply.buttons:
        return None
    if any(len(b.action.encode()) > MAX_CALLBACK_DATA for b in reply.options()):
        return None
    rows = [
        [InlineKeyboardButton(text=b.label, callback_data=b.action) for b in row]
        for row in reply.buttons
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _filename(media: Media) -> str:
    return "tip.pdf" if media.kind == "pdf" else "tip.jpg"
