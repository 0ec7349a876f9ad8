"""Choosing the language of the conversation."""

from __future__ import annotations

from engine.conversation import Context, Router
from handlers.start import show_menu
from kernel.messages import Button

router = Router("language")

# Each language is named in itself, so anyone can find their own.
CHOICES = (("vi", "Tiếng Việt"), ("en", "English"))


@router.command("language", "lang")
@router.action("menu:language")
async def choose(ctx: Context) -> None:
    ctx.reply(
        ctx._("Choose your language:"),
        [[Button(label, f"lang:{code}") for code, label in CHOICES]],
    )


@router.action("lang:")
async def chosen(ctx: Context) -> None:
    if ctx.action_arg not in dict(CHOICES):
        await choose(ctx)
        return
    ctx.set_language(ctx.action_arg)
    await show_menu(ctx, ctx._("I will answer in English from now on."))
