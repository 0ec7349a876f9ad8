"""Typed button actions, steps and state (kernel/callback_data.py, kernel/actions.py,
engine/flows.py, handlers/flows.py).

Every action any handler can emit has a handler in the composed dispatcher and packs to
what parses back to it, for any valid values (generated); forged data of every kind
parses to nothing and is answered, through the real dispatcher, like an unknown command;
no handler builds a button, follows an action or names a step from a string; and a
stored state that no longer parses is dropped, never a crash."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import build_routers
from handlers.flows import DraftStep, GroupQuestion, ReportDraft, UnlockedTip
from kernel import actions
from kernel.actions import CATALOG, QueueCursor, ReportGroup, SubGroup, WardReportMonth
from kernel.callback_data import (
    MAX_BYTES,
    Action,
    Choice,
    Field,
    Flag,
    Member,
    Number,
    OrNone,
    Text,
    parse,
)
from kernel.messages import Button
from storage import conversations
from storage.pseudonyms import Purpose
from tests.helpers import Chat, add_phu_lien

ROOT = Path(__file__).resolve().parents[1]
UNKNOWN = "Sorry, I did not understand that. Please choose from the menu below."


def _values(spec: Field[Any]) -> st.SearchStrategy[Any]:
    """Every value a field may hold."""
    if isinstance(spec, Number):
        return st.integers(min_value=spec.least, max_value=spec.most)
    if isinstance(spec, Choice):
        return st.sampled_from(sorted(spec.words))
    if isinstance(spec, Member):
        return st.sampled_from(sorted(spec.members))
    if isinstance(spec, Flag):
        return st.booleans()
    if isinstance(spec, Text):
        alphabet = "".join(sorted(spec.alphabet))
        return st.text(alphabet, min_size=spec.least, max_size=spec.most)
    if isinstance(spec, OrNone):
        return st.none() | _values(spec.inner)
    if isinstance(spec, QueueCursor):
        moments = st.datetimes(
            min_value=datetime(2000, 1, 1),
            max_value=datetime(2100, 12, 30),
            timezones=st.just(UTC),
        )
        cursors = st.tuples(st.integers(1, 9), moments, st.integers(1, 2**31 - 1))
        return st.none() | cursors
    raise AssertionError(f"no strategy for {spec!r}")


def _actions(kind: type[Action]) -> st.SearchStrategy[Action]:
    fields = {name: _values(spec) for name, spec in kind.wire()}
    return st.builds(kind, **fields)


ANY_ACTION = st.sampled_from(CATALOG).flatmap(_actions)


# ---- every action is handled and round-trips ---------------------------------------------


def test_the_catalog_holds_every_action_and_only_it() -> None:
    names = [kind.__name__ for kind in CATALOG]
    assert len(names) == len(set(names)) >= 60
    assert all(kind.__module__ == "kernel.actions" for kind in CATALOG)
    prefixes = [kind.prefix for kind in CATALOG]
    assert len(prefixes) == len(set(prefixes))


async def test_every_action_has_a_handler_in_the_composed_dispatcher(app) -> None:
    missing = [kind.__name__ for kind in CATALOG if not app.dispatcher.handles(kind)]
    assert not missing
    registered = {kind for router in build_routers() for kind in router.actions}
    assert registered == set(CATALOG)  # and nothing is handled that no button emits


@settings(max_examples=600, deadline=None)
@given(ANY_ACTION)
def test_every_action_packs_within_telegrams_limit_and_parses_back(action: Action) -> None:
    data = action.pack()
    assert len(data.encode("utf-8")) <= MAX_BYTES
    assert data.isascii() and data.startswith(type(action).head())
    assert parse(data) == action
    assert type(action).unpack(data) == action


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.sampled_from(CATALOG)
        .map(lambda k: k.head())
        .flatmap(lambda head: st.text().map(lambda tail: head + tail)),
    )
)
def test_parsing_never_raises_and_what_parses_packs_back(data: str) -> None:
    action = parse(data)
    if action is not None:
        assert parse(action.pack()) == action


def test_the_wire_format_is_the_one_stored_options_and_notices_use() -> None:
    moment = datetime(2026, 12, 4, 18, 0, 0, 123456, tzinfo=UTC)
    expected = {
        "report:grp:12": ReportGroup(12),
        "report:grp:none": ReportGroup(None),
        "sub:grp:7": SubGroup(7),
        "report:start": actions.ReportStart(),
        "report:contact:yes": actions.ReportContact(allowed=True),
        "police:queue:": actions.PoliceQueue(None),
        f"police:queue:1|{moment.isoformat()}|12": actions.PoliceQueue((1, moment, 12)),
        "police:closeas:AB12CD3:confirmed": actions.PoliceCloseAs(
            "AB12CD3", actions.Outcome.CONFIRMED
        ),
        "df:pick:12:2026:achieved": actions.DrugFreePick(12, 2026, actions.DrugFreeStatus.ACHIEVED),
        "bc:approve:4": actions.BroadcastApprove(4),
        "wardreport:month:2026-11": WardReportMonth("2026-11"),
        "status:start": actions.StatusStart(),
    }
    for data, action in expected.items():
        assert action.pack() == data
        assert parse(data) == action
    assert parse("report:grp:007") == ReportGroup(7)  # as typed ids are read


FORGED = [
    "",  # nothing
    "report",  # a prefix's start
    "reportx:grp:1",  # a wrong prefix
    "REPORT:START",
    "report:start:1",  # an extra field
    "report:grp",  # a missing field
    "report:grp:",
    "report:grp:1:2",
    "df:pick:1:2026",
    "df:pick:1:2026:achieved:x",
    "report:grp:0",  # out of range
    "report:grp:-1",
    "report:grp:+1",
    "report:grp:" + "9" * 40,  # a forty-digit number
    f"report:grp:{2**31}",
    "report:list:99999999999",
    "report:grp:١٢",  # other scripts' digits
    "report:grp:１２",
    "report:grp:²",
    "report:grp:\ud800",  # a lone surrogate (reaches the bot as U+FFFD)
    "report:grp:1\x00",
    "report:cat:nothing",  # an unknown choice or enum value
    "op:kind:household",  # an enum member that is not offered
    "police:closeas:AB12CD3:maybe",
    "df:pick:1:2026:gone",
    "lang:xx",
    "report:contact:maybe",
    "quiz:a:2026-W49:0",
    "police:tip:ab12cd3",  # outside the code's alphabet
    "police:queue:1|2026-01-01T00:00:00|5",  # a time without its zone
    "police:queue:1|1999-12-31T00:00:00+00:00|5",
    "wardreport:month:2026-11-01",
    "report:grp:" + "1" * 60,  # longer than a button can carry
    " report:start",
    "report:start ",
]


@pytest.mark.parametrize("data", FORGED)
def test_forged_data_parses_to_nothing(data: str) -> None:
    assert parse(data) is None


async def test_forged_buttons_get_the_unknown_command_answer(app) -> None:
    await add_phu_lien(app)
    chat = Chat(app, "forger", language_hint="en")
    await chat.send("/report")  # mid-wizard, where buttons are expected
    for data in FORGED:
        if not data:
            continue  # no action at all is typed text, not a button
        await chat.send(action=data)
        assert chat.text == UNKNOWN, data


def test_building_an_action_checks_its_fields() -> None:
    for build in (
        lambda: ReportGroup(0),
        lambda: ReportGroup(2**31),
        lambda: ReportGroup(True),  # a bool is no id
        lambda: actions.LanguagePick("xx"),
        lambda: actions.OrgPledgeKind(actions.PledgeKind.HOUSEHOLD),
        lambda: actions.PoliceTip("ab:1"),
        lambda: actions.PoliceQueue((1, datetime(2026, 1, 1), 5)),  # naive
    ):
        with pytest.raises(ValueError):
            build()
    with pytest.raises(TypeError):
        Button("Menu", "menu:home")  # type: ignore[arg-type]


def test_a_typed_month_becomes_one_or_a_marker_that_is_none() -> None:
    assert WardReportMonth.typed(" 2026-11 ").month == "2026-11"
    assert WardReportMonth.typed("").month == ""
    assert WardReportMonth.typed("tháng 11").month == actions.NOT_A_MONTH


# ---- no string actions or steps in handlers ----------------------------------------------


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _name(call: ast.Call) -> str:
    func = call.func
    return (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )


def _stringy(node: ast.AST) -> bool:
    """A string literal, an f-string, or a string built with + or %."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _stringy(node.left) or _stringy(node.right)
    return False


