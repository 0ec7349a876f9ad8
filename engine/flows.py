"""Typed conversation state: each conversation keeps what it is collecting (the report
draft, the broadcast draft, ...) as a dataclass of its own, stored in the sealed
conversation state under its own key (ConversationState.data[KEY]).

A handler reads it with `ctx.flow(ReportDraft)`, changes it in place, and it is written
back when the state is sealed; `ctx.end_flow(ReportDraft)` drops it. What was stored is
read back field by field against the annotations: a stored state that does not parse (an
older shape, a value of the wrong type) is dropped, never a crash.

Field types understood: bool, int, float, str, a StrEnum, a button action
(kernel/actions.py, stored packed), lists of these, and `| None` of any. Every field
needs a default: a conversation that has not started is the flow as built with none.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import fields, is_dataclass
from enum import StrEnum
from typing import Any, ClassVar, TypeVar, get_args, get_origin, get_type_hints

from kernel import actions

F = TypeVar("F", bound="Flow")
_MISSING = object()


class Flow:
    """Base of a conversation's state; subclass it as a (mutable) dataclass with a KEY."""

    KEY: ClassVar[str]

    def valid(self) -> bool:
        """Checks beyond each field's type (a known category, say); True by default."""
        return True

    def to_json(self) -> dict[str, Any]:
        return {item.name: _write(getattr(self, item.name)) for item in fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_json(cls: type[F], raw: object) -> F | None:
        """The flow `raw` holds, or None when it does not parse. A field left out takes
        its default; keys no field has are ignored."""
        if not isinstance(raw, dict) or not is_dataclass(cls):
            return None
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in raw:
                continue
            value = _read(hints[item.name], raw[item.name])
            if value is _MISSING:
                return None
            values[item.name] = value
        try:
            flow = cls(**values)
        except (TypeError, ValueError):
            return None
        return flow if flow.valid() else None


def _write(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, actions.Action):
        return value.pack()
    if isinstance(value, list | tuple):
        return [_write(v) for v in value]
    return value


def _read(kind: Any, value: Any) -> Any:
    """`value` as `kind`, or _MISSING when it is not one."""
    origin = get_origin(kind)
    if origin is typing.Union or origin is types.UnionType:
        for option in get_args(kind):
            found = _read(option, value)
            if found is not _MISSING:
                return found
        return _MISSING
    if origin is list:
        (inner,) = get_args(kind)
        if not isinstance(value, list):
            return _MISSING
        items = [_read(inner, v) for v in value]
        return _MISSING if any(i is _MISSING for i in items) else items
    if kind is type(None):
        return None if value is None else _MISSING
    if kind is bool:
        return value if type(value) is bool else _MISSING
    if kind is int:
        return value if type(value) is int else _MISSING
    if kind is float:
        ok = type(value) in (int, float) and math.isfinite(value)
        return float(value) if ok else _MISSING
    if kind is str:
        return value if isinstance(value, str) else _MISSING
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        try:
            return kind(value) if isinstance(value, str) else _MISSING
        except ValueError:
            return _MISSING
    if isinstance(kind, type) and issubclass(kind, actions.Action):
        action = actions.parse(value)
        return action if isinstance(action, kind) else _MISSING
    raise TypeError(f"a flow cannot hold a {kind!r}")
