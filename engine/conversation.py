"""The channel-neutral conversation runtime.

For each inbound message: lock and load the chat's conversation from the database,
pick the handler (a button's action, a command, or the current step's text handler),
let it answer, save the state and commit, then hand the replies to the channel. Replies
go out only after the commit, so nothing a user was told is lost on a crash.

A button's data is parsed into its typed action (kernel/actions.py) before any handler
sees it: data no action packs, forged or from a version that offered other buttons,
reaches the unknown-command answer. What a conversation collects is its flow
(engine/flows.py), written back into the state just before it is sealed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from engine.delivery import enqueue_reply
from engine.flows import Flow
from engine.services import Services
from kernel import actions
from kernel.actions import Action
from kernel.clock import utcnow
from kernel.errors import describe
from kernel.i18n import N_, normalise
from kernel.messages import (
    Button,
    ChannelInfo,
    ChatEvent,
    ChatKind,
    Inbound,
    Media,
    Outbound,
    Reply,
)
from kernel.routes import Route
from storage import conversations, drops
from storage.conversations import ConversationState, StoredConversation
from storage.pseudonyms import Pseudonym, Purpose
from storage.session import AsyncSession

log = logging.getLogger(__name__)

Handler = Callable[["Context"], Awaitable[None]]
A = TypeVar("A", bound=Action)
F = TypeVar("F", bound=Flow)
# What to do with the result of slow work, back in a transaction (see Context.continue_after).
Continuation = Callable[["Context", Any], Awaitable[None]]
RECENT_UPDATES = 16
# How long the ids of messages sent into a traced chat wait to join its conversation in
# the transaction of the chat's next message, before a transaction of their own.
NOTE_SECONDS = 30.0
# A write to a person's own records, made after the conversation commits (Context.apart).
Write = Callable[[AsyncSession], Awaitable[object]]
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.DOTALL)
_OPTION_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


@dataclass
class Context:
    """One inbound message being handled."""

    inbound: Inbound
    stored: StoredConversation
    session: AsyncSession
    services: Services
    channel: ChannelInfo
    language: str
    args: str = ""
    # The button pressed (or followed), parsed and checked; see Context.action.
    pressed: Action | None = None
    command: str = ""  # the command typed ("report" for /report); "" for a button or a pick
    # True when the message is free writing (not a command, a button, an option number, or
    # the answer to a step that asks for a name or a code): its language is detected.
    typed: bool = False
    replies: list[Outbound] = field(default_factory=list)
    follow_action: Callable[[Context, Action], Awaitable[None]] | None = field(
        default=None, repr=False
    )
    # The flows (engine/flows.py) read in this transaction, written back when sealed.
    flows: dict[type[Flow], Flow] = field(default_factory=dict, repr=False)
    later: list[Callable[[], Awaitable[list[Outbound]]]] = field(default_factory=list, repr=False)
    slow: list[tuple[Callable[[], Awaitable[Any]], Continuation]] = field(
        default_factory=list, repr=False
    )
    writes: list[Write] = field(default_factory=list, repr=False)

    def apart(self, write: Write) -> None:
        """A write to the person's own records (a subscription, a pledge, a quiz answer, a
        rate counter), made after this conversation commits, in a transaction of its own:
        a copy of the data folder must never find such a row and the person's
        conversation, or two of a person's rows, in one commit. Writes run in order,
        before the replies are sent; their effect is what the replies already say, so
        compute them from what was read. A crash in the instant between the commits
        loses the write, never a tip (tips go through drops)."""
        self.writes.append(write)

    async def drop(self, payload: dict[str, Any], *, urgent: bool, code: str | None = None) -> None:
        """Leave a tip (or a reporter's message on one) for the mixer, sealed, in this
        conversation's commit; the mixer stores it at a random time (bot/mixer.py)."""
        services = self.services
        await drops.put(
            self.session,
            services.vault,
            services.pseudonyms,
            payload,
            due=services.delays.due(utcnow(), urgent=urgent),
            code=code,
        )

    def after_commit(self, work: Callable[[], Awaitable[list[Outbound]]]) -> None:
        """Slow work that needs no database (rendering a document) runs after this
        message's transaction is committed, so no lock is held meanwhile; its replies
        follow the others."""
        self.later.append(work)

    def continue_after(self, work: Callable[[], Awaitable[Any]], then: Continuation) -> None:
        """Slow work whose result the conversation needs (a file fetched and cleaned):
        `work` runs after this transaction commits, holding no lock and no transaction;
        then `then(ctx, result)` runs in a new transaction of this conversation. The
        chat's next message waits for both. Should the process die in between, the
        update is refused politely if it is delivered again, never run blindly."""
        self.slow.append((work, then))

    async def follow(self, action: Action) -> None:
        """Carry on with the handler of `action`, as if that button had been pressed."""
        if self.follow_action is not None:
            await self.follow_action(self, action)

    def action(self, kind: type[A]) -> A:
        """The pressed button's action, as the class its handler was registered for
        (Router.action): the dispatcher calls a handler only with its own."""
        if not isinstance(self.pressed, kind):
            raise TypeError(f"this handler was not reached by a {kind.__name__} button")
        return self.pressed

    def flow(self, kind: type[F]) -> F:
        """This conversation's `kind` state: as stored, or new (and then not stored until
        it holds something). Changes are written back when the state is sealed."""
        state = self.state
        until = state.expires.get(kind.KEY)
        if until is not None and datetime.fromisoformat(until) <= utcnow():
            self.end_flow(kind)
        found = self.flows.get(kind)
        if found is None:
            raw = state.data.get(kind.KEY)
            found = kind.from_json(raw) if raw is not None else None
            if found is None:
                state.forget(kind.KEY)  # never started, or stored in a shape that is gone
                found = kind()
            self.flows[kind] = found
        return found  # type: ignore[return-value]

    def flow_until(self, kind: type[F], until: datetime) -> F:
        """`flow(kind)`, gone at `until` even if the chat never writes again."""
        flow = self.flow(kind)
        self.state.expires[kind.KEY] = until.astimezone(UTC).isoformat()
        return flow

    def end_flow(self, *kinds: type[Flow]) -> None:
        """Drop these flows: what they collected is forgotten."""
        for kind in kinds:
            self.flows.pop(kind, None)
            self.state.forget(kind.KEY)

    def end_flows_but(self, *keep: type[Flow]) -> None:
        """Drop every flow, and whatever else the state holds, except `keep`."""
        kept = {kind.KEY for kind in keep}
        for key in [k for k in self.state.data if k not in kept]:
            self.state.forget(key)
        self.flows = {kind: flow for kind, flow in self.flows.items() if kind in keep}

    def seal_flows(self) -> None:
        """Write the flows read back into the state; one that holds nothing is removed."""
        for kind, flow in self.flows.items():
            if flow == kind():
                self.state.forget(kind.KEY)
            else:
                self.state.data[kind.KEY] = flow.to_json()

    @property
    def state(self) -> ConversationState:
        return self.stored.state

    def _(self, message: str) -> str:
        return self.services.translator.get(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.services.translator.get(self.language).ngettext(singular, plural, n)

    @property
    def route(self) -> Route:
        return self.inbound.route

    def local_now(self) -> datetime:
        """Now in the ward's time zone: dates shown to people and dates recorded."""
        return datetime.now(self.services.settings.zone)

    def reply(
        self,
        text: str,
        buttons: Iterable[Iterable[Button]] = (),
        *,
        free_text: bool = False,
        protect: bool = False,
        delete_after: int = 0,
        media: Iterable[Media] = (),
    ) -> None:
        rows = tuple(tuple(row) for row in buttons)
        reply = Reply(text, rows, free_text, protect, delete_after, tuple(media))
        self.replies.append(Outbound(self.route, reply))

    def start_trace(self) -> None:
        """From now on, remember this chat's message ids so they can be deleted."""
        self.state.tracing = True
        if self.inbound.message_id and self.inbound.message_id not in self.state.trace:
            self.state.trace.append(self.inbound.message_id)

    def delete_trace(self) -> int:
        """Ask the channel to delete the traced messages; returns how many."""
        ids = tuple(i for i in dict.fromkeys([*self.state.trace, self.inbound.message_id]) if i)
        self.state.trace = []
        self.state.tracing = False
        if ids:
            self.replies.append(Outbound(self.route, None, ids))
        return len(ids)

    async def notify(
        self, route: Route, text: str, buttons: Iterable[Iterable[Button]] = ()
    ) -> None:
        """A message for another chat, sent by its channel from the outbox."""
        await enqueue_reply(self.session, self.services, route, text, buttons)

    def go(self, step: StrEnum | None) -> None:
        """The step whose text handler receives the next typed message (None for none).
        Steps are each conversation's StrEnum; their values are what is stored."""
        self.state.step = "" if step is None else step.value

    def set_language(self, language: str) -> None:
        chosen = normalise(language)
        if chosen is None:
            raise ValueError("unsupported language")
        self.state.language = chosen
        self.language = chosen


class Router:
    """Handlers of one conversation, registered by command, by button action class
    (kernel/actions.py) and by step (the conversation's StrEnum)."""

    def __init__(self, name: str):
        self.name = name
        self.commands: dict[str, Handler] = {}
        self.group_commands: set[str] = set()
        self.actions: dict[type[Action], Handler] = {}
        self.steps: dict[str, Handler] = {}
        self.events: dict[str, Handler] = {}
        self.prose_steps: set[str] = set()

    def command(self, *names: str, in_groups: bool = False) -> Callable[[Handler], Handler]:
        """Commands work in private chats; `in_groups` also lets them run in group chats,
        where a tip or a receipt must never be discussed."""
        if in_groups:
            self.group_commands.update(names)
        return self._register(self.commands, names)

    def action(self, *kinds: type[Action]) -> Callable[[Handler], Handler]:
        """A handler for buttons of these action classes (kernel/actions.py); it reads
        the pressed one, parsed and checked, with `ctx.action(Kind)`."""
        for kind in kinds:
            if not kind.prefix:
                raise ValueError(f"{kind.__name__} is not a button's action")
        return self._register(self.actions, kinds)

    def step(self, *steps: StrEnum, prose: bool = False) -> Callable[[Handler], Handler]:
        """`prose`: what is typed here is free writing, so its language is detected (not
        on names, codes or secrets, which would mislead the detector)."""
        names = tuple(step.value for step in steps)
        if prose:
            self.prose_steps.update(names)
        return self._register(self.steps, names)

    def event(self, *events: ChatEvent) -> Callable[[Handler], Handler]:
        """What a chat event (the bot added to or removed from a chat, a group moved)
        means for this conversation."""
        return self._register(self.events, tuple(str(e) for e in events))

    @staticmethod
    def _register(table: dict[Any, Handler], keys: tuple[Any, ...]) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            for key in keys:
                if key in table:
                    raise ValueError(f"{key!r} is registered twice")
                table[key] = handler
            return handler

        return decorator


class Dispatcher:
    def __init__(
        self,
        services: Services,
        routers: Iterable[Router],
        *,
        fallback: Handler,
        group_fallback: Handler | None = None,
        note_seconds: float = NOTE_SECONDS,
    ):
        self.services = services
        self.note_seconds = note_seconds
        self._group_commands: set[str] = set()
        self._prose_steps: set[str] = set()
        self._commands: dict[str, Handler] = {}
        self._actions: dict[type[Action], Handler] = {}
        self._steps: dict[str, Handler] = {}
        self._events: dict[str, Handler] = {}
        for router in routers:
            tables: list[tuple[dict[Any, Handler], dict[Any, Handler]]] = [
                (self._commands, router.commands),
                (self._actions, router.actions),
                (self._steps, router.steps),
                (self._events, router.events),
            ]
            for mine, theirs in tables:
                clash = mine.keys() & theirs.keys()
                if clash:
                    again = sorted(getattr(k, "prefix", k) for k in clash)
                    raise ValueError(f"router {router.name} registers {again} again")
                mine.update(theirs)
            self._group_commands |= router.group_commands
            self._prose_steps |= router.prose_steps
        self._fallback = fallback
        self._group_fallback = group_fallback or fallback
        self._channels: dict[str, ChannelInfo] = {}
        # Per conversation, since when and which sent message ids wait to join its trace.
        self._unnoted: dict[Pseudonym, tuple[float, list[str]]] = {}
        self._noting: asyncio.Task[None] | None = None

    def handles(self, kind: type[Action]) -> bool:
        """Whether a button of this action class reaches a handler."""
        return kind in self._actions

    def register_channel(self, info: ChannelInfo) -> None:
        self._channels[info.name] = info

    def channel(self, name: str) -> ChannelInfo:
        return self._channels.get(name) or ChannelInfo(name)

    async def record_sent(self, route: Route, message_ids: Iterable[str]) -> None:
        """Called by channels that can delete messages, after sending a reply that is not
        known to go to an untraced chat (Outbound.traced): while a chat is being traced,
        its bot messages are remembered too. The ids join the conversation in the
        transaction of the chat's next message, which loads it anyway; when none comes
        within `note_seconds`, in a transaction of their own (`write_notes`). Only the
        conversation's pseudonym is held meanwhile, never the chat's id."""
        ids = [str(i) for i in message_ids]
        if not ids:
            return
        loop = asyncio.get_running_loop()
        _since, waiting = self._unnoted.setdefault(self._account(route), (loop.time(), []))
        waiting.extend(i for i in ids if i not in waiting)
        if self._noting is None or self._noting.done():
            self._noting = asyncio.create_task(self._write_notes_in_time())

    async def write_notes(self, *, older_than: float = 0.0) -> None:
        """Write the sent ids still waiting for their chat's next message (all of them,
        or those waiting longer than `older_than` seconds), each chat's conversation in
        a transaction of its own. Channels call this when they stop."""
        timer = self._noting
        if not older_than and timer is not None and timer is not asyncio.current_task():
            timer.cancel()  # everything is written now; a later send starts a new one
        now = asyncio.get_running_loop().time()
        due = [a for a, (since, _ids) in self._unnoted.items() if now - since >= older_than]
        for account in due:
            waiting = self._unnoted.pop(account, None)
            if waiting is None:  # taken meanwhile by a transaction of its chat, or another call
                continue
            ids = waiting[1]
            try:
                async with self.services.db.transaction() as session:
                    stored = await conversations.load(session, self.services.vault, account)
                    if _add_to_trace(stored.state, ids):
                        await conversations.save(session, self.services.vault, stored)
            except Exception as exc:  # those messages are only not deleted later
                log.warning("sent messages could not be noted for clean-up (%s)", describe(exc))

    async def _write_notes_in_time(self) -> None:
        while self._unnoted:
            oldest = min(since for since, _ids in self._unnoted.values())
            wait = oldest + self.note_seconds - asyncio.get_running_loop().time()
            await asyncio.sleep(max(0.0, wait))
            await self.write_notes(older_than=self.note_seconds)

    def _account(self, route: Route) -> Pseudonym:
        return self.services.pseudonyms.of(
            Purpose.CONVERSATION, route.channel, *route.account_parts()
        )

    async def handle(
        self, inbound: Inbound, *, committed: Callable[[], None] | None = None
    ) -> list[Outbound]:
        """Answers to one inbound message. Never raises: a failure becomes a polite reply.
        `committed` is called once the message's own transaction has committed (before
        any slow work): from then on, a crash can no longer lose it (see _decide), so a
        platform may be told it was received."""
        try:
            return await self._handle(inbound, committed)
        except Exception as exc:
            log.error("handling a %s message failed: %s", inbound.route.channel, describe(exc))
            translations = self.services.translator.get(
                inbound.language_hint or self.services.settings.default_language
            )
            text = translations.gettext(
                "Sorry, something went wrong on our side. Nothing you sent before was lost. "
                "Please try again in a moment."
            )
            return [Outbound(inbound.route, Reply(text))]

    async def _handle(
        self, inbound: Inbound, committed: Callable[[], None] | None
    ) -> list[Outbound]:
        ctx = await self._in_transaction(inbound, self._decide)
        if committed is not None:
            committed()
        replies = ctx.replies
        tracing = ctx.state.tracing
        await self._write_apart(ctx)
        for work in ctx.later:
            try:
                replies.extend(await work())
            except Exception as exc:  # what was committed stands; say only this part failed
                log.error(
                    "work after a %s message failed: %s", inbound.route.channel, describe(exc)
                )
                ctx.reply(
                    ctx._(
                        "Sorry, part of this answer could not be prepared. "
                        "Please try again in a moment."
                    )
                )
        for work, then in ctx.slow:
            try:
                result = await work()
            except Exception as exc:
                log.error(
                    "slow work for a %s message failed: %s", inbound.route.channel, describe(exc)
                )
                result = exc

            async def resume(
                follow: Context, then: Continuation = then, result: Any = result
            ) -> None:
                follow.state.pending = ""
                if isinstance(result, Exception):
                    follow.reply(follow._(_UNFINISHED))
                    return
                await then(follow, result)

            resumed = await self._in_transaction(inbound, resume)
            await self._write_apart(resumed)
            replies.extend(resumed.replies)
            tracing = resumed.state.tracing
        return [
            replace(outbound, traced=tracing) if outbound.route == ctx.route else outbound
            for outbound in replies
        ]

    async def _write_apart(self, ctx: Context) -> None:
        """The writes a handler left for after its commit (Context.apart), each in a
        transaction of its own."""
        for write in ctx.writes:
            try:
                async with self.services.db.transaction() as session:
                    await write(session)
            except Exception as exc:
                log.error("a write after a %s message failed: %s", ctx.route.channel, describe(exc))
                ctx.reply(
                    ctx._("Sorry, part of this could not be saved. Please try again in a moment.")
                )

    async def _in_transaction(
        self, inbound: Inbound, body: Callable[[Context], Awaitable[None]]
    ) -> Context:
        """One transaction of this chat's conversation: locked, loaded, `body`, saved;
        with the ids of messages sent into the chat since (`record_sent`)."""
        account = self._account(inbound.route)
        noted = self._unnoted.pop(account, None)
        try:
            async with self.services.db.transaction() as session:
                stored = await conversations.load(session, self.services.vault, account)
                state = stored.state
                _add_to_trace(state, noted[1] if noted else [])
                ctx = Context(
                    inbound,
                    stored,
                    session,
                    self.services,
                    self.channel(inbound.route.channel),
                    "",
                    follow_action=self._follow,
                )
                ctx.language = self._language(ctx)
                offered_before = list(state.offered)
                await body(ctx)
                ctx.seal_flows()
                self._remember_options(ctx, offered_before)
                await conversations.save(session, self.services.vault, stored)
        except BaseException:
            if noted:  # not committed: they wait for the next transaction
                _since, ids = self._unnoted.setdefault(account, noted)
                if ids is not noted[1]:
                    ids[:0] = [i for i in noted[1] if i not in ids]
            raise
        return ctx

    def _language(self, ctx: Context) -> str:
        state = ctx.state
        return (
            state.language
            or state.detected
            or normalise(ctx.inbound.language_hint)
            or self.services.settings.default_language
        )

    async def _decide(self, ctx: Context) -> None:
        inbound, state = ctx.inbound, ctx.state
        key = inbound.delivery_key
        if key is not None and key == state.pending:
            # This update's slow part never finished: the process died on it. Run again,
            # the same file could stop it again; the resident may send another.
            state.pending = ""
            _remember_update(state, key)
            ctx.reply(ctx._(_UNFINISHED))
            return
        if key is not None and key in state.recent:
            return  # handled and committed before; its answer went out then
        if state.pending:  # an earlier update's slow part was cut off (not delivered again)
            state.pending = ""
            ctx.reply(ctx._(_UNFINISHED))
        handler = self._route(ctx)
        if ctx.typed:
            self._detect_language(ctx)
        ctx.language = self._language(ctx)
        if state.tracing and inbound.message_id and inbound.message_id not in state.trace:
            state.trace.append(inbound.message_id)
        await handler(ctx)
        if ctx.slow:
            state.pending = key or "-"
        if key is not None:
            _remember_update(state, key)

    def _detect_language(self, ctx: Context) -> None:
        """Typed answers (not commands or picks) tell which language someone writes in.
        Only languages the bot speaks change the replies; the rest stay a hint."""
        detected = self.services.langid.detect(ctx.inbound.text)
        if normalise(detected):
            ctx.state.detected = detected

    def _route(self, ctx: Context) -> Handler:
        inbound, state = ctx.inbound, ctx.state
        if inbound.event is not None:
            return self._events.get(str(inbound.event), _ignore)
        action = inbound.action
        if action is None and state.offered and not state.expects_text:
            match = _OPTION_NUMBER.match(inbound.text)
            if match and 1 <= int(match.group(1)) <= len(state.offered):
                action = state.offered[int(match.group(1)) - 1]
        if action is not None and inbound.chat_kind is ChatKind.GROUP:
            return self._fallback  # buttons of resident conversations are for private chats
        if action is not None:
            handler = self._action_handler(action, ctx)
            if handler is not None:
                return handler
            return self._fallback
        command = _COMMAND.match(inbound.text.strip())
        group = inbound.chat_kind is ChatKind.GROUP
        if command:
            name = command.group(1).lower()
            handler = self._commands.get(name)
            if handler is not None and group and name not in self._group_commands:
                return self._group_fallback
            if handler is not None:
                ctx.command, ctx.args = name, (command.group(2) or "").strip()
                return handler
            return self._fallback
        if group:
            return self._fallback
        if state.step in self._steps:
            ctx.typed = state.step in self._prose_steps and bool(inbound.text.strip())
            return self._steps[state.step]
        ctx.typed = bool(inbound.text.strip())
        return self._fallback

    async def _follow(self, ctx: Context, action: Action) -> None:
        handler = self._actions.get(type(action))
        ctx.pressed = action if handler is not None else None
        await (handler or self._fallback)(ctx)

    def _action_handler(self, data: str, ctx: Context) -> Handler | None:
        """The handler of the button `data` packs; None for data no action packs (forged,
        or from a version that offered other buttons) and for one nobody handles."""
        action = actions.parse(data)
        handler = self._actions.get(type(action)) if action is not None else None
        if handler is not None:
            ctx.pressed = action
        return handler

    @staticmethod
    def _remember_options(ctx: Context, offered_before: list[str]) -> None:
        """The options of the last reply with buttons are what a typed number picks."""
        own = [o.reply for o in ctx.replies if o.route == ctx.route and o.reply is not None]
        with_buttons = [reply for reply in own if reply.buttons]
        if with_buttons:
            last = with_buttons[-1]
            ctx.state.offered = [button.action for button in last.options()]
            ctx.state.expects_text = last.free_text
        elif own:
            ctx.state.offered = []
            ctx.state.expects_text = any(reply.free_text for reply in own)
        else:
            ctx.state.offered = offered_before


async def _ignore(ctx: Context) -> None:
    """A chat event no conversation cares about."""


_UNFINISHED = N_(
    "Sorry, I could not finish checking the file you sent, so it was not kept. "
    "Please send it again, or another one; what you sent before is safe."
)


def _add_to_trace(state: ConversationState, message_ids: list[str]) -> bool:
    """Bot messages sent into the chat join its trace, while it is being traced."""
    new = [i for i in message_ids if i not in state.trace]
    if not state.tracing or not new:
        return False
    state.trace.extend(new)
    return True


def _remember_update(state: ConversationState, key: str) -> None:
    state.recent = [*state.recent, key][-RECENT_UPDATES:]
