"""Running real channels in a test: the channel's own loops against a fake platform
over HTTP, and the bot's HTTP server (webhooks, /healthz) on a free local port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace

from sqlalchemy import func, select

from bot.app import App
from bot.channels.base import NetworkChannel, RetryPolicy
from bot.server import serve
from kernel.config import ChannelSettings, Settings
from storage.models import Base

FAST = RetryPolicy(attempts=4, first_backoff=0.05, max_backoff=0.2, max_wait=2.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running(channel: NetworkChannel) -> AsyncIterator[NetworkChannel]:
    """The channel connected and polling (or waiting for webhooks) until the block ends."""
    task = asyncio.create_task(channel.run())
    try:
        await until(lambda: channel.state == "running" or task.done(), timeout=15)
        if task.done():
            task.result()
        yield channel
    finally:
        await channel.stop()
        await asyncio.wait_for(task, 30)
        await channel.close()


@asynccontextmanager
async def serving(
    app: App, settings: Settings, channels: list[NetworkChannel]
) -> AsyncIterator[str]:
    """`wardbot run` in-process: the HTTP server, the scheduler and the channels; yields
    the server's base URL."""
    port = free_port()
    settings = replace(settings, server_port=port)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, settings, stop=stop, channels=channels))
    try:
        await until(lambda: all(c.state == "running" for c in channels) or task.done(), 15)
        if task.done():
            task.result()
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


def channel_settings(name: str, token: str, base_url: str, **kw: str) -> ChannelSettings:
    return ChannelSettings(name, token, base_url, **kw)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def row_counts(app: App) -> dict[str, int]:
    """How many rows each table holds: a refused request must change none."""
    counts = {}
    async with app.services.db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = int(await session.scalar(select(func.count()).select_from(table)))
    return counts
