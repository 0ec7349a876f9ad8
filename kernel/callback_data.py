"""Typed button actions: what a button does, as a frozen dataclass with a prefix and
typed fields, packed into the few bytes a platform carries back when it is pressed
(Telegram's callback_data, at most 64 bytes) and parsed back, every field checked.

The idea is aiogram's CallbackData; the code is ours, and pure. The wire form is the
prefix, then each field after a colon: `report:grp:12`, `df:pick:12:2026:achieved`,
`report:start` for an action without fields. Only the last field may hold a colon (the
triage queue's cursor does). Every action class registers its prefix; no prefix of an
action with fields may begin another's, so one string names one class at most.

`parse` never raises: data a platform hands back may be forged, and anything that is
not exactly what some action packs (an unknown prefix, a missing or an extra field, a
number out of its range or of forty digits, digits of another script, an unknown enum
value, any non-ASCII character) is None, to be answered like an unknown command.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import fields
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, TypeVar, get_args, get_origin, get_type_hints

# Telegram's limit for callback_data, in bytes; what no packed action may exceed.
MAX_BYTES = 64
# Record ids are 32-bit integer columns (storage/models.py): larger never reaches a query.
MAX_ID = 2**31 - 1

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)
_DIGITS = re.compile(r"[0-9]{1,10}", re.ASCII)


class Invalid(ValueError):
    """A value a field cannot hold, or wire text that is not one."""


class Field(Generic[T]):
    """How one field of an action is written on the wire and read back."""

    def pack(self, value: T) -> str:
        self.check(value)
        return self._pack(value)

    def _pack(self, value: T) -> str:
        return str(value)

    def check(self, value: Any) -> None:
        """Raise Invalid unless `value` is one this field holds."""
        raise NotImplementedError

    def parse(self, text: str) -> T:
        """The value `text` stands for; Invalid unless `text` is exactly how it is packed
        (a leading zero of a number aside: `007` is 7, as typed ids are read)."""
        raise NotImplementedError


class Number(Field[int]):
    """A whole number from `least` to `most`: ASCII digits only, no sign, at most ten."""

    def __init__(self, least: int = 0, most: int = MAX_ID):
        self.least, self.most = least, most

    def check(self, value: Any) -> None:
        if type(value) is not int or not self.least <= value <= self.most:
            raise Invalid(f"not a number from {self.least} to {self.most}")

    def parse(self, text: str) -> int:
        if not _DIGITS.fullmatch(text):
            raise Invalid("not a number")
        number = int(text)
        self.check(number)
        return number


class Id(Number):
    """A record id: 1 to MAX_ID, so a forged button's number reaches no query it breaks."""

    def __init__(self) -> None:
        super().__init__(1, MAX_ID)


class Choice(Field[str]):
    """One of a fixed set of short words (a tip category, a language code)."""

    def __init__(self, words: Iterable[str]):
        self.words = frozenset(words)
        if not all(_fits(word) for word in self.words):
            raise ValueError("a choice must be a short ASCII word without a colon")

    def check(self, value: Any) -> None:
        if not isinstance(value, str) or value not in self.words:
            raise Invalid("not one of the choices")

    def parse(self, text: str) -> str:
        self.check(text)
        return text


class Member(Field[E]):
    """A member of a StrEnum, written as its value; `only` narrows the members allowed
    (a pledge kind an officer may enter, not the household's own)."""

    def __init__(self, enum: type[E], only: Iterable[E] | None = None):
        self.enum = enum
        self.members = frozenset(enum if only is None else only)

    def _pack(self, value: E) -> str:
        return value.value

    def check(self, value: Any) -> None:
        if not isinstance(value, self.enum) or value not in self.members:
            raise Invalid(f"not an allowed {self.enum.__name__}")

    def parse(self, text: str) -> E:
        for member in self.members:
            if member.value == text:
                return member
        raise Invalid(f"not an allowed {self.enum.__name__}")


class Flag(Field[bool]):
    """Yes or no, written as two words."""

    def __init__(self, yes: str = "yes", no: str = "no"):
        self.yes, self.no = yes, no

    def _pack(self, value: bool) -> str:
        return self.yes if value else self.no

    def check(self, value: Any) -> None:
        if type(value) is not bool:
            raise Invalid("not yes or no")

    def parse(self, text: str) -> bool:
        if text not in (self.yes, self.no):
            raise Invalid("not yes or no")
        return text == self.yes


class Text(Field[str]):
    """A short string of characters from `alphabet` (a tip code, a month)."""

    def __init__(self, alphabet: str, *, most: int, least: int = 1):
        if not alphabet.isascii() or ":" in alphabet:
            raise ValueError("an alphabet is ASCII without a colon")
        self.alphabet, self.least, self.most = frozenset(alphabet), least, most

    def check(self, value: Any) -> None:
        if not isinstance(value, str) or not self.least <= len(value) <= self.most:
            raise Invalid("not a text of that length")
        if not set(value) <= self.alphabet:
            raise Invalid("a character outside the alphabet")

    def parse(self, text: str) -> str:
        self.check(text)
        return text