def test_no_handler_builds_a_button_or_names_a_step_from_a_string() -> None:
    found = []
    for path in sorted((ROOT / "handlers").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _calls(tree):
            name = _name(call)
            args = list(call.args)
            if name == "Button":
                suspects = args[1:2] + [k.value for k in call.keywords if k.arg == "press"]
            elif name in (
                "follow",
                "go",
                "action",
                "step",
                "police_action",
                "ask_ward",
                "private_ward",
                "ask_group",
            ):
                suspects = args
            else:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{call.lineno} {name}" for s in suspects if _stringy(s)
            ]
    assert not found


def test_every_step_is_a_value_of_its_conversations_step_enum() -> None:
    """Router.step takes only StrEnum members; the values are what stored conversations
    hold, so they must stay today's strings."""
    import sys
    from enum import StrEnum

    enums = [
        module.Step
        for name, module in list(sys.modules.items())
        if name.startswith("handlers.") and isinstance(getattr(module, "Step", None), type)
    ]
    values = {step.value for enum in enums if issubclass(enum, StrEnum) for step in enum}
    registered = {step for router in build_routers() for step in router.steps}
    assert registered and registered <= values
    assert {"report:where", "status:receipt", "tdp:name", "bc:text", "df:name"} <= registered
    with pytest.raises(AttributeError):
        build_routers()[0].step("report:where")  # type: ignore[arg-type]


