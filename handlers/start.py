"""Welcome and menu: what a resident sees first, and whenever they are lost."""

from __future__ import annotations

from bot.conversation import Context, Router
from bot.messages import Button, ChatKind

router = Router("start")


def menu(ctx: Context) -> list[list[Button]]:
    return [[Button(ctx._("Language / Ngôn ngữ"), "menu:language")]]


async def show_menu(ctx: Context, text: str) -> None:
    ctx.go("")
    ctx.reply(text, menu(ctx))


@router.command("start")
async def start(ctx: Context) -> None:
    if ctx.inbound.chat_kind is ChatKind.GROUP:
        ctx.reply(ctx._("To talk with the ward police bot, please open a private chat with it."))
        return
    ctx.state.data.clear()
    await show_menu(
        ctx,
        ctx._(
            "Hello! This is the ward police channel for reporting drug crime "
            "and for anti-drug information.\n"
            "The bot does not keep your name or account, and everything you send is "
            "encrypted.\n"
            "In an emergency, call 113 now.\n\n"
            "Please choose:"
        ),
    )


@router.command("menu", "help")
@router.action("menu:home")
async def home(ctx: Context) -> None:
    await show_menu(ctx, ctx._("Please choose:"))


async def fallback(ctx: Context) -> None:
    """Anything no handler claims: a polite pointer back to the menu, never silence."""
    if ctx.inbound.chat_kind is ChatKind.GROUP:
        return  # the bot stays quiet in groups unless addressed with a command it knows
    await show_menu(
        ctx,
        ctx._("Sorry, I did not understand that. Please choose from the menu below."),
    )
