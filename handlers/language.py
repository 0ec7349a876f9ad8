"""Choosing the language of the conversation."""

from __future__ import annotations

from engine.conversation import Context, Router
from handlers.start import show_menu
from kernel.actions import LanguagePick, MenuLanguage
from kernel.messages import Button

router = Router("language")

# Each language is named in itself, so anyone can find their own.
CHOICES = (("vi", "Tiếng Việt"), ("en", "English"))


@router.command("language", "lang")
@router.action(MenuLanguage)
async def choose(ctx: Context) -> None:
    ctx.reply(
        ctx._("Choose your language:"),
        [[Button(label, LanguagePick(code)) for code, label in CHOICES]],
    )


@router.action(LanguagePick)
async def chosen(ctx: Context) -> None:
    code = ctx.action(LanguagePick).code
    if code not in dict(CHOICES):
        await choose(ctx)
        return
    ctx.set_language(code)
    await show_menu(ctx, ctx._("I will answer in English from now on."))
