"""`wardbot run` with chat platforms: every configured channel, the scheduler, and one
HTTP server for the webhooks and /healthz, in one process until SIGTERM or SIGINT.

Shutdown order keeps every update: channels stop taking new ones (polling stops asking,
webhooks answer 503 so the platform redelivers), updates being handled are finished,
the HTTP server closes, then the scheduler and the database.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from bot.app import App
from bot.channels import telegram, zalo
from bot.channels.base import NetworkChannel
from bot.jobs import Jobs
from engine.conversation import Dispatcher
from kernel.config import Settings
from kernel.errors import describe

log = logging.getLogger(__name__)

SECRET_HEADERS = {telegram.CHANNEL: telegram.SECRET_HEADER, zalo.CHANNEL: zalo.SECRET_HEADER}
# How long a client may take over each part of a request: the request line and headers
# (and the idle wait for the next request on a kept-alive connection), a webhook's body,
# and what a refused request still sends after its answer.
HEADER_SECONDS = 10.0
BODY_SECONDS = 10.0
LINGER_SECONDS = 2.0


class ListenError(Exception):
    """The HTTP server could not listen (the port is taken, the address is not ours)."""


def build_channels(dispatcher: Dispatcher, settings: Settings) -> list[NetworkChannel]:
    channels: list[NetworkChannel] = []
    if settings.telegram is not None:
        channels.append(telegram.TelegramChannel(dispatcher, settings.telegram))
    if settings.zalo is not None:
        channels.append(zalo.ZaloChannel(dispatcher, settings.zalo))
    return channels


def web_app(
    app: App,
    channels: Sequence[NetworkChannel],
    settings: Settings,
    *,
    body_seconds: float = BODY_SECONDS,
) -> web.Application:
    server = web.Application(client_max_size=settings.max_update_bytes)

    async def healthz(request: web.Request) -> web.Response:
        body: dict[str, Any] = {"channels": {c.name: c.health() for c in channels}}
        try:
            async with asyncio.timeout(3):
                await app.services.db.ping()
            body["database"] = "ok"
        except Exception as exc:
            body["database"] = "unreachable"
            log.warning("healthz: database unreachable (%s)", describe(exc))
        # A process standing by while another polls with the token is as it should be.
        running = all(c.state in ("running", "standby") for c in channels)
        body["status"] = "ok" if body["database"] == "ok" and running else "degraded"
        return web.json_response(body, status=200 if body["database"] == "ok" else 503)

    server.router.add_get("/healthz", healthz)
    for channel in channels:
        if channel.settings.mode == "webhook":
            handler = channel.webhook_handler(
                SECRET_HEADERS[channel.name], settings.max_update_bytes, body_seconds=body_seconds
            )
            server.router.add_post(channel.settings.webhook_path, handler)
    return server


async def serve(
    app: App,
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    channels: Sequence[NetworkChannel] | None = None,
    header_seconds: float = HEADER_SECONDS,
    body_seconds: float = BODY_SECONDS,
) -> None:
    """Run until `stop` is set (or a SIGTERM/SIGINT arrives when no `stop` is given).
    `header_seconds` and `body_seconds` bound how long one client may hold a connection
    (see `_HeaderDeadline` and `NetworkChannel.webhook_handler`)."""
    stop = stop or _stop_on_signals()
    channels = list(channels) if channels is not None else build_channels(app.dispatcher, settings)
    runner = web.AppRunner(
        web_app(app, channels, settings, body_seconds=body_seconds),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=30,
        # An idle kept-alive connection is closed after this long, which also bounds the
        # headers of every request after the first (aiohttp closes a connection still
        # waiting for a whole request when it fires); the first is _HeaderDeadline's.
        keepalive_timeout=header_seconds,
        lingering_time=min(LINGER_SECONDS, header_seconds),
    )
    await runner.setup()
    jobs = Jobs(app.services)
    tasks: list[asyncio.Task[None]] = []
    try:
        site = _HeaderDeadlineSite(
            runner, settings.server_host, settings.server_port, header_seconds
        )
        try:
            await site.start()
        except OSError as exc:
            raise ListenError(f"{settings.server_host}:{settings.server_port}") from exc
        log.info(
            "listening on %s:%d (/healthz%s)",
            settings.server_host,
            settings.server_port,
            "".join(
                f", {c.settings.webhook_path}" for c in channels if c.settings.mode == "webhook"
            ),
        )
        jobs.start()
        tasks = [asyncio.create_task(channel.run(), name=channel.name) for channel in channels]
        await stop.wait()
        log.info("stopping: finishing the updates in progress")
    finally:
        await asyncio.gather(*(channel.stop() for channel in channels))
        await runner.cleanup()
        for task in tasks:
            try:
                await asyncio.wait_for(task, 30)
            except Exception as exc:
                log.error("%s stopped with an error (%s)", task.get_name(), describe(exc))
        await jobs.stop()
        for channel in channels:
            await channel.close()
    log.info("stopped")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


class _HeaderDeadline(asyncio.Protocol):
    """aiohttp's protocol for one connection, with a deadline for its first request line
    and headers: a client that connects and then sends nothing, or trickles its headers a
    byte at a time, is disconnected `seconds` after connecting.

    aiohttp has no option for this. Its keep-alive timer bounds the wait for every later
    request, but aiohttp 3.14.3 and older (pyproject allows >=3.9) do not start that timer
    when the connection opens; 3.14.5 does. So this wrapper starts its own timer on
    connect and stops it once the bytes received hold the end of the headers (an empty
    line; a bare LF line too, so a lenient parse never has a request cut while it is
    being handled). Every call is passed to aiohttp's protocol unchanged; the bytes are
    only looked at, for the first request only, keeping the last three across reads.
    A request whose headers arrived but whose body trickles is the handler's to end
    (`body_seconds`, 408); aiohttp then reads what still comes for `lingering_time`."""

    def __init__(self, inner: asyncio.Protocol, seconds: float) -> None:
        self._inner = inner
        self._seconds = seconds
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._seconds, transport.close)
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._timer is not None:
            seen = self._tail + data
            if b"\r\n\r\n" in seen or b"\n\n" in seen:
                self._timer.cancel()
                self._timer, self._tail = None, b""
            else:
                self._tail = seen[-3:]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class _HeaderDeadlineSite(web.BaseSite):
    """web.TCPSite, with every connection's protocol wrapped in `_HeaderDeadline`."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, seconds: float) -> None:
        super().__init__(runner)
        self._host, self._port, self._seconds = host, port, seconds

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server, seconds = self._runner.server, self._seconds
        assert server is not None  # set by runner.setup(), which BaseSite checks
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _HeaderDeadline(server(), seconds),
            self._host,
            self._port,
            backlog=self._backlog,
        )
