"""A residential group named by typing, in the police's conversations: the one group of
the officer's ward the text names (wards.match_groups: active groups, accents optional),
or a request to type it again."""

from __future__ import annotations

from engine.conversation import Context
from kernel.messages import Button
from storage import wards
from storage.models import Officer, ResidentialGroup


async def one_typed_group(
    ctx: Context, officer: Officer, cancel: list[Button]
) -> ResidentialGroup | None:
    """The group typed, or None after asking again (the step stays where it is)."""
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    found = await wards.match_groups(ctx.session, ward, ctx.inbound.text) if ward else []
    if len(found) == 1:
        return found[0]
    ctx.reply(
        ctx._("Please type the exact name of one residential group."), [cancel], free_text=True
    )
    return None