# ---- typed state ------------------------------------------------------------------------


def test_a_flow_round_trips_and_a_broken_one_is_dropped() -> None:
    draft = ReportDraft(
        step=DraftStep.WHAT,
        ward_id=1,
        category="use",
        what=["a", "b"],
        location=[21.0, 105.8],
        contact=False,
    )
    assert ReportDraft.from_json(draft.to_json()) == draft
    assert ReportDraft.from_json({}) == ReportDraft()
    for broken in (
        None,
        [],
        "draft",
        {"step": "nowhere"},
        {"what": "text, not a list"},
        {"ward_id": True},
        {"ward_id": "1"},
        {"category": "unknown"},
        {"when": "tomorrow"},
        {"location": [1.0]},
        {"location": [float("nan"), 1.0]},
        {"contact": "yes"},
    ):
        assert ReportDraft.from_json(broken) is None, broken
    assert GroupQuestion.from_json({"answer": "sub:grp", "question": "?"}) is not None
    assert GroupQuestion.from_json({"answer": "report:grp", "question": "?"}) is None
    assert GroupQuestion(answer="sub:grp").answer_kind is SubGroup


async def _state(app, chat: Chat) -> conversations.StoredConversation:
    account = app.services.pseudonyms.of(Purpose.CONVERSATION, "console", chat.user)
    async with app.services.db.transaction() as session:
        return await conversations.load(session, app.services.vault, account)


async def _edit_state(app, chat: Chat, change) -> None:  # type: ignore[no-untyped-def]
    account = app.services.pseudonyms.of(Purpose.CONVERSATION, "console", chat.user)
    async with app.services.db.transaction() as session:
        stored = await conversations.load(session, app.services.vault, account)
        change(stored.state)
        await conversations.save(session, app.services.vault, stored)


async def test_a_stored_draft_that_does_not_parse_is_dropped_not_a_crash(app) -> None:
    await add_phu_lien(app)
    chat = Chat(app, "resumer", language_hint="en")
    await chat.send("/report")
    await chat.send(action="report:cat:use")
    assert (await _state(app, chat)).state.data["draft"]["category"] == "use"

    def break_draft(state: conversations.ConversationState) -> None:
        state.data["draft"] = {"category": 12, "what": "not a list"}

    await _edit_state(app, chat, break_draft)
    await chat.send("/report")  # the broken draft is gone: a new report starts
    assert "What is your tip about?" in chat.text
    draft = (await _state(app, chat)).state.data["draft"]
    assert draft["category"] is None and draft["what"] == []


async def test_a_flow_kept_until_a_moment_is_gone_after_it(app) -> None:
    """ctx.flow_until keeps ConversationState.expires' meaning: the unlocked tip's flow
    carries its time, and a load after it finds nothing (storage/conversations.py)."""
    chat = Chat(app, "expiring", language_hint="en")
    await chat.send("/start")

    def unlock(state: conversations.ConversationState) -> None:
        state.data[UnlockedTip.KEY] = UnlockedTip(tip_id=5).to_json()
        state.expires[UnlockedTip.KEY] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()

    await _edit_state(app, chat, unlock)
    stored = await _state(app, chat)
    assert UnlockedTip.KEY not in stored.state.data and not stored.state.expires
