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
from sqlalchemy import text

from bot.app import App
from bot.channels import telegram, zalo
from bot.channels.base import NetworkChannel
from bot.config import Settings
from bot.conversation import Dispatcher, describe
from bot.jobs import Jobs

log = logging.getLogger(__name__)

SECRET_HEADERS = {telegram.CHANNEL: telegram.SECRET_HEADER, zalo.CHANNEL: zalo.SECRET_HEADER}


class ListenError(Exception):
    """The HTTP server could not listen (the port is taken, the address is not ours)."""


def build_channels(dispatcher: Dispatcher, settings: Settings) -> list[NetworkChannel]:
    channels: list[NetworkChannel] = []
    if settings.telegram is not None:
        channels.append(telegram.TelegramChannel(dispatcher, settings.telegram))
    if settings.zalo is not None:
        channels.append(zalo.ZaloChannel(dispatcher, settings.zalo))
    return channels


def web_app(app: App, channels: Sequence[NetworkChannel], settings: Settings) -> web.Application:
    server = web.Application(client_max_size=settings.max_update_bytes)

    async def healthz(request: web.Request) -> web.Response:
        body: dict[str, Any] = {"channels": {c.name: c.health() for c in channels}}
        try:
            async with asyncio.timeout(3):
                async with app.services.db.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            body["database"] = "ok"
        except Exception as exc:
            body["database"] = "unreachable"
            log.warning("healthz: database unreachable (%s)", describe(exc))
        running = all(c.state == "running" for c in channels)
        body["status"] = "ok" if body["database"] == "ok" and running else "degraded"
        return web.json_response(body, status=200 if body["database"] == "ok" else 503)

    server.router.add_get("/healthz", healthz)
    for channel in channels:
        if channel.settings.mode == "webhook":
            handler = channel.webhook_handler(
                SECRET_HEADERS[channel.name], settings.max_update_bytes
            )
            server.router.add_post(channel.settings.webhook_path, handler)
    return server


async def serve(
    app: App,
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    channels: Sequence[NetworkChannel] | None = None,
) -> None:
    """Run until `stop` is set (or a SIGTERM/SIGINT arrives when no `stop` is given)."""
    stop = stop or _stop_on_signals()
    channels = list(channels) if channels is not None else build_channels(
        app.dispatcher, settings)  # fmt: skip
    runner = web.AppRunner(web_app(app, channels, settings), access_log=None,
                           handle_signals=False, shutdown_timeout=30)  # fmt: skip
    await runner.setup()
    jobs = Jobs(app.services)
    tasks: list[asyncio.Task[None]] = []
    try:
        site = web.TCPSite(runner, settings.server_host, settings.server_port)
        try:
            await site.start()
        except OSError as exc:
            raise ListenError(f"{settings.server_host}:{settings.server_port}") from exc
        log.info("listening on %s:%d (/healthz%s)", settings.server_host, settings.server_port,
                 "".join(f", {c.settings.webhook_path}" for c in channels
                         if c.settings.mode == "webhook"))  # fmt: skip
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