class OrNone(Field[T | None]):
    """`inner`'s value, or None written as `none` (a word the inner field cannot be)."""

    def __init__(self, inner: Field[T], none: str = "none"):
        self.inner, self.none = inner, none

    def _pack(self, value: T | None) -> str:
        return self.none if value is None else self.inner._pack(value)

    def check(self, value: Any) -> None:
        if value is not None:
            self.inner.check(value)

    def parse(self, text: str) -> T | None:
        return None if text == self.none else self.inner.parse(text)


# ---- actions ----------------------------------------------------------------------------

_REGISTRY: dict[str, type[Action]] = {}
A = TypeVar("A", bound="Action")


class Action:
    """A button's action. Subclass it as a frozen dataclass, with the prefix as a class
    keyword and each field annotated with how it is written:

        @dataclass(frozen=True)
        class ReportGroup(Action, prefix="report:grp"):
            group_id: Annotated[int | None, OrNone(Id())]

    Building one checks every field (ValueError), so a button can only ever carry data
    its handler can read back."""

    prefix: ClassVar[str] = ""
    _wire: ClassVar[tuple[tuple[str, Field[Any]], ...] | None] = None

    def __init_subclass__(cls, *, prefix: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not prefix:  # an abstract kind of action (a group's answer), not a button
            return
        if not _fits(prefix.replace(":", "")) or prefix.startswith(":") or prefix.endswith(":"):
            raise ValueError(f"bad action prefix {prefix!r}")
        if prefix in _REGISTRY:
            raise ValueError(f"action prefix {prefix!r} is registered twice")
        cls.prefix = prefix
        _REGISTRY[prefix] = cls

    def __post_init__(self) -> None:
        for name, spec in self.wire():
            try:
                spec.check(getattr(self, name))
            except Invalid as exc:
                raise ValueError(f"{type(self).__name__}.{name}: {exc}") from None

    @classmethod
    def wire(cls) -> tuple[tuple[str, Field[Any]], ...]:
        """Each field's name and how it is written, in wire order."""
        wire = cls.__dict__.get("_wire")
        if wire is None:
            hints = get_type_hints(cls, include_extras=True)
            found: list[tuple[str, Field[Any]]] = []
            for item in fields(cls):  # type: ignore[arg-type]
                specs = [a for a in get_args(hints[item.name])[1:] if isinstance(a, Field)]
                if get_origin(hints[item.name]) is not Annotated or len(specs) != 1:
                    raise TypeError(f"{cls.__name__}.{item.name} needs one wire Field")
                found.append((item.name, specs[0]))
            wire = tuple(found)
            cls._wire = wire
        return wire

    @classmethod
    def head(cls) -> str:
        """What every packed form of this class begins with: `report:grp:` for one with
        fields, the whole `report:start` for one without."""
        return cls.prefix + ":" if cls.wire() else cls.prefix

    def pack(self) -> str:
        """The wire form; ValueError if it would not fit a platform's button."""
        parts = [spec.pack(getattr(self, name)) for name, spec in self.wire()]
        data = ":".join([self.prefix, *parts])
        if len(data.encode("utf-8")) > MAX_BYTES:
            raise ValueError(f"{type(self).__name__} packs to more than {MAX_BYTES} bytes")
        return data

    @classmethod
    def unpack(cls: type[A], data: str) -> A | None:
        """`data` as this class, or None."""
        found = parse(data)
        return found if isinstance(found, cls) else None


def parse(data: object) -> Action | None:
    """The action `data` packs, every field checked; None for anything else. Never raises."""
    try:
        return _parse(data)
    except Exception:  # whatever forged data may provoke, it is only not an action
        return None


def _parse(data: object) -> Action | None:
    if not isinstance(data, str) or not data.isascii() or len(data) > MAX_BYTES:
        return None
    parts = data.split(":")
    for end in range(len(parts), 0, -1):
        kind = _REGISTRY.get(":".join(parts[:end]))
        if kind is None:
            continue
        wire = kind.wire()
        if not wire:
            return kind() if end == len(parts) else None
        if end == len(parts):
            return None  # an action with fields, written without them
        texts = ":".join(parts[end:]).split(":", len(wire) - 1)
        if len(texts) != len(wire):
            return None
        values = {name: spec.parse(text) for (name, spec), text in zip(wire, texts, strict=True)}
        return kind(**values)
    return None


def kind_of(prefix: str) -> type[Action] | None:
    """The action class registered under `prefix`, if any."""
    return _REGISTRY.get(prefix)


def registered() -> tuple[type[Action], ...]:
    """Every action class registered so far, in the order they were defined."""
    return tuple(_REGISTRY.values())


def check_prefixes() -> None:
    """No prefix of an action with fields may begin another prefix: then one wire string
    could name two classes. Called once all actions are defined."""
    for prefix, kind in _REGISTRY.items():
        if kind.wire():
            clash = [other for other in _REGISTRY if other.startswith(prefix + ":")]
            if clash:
                raise ValueError(f"action prefix {prefix!r} begins {clash}")


def _fits(word: str) -> bool:
    return (
        bool(word)
        and word.isascii()
        and word.isprintable()
        and ":" not in word
        and " " not in word
        and len(word) <= 32
    )
