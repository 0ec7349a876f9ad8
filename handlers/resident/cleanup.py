"""Trace clean-up: wiping a report or a status check from the chat afterwards.

Someone else may pick up the phone. Where the channel lets a bot delete messages
(Telegram, in a private chat, for 48 hours) the bot deletes both sides of the traced
conversation; elsewhere it explains how to delete them by hand.
"""

from __future__ import annotations

from engine.conversation import Context, Router
from kernel.actions import CleanupDelete, MenuHome
from kernel.messages import Button

router = Router("cleanup")


async def offer_cleanup(ctx: Context) -> None:
    """After a report or a status check, offer to wipe the chat (Telegram allows a bot
    to delete both sides of a private chat for 48 hours)."""
    if ctx.channel.can_delete_messages:
        ctx.reply(
            ctx._(
                "For your safety, I can delete this conversation from the chat now. "
                "Write down your code and secret first."
            ),
            [
                [Button(ctx._("🧹 Delete this conversation"), CleanupDelete())],
                [Button(ctx._("Keep it"), MenuHome())],
            ],
        )
        return
    ctx.state.tracing = False
    ctx.state.trace = []
    ctx.reply(
        ctx._(
            "For your safety, delete this conversation from your phone once you have written "
            "down your code and secret: this app does not let me delete messages for you. "
            "Press and hold a message, choose Delete, or clear the whole chat from its menu."
        ),
        [[Button(ctx._("Menu"), MenuHome())]],
    )


@router.action(CleanupDelete)
async def cleanup(ctx: Context) -> None:
    count = ctx.delete_trace()
    ctx.go(None)
    ctx.reply(
        ctx.ngettext(
            "{count} message was deleted from this chat.",
            "{count} messages were deleted from this chat.",
            count,
        ).format(count=count),
        [[Button(ctx._("Menu"), MenuHome())]],
    )
