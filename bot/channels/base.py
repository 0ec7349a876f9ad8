"""What the network channels (Telegram, Zalo) do the same way: answer an update through
the core, send with retries, turn platform failures into chat events, pump the outbox,
and receive webhooks safely.

Each platform supplies only its translation: how a reply becomes API calls (`parts`),
how to delete messages, how to read an update, and what an exception means
(`classify`). Logs name the channel, the kind of failure and counts; never an id, a
text, a URL (it can hold the token) or an exception's message.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web

from broadcasts.sender import BroadcastSender, SenderOptions
from engine.conversation import Dispatcher
from engine.delivery import Undeliverable, deliver_due, enqueue_deletion, enqueue_later
from kernel.clock import utcnow
from kernel.config import ChannelSettings
from kernel.errors import describe
from kernel.faults import Failure, Fault
from kernel.messages import ChannelInfo, ChatEvent, ChatKind, Inbound, Outbound, Reply
from kernel.routes import Route
from storage.db import Lead

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 300
T = TypeVar("T")

# One API call of a reply, made to `route`; returns the id of the message it sent.
Part = Callable[[Route], Awaitable[str | None]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    first_backoff: float = 0.5
    max_backoff: float = 30.0
    max_wait: float = 30.0  # the longest retry_after waited in place; longer goes to the outbox


@dataclass(frozen=True)
class PollOptions:
    """How polling processes of one bot token share it. On PostgreSQL one of them leads
    (an advisory lock); the others stand by and try to take the lead every
    `leader_retry` seconds, and the leader checks every `leader_check` seconds that the
    connection holding its lock still answers. After a conflict (Telegram's 409: some
    other instance asks for this token's updates too) a poller asks for none and looks
    every `conflict_check` seconds how many wait; it polls again once updates have waited
    `conflict_stuck` seconds without any being taken (the other is gone), or once none
    wait and its quiet wait is over (`conflict_first`, doubling per conflict up to
    `conflict_most`). The conflict is logged again at most every `conflict_reminder` s."""

    leader_retry: float = 2.0
    leader_check: float = 5.0
    conflict_check: float = 2.0
    conflict_stuck: float = 10.0
    conflict_first: float = 30.0
    conflict_most: float = 900.0
    conflict_reminder: float = 600.0


class MalformedUpdate(ValueError):
    """An update that cannot be read (not JSON, not the platform's shape)."""


class Backoff:
    """Growing, jittered delays for a loop that keeps failing; reset on success."""

    def __init__(self, first: float = 1.0, most: float = 60.0):
        self._first, self._most, self._failures = first, most, 0

    def next(self, failure: Failure | None = None) -> float:
        self._failures += 1
        if failure is not None and failure.fault is Fault.THROTTLED and failure.retry_after:
            return failure.retry_after
        delay = min(self._most, self._first * 2 ** (self._failures - 1))
        return delay * random.uniform(0.8, 1.2)  # noqa: S311  # jitter, not a secret

    def reset(self) -> None:
        self._failures = 0


class _ChatTurn:
    """One chat's lock (FIFO: asyncio.Lock wakes waiters in order) and how many messages
    of the chat are waiting for it or holding it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class NetworkChannel(ABC):
    """A chat platform reached over HTTP, by polling or by webhook."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        settings: ChannelSettings,
        *,
        policy: RetryPolicy | None = None,
        outbox_every: float = 2.0,
        broadcast_options: SenderOptions | None = None,
        poll_options: PollOptions | None = None,
    ):
        self.dispatcher = dispatcher
        self.services = dispatcher.services
        self.settings = settings
        self.name = settings.name
        self.policy = policy or RetryPolicy()
        self.outbox_every = outbox_every
        self.poll_options = poll_options or PollOptions()
        self.broadcasts = BroadcastSender(
            self.services,
            self.name,
            self.send_once,
            self.classify,
            settings.limits,
            chat_event=self.chat_event,
            options=broadcast_options,
        )
        self.counts: Counter[str] = Counter()
        self.state = "starting"
        self.stopping = asyncio.Event()
        # Set when this process must ask for no more updates: stopping, the polling
        # lead lost, or another instance polling (`halt_polling`).
        self.poll_halted = asyncio.Event()
        self.poll_halted_for = ""
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # Per chat, the turn its messages wait on (only while some are waiting: a chat
        # id is held in memory for as long as its messages are being answered).
        self._chats: dict[str, _ChatTurn] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._one_done = asyncio.Event()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, {self.settings.mode})"

    # ---- what each platform supplies ---------------------------------------------------

    @property
    @abstractmethod
    def info(self) -> ChannelInfo: ...

    @abstractmethod
    def parts(self, reply: Reply) -> list[Part]:
        """The API calls that send `reply`, in order."""

    @abstractmethod
    async def delete_messages(self, route: Route, message_ids: tuple[str, ...]) -> None: ...

    @abstractmethod
    def classify(self, exc: BaseException) -> Failure: ...

    @abstractmethod
    async def connect(self) -> None:
        """Check the token and set up polling or the webhook with the platform."""

    @abstractmethod
    async def poll(self) -> None:
        """Fetch and handle updates until `poll_halted` is set (polling mode): by
        stopping, by the polling lead lost, or by the poll itself when another instance
        polls with this token (then `wait_out_conflict` follows, and a new poll)."""

    async def wait_out_conflict(self, lead: Lead) -> None:
        """After a poll that ended on a conflict: wait until polling again looks right
        (returns at once when stopping or when the lead is lost)."""
        if not self.stopping.is_set() and lead:
            await self._sleep(self.poll_options.conflict_check)

    @abstractmethod
    async def read_webhook(self, body: Any) -> list[Inbound]:
        """The messages in one webhook body; [] for update types the bot ignores.
        Raises MalformedUpdate for a body that is not an update."""

    def webhook_answer(self, body: dict[str, Any] | list[Any]) -> dict[str, Any]:
        """What the webhook answers once a read `body` was handled. A platform that
        takes one API call in the answer (Telegram) is given it there: no request of
        its own to make."""
        return {"ok": True}

    async def close(self) -> None:  # noqa: B027  # nothing to release by default
        """Release the HTTP session."""

    async def housekeeping(self) -> None:  # noqa: B027  # no upkeep by default
        """Periodic upkeep with the platform (every `HOUSEKEEPING_SECONDS`)."""

    # ---- running ------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect (retrying while the platform or the network is down), then poll or
        wait for webhooks, and pump the outbox, until `stopping` is set."""
        self.dispatcher.register_channel(self.info)
        backoff = Backoff(first=self.policy.first_backoff * 2)
        while not self.stopping.is_set():
            try:
                await self.connect()
                break
            except Exception as exc:
                failure = self.classify(exc)
                self.state = "connecting"
                delay = backoff.next(failure)
                log.warning(
                    "%s: cannot connect (%s, %s); retrying in %.0f s",
                    self.name,
                    failure.fault,
                    describe(exc),
                    delay,
                )
                await self._sleep(delay)
        if self.stopping.is_set():
            return
        if self.settings.mode != "polling":  # a poller runs once it leads (_poll_when_leading)
            self.state = "running"
        log.info("%s: running (%s)", self.name, self.settings.mode)
        tasks = [
            asyncio.create_task(self._pump()),
            asyncio.create_task(self.broadcasts.run(self.stopping)),
        ]
        if self.settings.mode == "polling":
            tasks.append(asyncio.create_task(self._poll_when_leading()))
        try:
            await self.stopping.wait()
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.dispatcher.write_notes()

    async def stop(self, grace: float = 30.0) -> None:
        """Stop taking updates; what is being handled is finished (up to `grace`)."""
        self.stopping.set()
        self.halt_polling("stopping")
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            log.warning(
                "%s: stopped with %d update(s) unfinished; the platform will deliver them again",
                self.name,
                self._in_flight,
            )

    async def unless_stopped(self, call: Awaitable[T]) -> T | None:
        """Await `call`, or give it up (None) as soon as polling halts (stopping, or the
        lead lost): for long polls whose answer the platform will hand out again."""
        work = asyncio.ensure_future(call)
        stopper = asyncio.ensure_future(self.poll_halted.wait())
        try:
            await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if work.done():
            return work.result()
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        return None

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when stopping."""
        try:
            await asyncio.wait_for(self.stopping.wait(), max(0.0, seconds))
        except TimeoutError:
            pass

    def health(self) -> dict[str, Any]:
        return {"state": self.state, "mode": self.settings.mode, **dict(self.counts)}

    # ---- one poller per token -----------------------------------------------------------

    def halt_polling(self, why: str) -> None:
        """Ask for no more updates (the poll ends; updates still waiting for their chat
        are left to the platform); `why` is "stopping", "lead lost" or "conflict"."""
        if not self.poll_halted.is_set():
            self.poll_halted_for = why
            self.poll_halted.set()

    def poller_lock(self) -> str:
        """The name of this token's polling lead: a keyed hash of the channel and token
        (under a key of the keyring's, which every process of this bot shares), so that
        neither reaches the database or its logs."""
        key = self.services.vault.keyring.derived_key("lock/poller")
        message = f"{self.name}\x1f{self.settings.token}".encode()
        return "poller:" + hmac.new(key, message, hashlib.sha256).hexdigest()[:32]

    async def _poll_when_leading(self) -> None:
        """Polling mode: only the process that leads this token polls (PostgreSQL; on
        SQLite the one process always leads). The others stand by, asking the platform
        for nothing, and take over within `leader_retry` seconds once the leader's
        connection, and so its lock, is gone (a stop, a crash, a kill)."""
        options = self.poll_options
        name = self.poller_lock()
        standing_by = unreachable = False
        while not self.stopping.is_set():
            async with AsyncExitStack() as stack:
                try:
                    lead = await stack.enter_async_context(self.services.db.leadership(name))
                    unreachable = False
                except Exception as exc:  # the database is away: nobody can poll usefully
                    self.state = "retrying"
                    if not unreachable:  # once, not every retry
                        log.warning(
                            "%s: cannot tell which process polls (%s); not polling "
                            "until the database answers",
                            self.name,
                            describe(exc),
                        )
                    unreachable, lead = True, None
                if lead:
                    if standing_by:
                        self.counts["poll_takeovers"] += 1
                        log.info("%s: the polling process is gone; this one polls now", self.name)
                    standing_by = False
                    self.state = "running"
                    await self._poll_leading(lead)
                    continue
                if lead is not None:
                    self.state = "standby"
                    if not standing_by:
                        log.info(
                            "%s: another process of this bot polls with this token; "
                            "this one stands by, to take over when it stops",
                            self.name,
                        )
                    standing_by = True
            await self._sleep(options.leader_retry)

    async def _poll_leading(self, lead: Lead) -> None:
        """Poll while this process leads; a poll ended by a conflict is followed by a
        wait, then by a new poll."""
        watchdog = asyncio.create_task(self._watch_lead(lead))
        try:
            while not self.stopping.is_set() and lead:
                self.poll_halted.clear()
                self.poll_halted_for = ""
                await self.poll()
                if self.stopping.is_set() or not lead:
                    break
                await self.wait_out_conflict(lead)
        finally:
            watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)

    async def _watch_lead(self, lead: Lead) -> None:
        every = self.poll_options.leader_check
        while not self.stopping.is_set():
            await self._sleep(every)
            if self.stopping.is_set():
                return
            if not await lead.still_held(within=every):
                log.warning(
                    "%s: the database connection holding the polling lead is lost; "
                    "polling stops until this process leads again",
                    self.name,
                )
                self.halt_polling("lead lost")
                return

    # ---- handling one message -----------------------------------------------------------

    async def process(
        self,
        inbound: Inbound,
        *,
        redelivered_if_stopped: bool = False,
        committed: Callable[[], None] | None = None,
    ) -> bool:
        """Answer one message: the core decides and commits, then the replies go out.
        Messages of different chats are answered at the same time; one chat's messages
        wait for each other, in the order they came, so a slow one (a file being
        cleaned) holds up only its own chat. `redelivered_if_stopped`: the platform hands
        the message out again unless told it was done, so one still waiting for its
        chat when polling halts (stopping, or another process polls now) is left to it
        (returns False)."""
        self._in_flight += 1
        self._idle.clear()
        chat = inbound.route.chat_id
        turn = self._chats.get(chat)
        if turn is None:
            turn = self._chats[chat] = _ChatTurn()
        turn.users += 1
        try:
            async with turn.lock:
                if redelivered_if_stopped and self.poll_halted.is_set():
                    return False
                self.counts["updates"] += 1
                for outbound in await self.dispatcher.handle(inbound, committed=committed):
                    await self.deliver(outbound)
                return True
        finally:
            turn.users -= 1
            if turn.users == 0:
                self._chats.pop(chat, None)
            self._in_flight -= 1
            self._one_done.set()
            if self._in_flight == 0:
                self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def room_for(self, limit: int) -> None:
        """Wait while `limit` updates are being answered: a flood waits at the platform,
        not in memory."""
        while self._in_flight >= limit and not self.stopping.is_set():
            self._one_done.clear()
            try:
                await asyncio.wait_for(self._one_done.wait(), 1.0)
            except TimeoutError:
                pass

    async def finish_in_flight(self) -> None:
        """Wait for the updates started with `process_soon` (a polling loop ending)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def process_soon(self, inbound: Inbound) -> asyncio.Task[None]:
        """`process` as a task of its own (polling loops go on fetching meanwhile). Its
        place in the chat's order is taken now, before this returns."""
        chat = inbound.route.chat_id
        turn = self._chats.get(chat)
        if turn is None:
            turn = self._chats[chat] = _ChatTurn()
        turn.users += 1  # held until the task has queued itself on the chat's lock
        task = asyncio.create_task(self._process_in_turn(inbound, turn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _process_in_turn(self, inbound: Inbound, turn: _ChatTurn) -> None:
        try:
            await self.process(inbound)
        except Exception as exc:  # the core never raises; a bug here must not go unseen
            log.error("%s: an update failed (%s)", self.name, describe(exc))
        finally:
            turn.users -= 1
            if turn.users == 0:
                self._chats.pop(inbound.route.chat_id, None)

    async def deliver(self, outbound: Outbound) -> None:
        """Send one outbound now; what cannot go now goes to the outbox, never lost."""
        if outbound.delete:
            await self._delete_quietly(outbound.route, outbound.delete)
        reply = outbound.reply
        if reply is None:
            return
        try:
            await self.send(outbound.route, reply, traced=outbound.traced)
        except Undeliverable:
            return
        except Exception as exc:
            self.counts["replies_postponed"] += 1
            log.warning(
                "%s: a reply could not be sent now (%s); kept in the outbox",
                self.name,
                describe(exc),
            )
            await enqueue_later(self.services, outbound.route, reply)

    async def send(
        self, route: Route, reply: Reply, *, patient: bool = True, traced: bool | None = None
    ) -> list[str]:
        """Send every part of `reply`, retrying each as the failure allows. Raises
        Undeliverable when the chat cannot receive, or the last failure when retries ran
        out (`patient=False`: no waiting at all, the caller retries later). Once every
        part is sent it does not raise: a reply delivered is never sent again."""
        sent: list[str] = []
        for part in self.parts(reply):
            message_id, route = await self._call(part, route, patient=patient)
            if message_id:
                sent.append(message_id)
        self.counts["replies_sent"] += 1
        if sent and self.info.can_delete_messages:
            await self._note_sent(route, reply, sent, traced)
        return sent

    async def _note_sent(
        self, route: Route, reply: Reply, sent: list[str], traced: bool | None
    ) -> None:
        """What a delivered reply leaves to remember: its message ids in a traced chat,
        and when to delete it. Should this fail, the messages are only not deleted."""
        try:
            if traced is not False:
                await self.dispatcher.record_sent(route, sent)
            if reply.delete_after:
                at = utcnow() + timedelta(seconds=reply.delete_after)
                await enqueue_deletion(self.services, route, sent, at)
        except Exception as exc:
            self.counts["sent_not_noted"] += 1
            log.warning(
                "%s: a reply was sent, but what to delete later could not be saved (%s)",
                self.name,
                describe(exc),
            )

    async def _call(self, part: Part, route: Route, *, patient: bool) -> tuple[str | None, Route]:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await part(route), route
            except Exception as exc:
                failure = self.classify(exc)
                self.counts[f"send_{failure.fault}"] += 1
                if failure.fault is Fault.GONE:
                    await self.chat_event(route, ChatEvent.BOT_REMOVED)
                    raise Undeliverable from None
                if failure.fault is Fault.MOVED and failure.moved_to:
                    moved = Route(route.channel, failure.moved_to)
                    await self.chat_event(route, ChatEvent.MIGRATED, moved_to=moved)
                    route = moved
                    if attempt < 3:  # a migration is followed once or twice, not forever
                        continue
                if failure.fault is Fault.ERROR:  # a bug: sending it again cannot help
                    log.error(
                        "%s: a message could not be sent because of an error in the bot (%s)",
                        self.name,
                        describe(exc),
                    )
                    raise Undeliverable from None
                if failure.fault in (Fault.REJECTED, Fault.MOVED):
                    log.warning("%s: the platform refused a message (%s)", self.name, describe(exc))
                    raise Undeliverable from None
                wait = self._wait_before_retry(failure, attempt, patient)
                if wait is None:
                    raise
                await self._sleep(wait)

    def _wait_before_retry(self, failure: Failure, attempt: int, patient: bool) -> float | None:
        policy = self.policy
        if not patient or attempt >= policy.attempts or self.stopping.is_set():
            return None
        if failure.fault is Fault.THROTTLED:
            wait = failure.retry_after or policy.first_backoff
            return wait if wait <= policy.max_wait else None
        return min(policy.max_backoff, policy.first_backoff * 2 ** (attempt - 1))

    async def _delete_quietly(self, route: Route, message_ids: tuple[str, ...]) -> None:
        if not self.info.can_delete_messages:
            return
        try:
            await self.delete_messages(route, message_ids)
            self.counts["deleted"] += len(message_ids)
        except Exception as exc:
            log.info(
                "%s: %d message(s) could not be deleted (%s)",
                self.name,
                len(message_ids),
                describe(exc),
            )

    async def chat_event(
        self, route: Route, event: ChatEvent, *, moved_to: Route | None = None
    ) -> None:
        """Tell the core what the platform said about a chat (removed, moved)."""
        chat_route = Route(route.channel, route.chat_id)
        inbound = Inbound(chat_route, ChatKind.GROUP, event=event, moved_to=moved_to)
        for outbound in await self.dispatcher.handle(inbound):
            if outbound.route != chat_route:
                await self.deliver(outbound)

    # ---- the outbox ---------------------------------------------------------------------

    async def _pump(self) -> None:
        backoff = Backoff(first=self.outbox_every)
        loop = asyncio.get_running_loop()
        upkeep_at = loop.time() + HOUSEKEEPING_SECONDS
        while not self.stopping.is_set():
            if loop.time() >= upkeep_at:
                upkeep_at = loop.time() + HOUSEKEEPING_SECONDS
                await self.housekeeping()
            try:
                await deliver_due(
                    self.services,
                    self.name,
                    self._send_from_outbox,
                    delete=self._delete_from_outbox,
                )
                backoff.reset()
                delay = self.outbox_every
            except Exception as exc:  # the database is away: try again later
                delay = backoff.next()
                log.warning("%s: outbox delivery failed (%s)", self.name, describe(exc))
            await self._sleep(delay)

    async def send_once(self, route: Route, reply: Reply) -> None:
        """Every part of `reply`, once, raising the platform's own exception: for the
        broadcast sender, which paces and retries by itself."""
        for part in self.parts(reply):
            await part(route)

    async def _send_from_outbox(self, route: Route, reply: Reply) -> None:
        await self.send(route, reply, patient=False)

    async def _delete_from_outbox(self, route: Route, message_ids: tuple[str, ...]) -> None:
        await self._delete_quietly(route, message_ids)

    # ---- webhooks -----------------------------------------------------------------------

    def webhook_handler(
        self,
        header: str,
        max_bytes: int,
        *,
        body_seconds: float = 10.0,
        max_depth: int = 64,
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """An aiohttp handler: a wrong or missing secret is refused with 403 before the
        body is read (a secret header that is not even text is just a wrong secret); a
        body over `max_bytes` with 413, one not complete within `body_seconds` with 408,
        one nested deeper than `max_depth` arrays and objects (judged on the raw bytes,
        before any parsing) or not an update with 400. Only a handled update is answered
        200; while stopping, 503 asks the platform to deliver it again later."""
        expected = self.settings.webhook_secret.encode()

        async def handle(request: web.Request) -> web.StreamResponse:
            if not _secret_matches(request.headers.get(header, ""), expected):
                self.counts["webhook_refused"] += 1
                return web.json_response({"ok": False, "error": "forbidden"}, status=403)
            if request.content_length is not None and request.content_length > max_bytes:
                return _closing({"ok": False, "error": "too large"}, 413)
            if self.stopping.is_set() or self.state != "running":
                return web.json_response({"ok": False, "error": "unavailable"}, status=503)
            try:
                async with asyncio.timeout(body_seconds):
                    body = await _read_body(request, max_bytes)
            except TimeoutError:
                self.counts["webhook_timeout"] += 1
                return _closing({"ok": False, "error": "timeout"}, 408)
            if body is None:
                return _closing({"ok": False, "error": "too large"}, 413)
            if not _nesting_within(body, max_depth):
                self.counts["malformed"] += 1
                return web.json_response({"ok": False, "error": "bad update"}, status=400)
            try:  # UTF-8 only (RFC 8259): json would also guess UTF-16, which hides brackets
                update = json.loads(body.decode("utf-8-sig"))
                inbounds = await self.read_webhook(update)
            except (ValueError, UnicodeDecodeError):  # MalformedUpdate is a ValueError
                self.counts["malformed"] += 1
                return web.json_response({"ok": False, "error": "bad update"}, status=400)
            for inbound in inbounds:
                await self.process(inbound)
            return web.json_response(self.webhook_answer(update))

        return handle


def _secret_matches(given: str, expected: bytes) -> bool:
    """Whether the secret header holds `expected`, in constant time. aiohttp hands over
    header bytes that are not UTF-8 as surrogates; they are compared as those same bytes
    (never equal to a configured secret), so such a header is a wrong secret, not an error."""
    if not expected:
        return False
    try:
        raw = given.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate of another origin: not a secret either
        return False
    return hmac.compare_digest(raw, expected)


def _closing(body: dict[str, Any], status: int) -> web.Response:
    """A refusal that also ends the connection: the rest of the body is not wanted."""
    response = web.json_response(body, status=status)
    response.force_close()
    return response


async def _read_body(request: web.Request, max_bytes: int) -> bytes | None:
    """The whole body, or None as soon as it grows past `max_bytes`."""
    body = bytearray()
    while chunk := await request.content.read(64 * 1024):  # a read may return less
        body += chunk
        if len(body) > max_bytes:
            return None
    return bytes(body)


# Every byte but the quote and the four brackets, for bytes.translate(None, delete=...).
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_QUOTE, _OPENERS = ord('"'), frozenset(b"[{")


def _nesting_within(body: bytes, limit: int) -> bool:
    """Whether the JSON in `body` nests arrays and objects at most `limit` deep, judged
    from the raw bytes in linear time and without recursion, so that json.loads (which
    recurses once per level) is never handed a body that could exhaust the stack.

    Inside a JSON string a backslash escapes the next byte. Dropping every escaped
    backslash (`\\\\`), then every escaped quote (`\\"`), pairs escapes from the left as
    a JSON reader does; what remains of the quotes then only opens and closes strings.
    Only quotes and brackets are kept (no byte of a multi-byte UTF-8 character is one of
    them), and one pass counts the brackets outside strings. Where the body is not JSON
    the count may go wrong only past the point where json.loads stops reading anyway."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return True  # the common case: too few brackets to nest that deep
    marks = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    depth, in_string = 0, False
    for mark in marks:
        if mark == _QUOTE:
            in_string = not in_string
        elif in_string:
            continue
        elif mark in _OPENERS:
            depth += 1
            if depth > limit:
                return False
        else:
            depth = max(0, depth - 1)
    return True
