"""MediusRulePolicy's matching, each rule read once, finds exactly the rules Rasa's own matching finds;
with its switch off, or on other versions, it is Rasa's RulePolicy."""
from __future__ import annotations

import itertools
import json
import random
import tarfile

import pytest

from bot.core.paths import ROOT
from bot.rasa.rule_policy import possible_keys
from tests.conftest import MODEL


def from_model(name: str) -> dict:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    with tarfile.open(MODEL) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(f"RulePolicy0/{name}"))
        return json.load(archive.extractfile(member))


@pytest.fixture(scope="module")
def lookup() -> dict:
    """The trained model's rule tables."""
    return from_model("rule_policy.json")["lookup"]


def conversation_steps(joined: bool = False):
    """The tracker before each action of every rule, story and test conversation (the same object, updated).

    joined: each file's conversations one after the other, as one long conversation.
    """
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

    domain = Domain.load(str(ROOT / "domain.yml"))
    files = sorted((ROOT / "data" / "rules").glob("*.yml")) + sorted((ROOT / "data" / "stories").glob("*.yml")) \
        + [ROOT / "tests" / "test_conversations.yml"]
    for path in files:
        tracker = None
        for step in YAMLStoryReader(domain).read_from_file(str(path)):
            if tracker is None or not joined:
                tracker = DialogueStateTracker("rules", domain.slots)
                tracker.update(ActionExecuted(ACTION_LISTEN_NAME))  # as a conversation's first turn starts
            for event in step.events:
                if isinstance(event, ActionExecuted):
                    yield domain, tracker
                if isinstance(event, UserUttered):
                    event = UserUttered(event.text, event.intent, event.entities,
                                        parse_data={"intent": event.intent, "entities": []})
                tracker.update(event)


def conversation_states():
    """The states of every step of every rule, story and test conversation, as the policy sees them."""
    rule_only_data = from_model("rule_only_data.json")  # as the policy reads the states
    for domain, tracker in conversation_steps():
        yield tracker.past_states(domain, rule_only_data=rule_only_data)


def varied(states: list, rng: random.Random) -> list:
    """The same states with a value taken away or a start of conversation made up: other paths of the checks."""
    states = json.loads(json.dumps(states))
    if states and rng.random() < 0.3:
        states[0].pop("prev_action", None)
    if states and rng.random() < 0.2:
        states[-1]["prev_action"] = {"action_text": "hello"}  # the latest action a text, as an end-to-end story has it
    for state in states:
        for sub_state in state.values():
            if isinstance(sub_state, dict) and sub_state and rng.random() < 0.2:
                sub_state.pop(rng.choice(sorted(sub_state)))
    return states


def rule_states(lookup: dict, rng: random.Random):
    """Conversations made of the rules' own states (so that long rules match too), after another rule's."""
    keys = sorted(lookup["rules"]) + sorted(lookup["rules_for_loop_unhappy_path"])
    for key in keys:
        own = [{kind: {name: tuple(value) if isinstance(value, list) else value for name, value in part.items()}
                for kind, part in state.items()} for state in json.loads(key)]
        yield own
        yield json.loads(rng.choice(keys)) + own


def test_the_rules_found_are_rasas_for_every_step_of_every_conversation(lookup):
    from rasa.core.policies.rule_policy import RulePolicy

    rasa = RulePolicy.__new__(RulePolicy)  # Rasa's own matching reads nothing of the instance but its methods
    rng = random.Random(7)
    # The same rules as if each began the conversation (`conversation_start: true`): their first state has
    # no previous action.
    starting = {json.dumps([{kind: part for kind, part in states[0].items() if kind != "prev_action"}]
                           + states[1:]): action
                for states, action in ((json.loads(key), action) for key, action in lookup["rules"].items())}
    # The same rules asking less of their latest state (a typed action text instead of an action name, or
    # no intent): rules the filing by previous action and intent must still offer for every state.
    loosened = {}
    for index, (key, action) in enumerate(sorted(lookup["rules"].items())):
        states = json.loads(key)
        if index % 3 == 0:
            states[-1]["prev_action"] = {"action_text": "hello"}
        elif index % 3 == 1:
            states[-1].get("user", {}).pop("intent", None)
        else:
            states[-1]["prev_action"] = {"action_text": "hello"}
            states[-1].get("user", {}).pop("intent", None)
        loosened[json.dumps(states)] = action
    tables = [lookup["rules"], lookup["rules_for_loop_unhappy_path"], starting, loosened]
    compared = found = 0
    for states in [*conversation_states(), *rule_states(lookup, rng)]:
        for candidate in (states, varied(states, rng)):
            for table in tables:
                expected = RulePolicy._get_possible_keys(rasa, table, candidate)
                assert possible_keys(table, candidate) == expected
                compared += 1
                found += bool(expected)
    assert compared > 2000 and found > 500  # many matched, many not: every path of the checks was taken


def test_the_latest_states_are_the_last_of_rasas_states_of_the_whole_conversation():
    from rasa.shared.core.events import SlotSet

    from bot.rasa.rule_policy import latest_states

    steps = cut = 0
    for domain, tracker in itertools.chain(conversation_steps(), conversation_steps(joined=True)):
        every = domain.states_for_tracker_history(tracker)
        for keep in (1, 2, 4, 7):
            assert latest_states(domain, tracker, keep) == every[-keep:]
        steps += 1
        cut += len(every) > 4
        if any(isinstance(event, SlotSet) for event in tracker.events) and len(every) > 7:
            # the states kept still carry what was set before them
            assert latest_states(domain, tracker, 1)[0].get("slots") == every[-1].get("slots")
    assert steps > 500 and cut > 250, (steps, cut)  # many steps further into a conversation than any rule is long


def test_the_policy_matches_only_as_many_latest_states_as_its_longest_rule_has(lookup):
    from bot.rasa.rule_policy import longest_rule

    assert longest_rule(lookup) == max(len(json.loads(key)) for table in ("rules", "rules_for_loop_unhappy_path")
                                       for key in lookup[table])
    assert 2 <= longest_rule(lookup) <= 6  # far fewer than a conversation's states


def test_the_policy_is_registered_as_rasa_needs_a_custom_policy_and_named_in_the_config():
    import yaml
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe

    from bot.rasa.rule_policy import MediusRulePolicy

    registered = DefaultV1Recipe._from_registry("bot.rasa.rule_policy.MediusRulePolicy")
    assert registered.clazz is MediusRulePolicy and registered.is_trainable
    assert registered.types == {DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT}
    [policy] = yaml.safe_load((ROOT / "config.yml").read_text())["policies"]
    assert policy["name"] == "bot.rasa.rule_policy.MediusRulePolicy"


def loaded_policy(tmp_path, env: dict, monkeypatch):
    """MediusRulePolicy as the graph loads it for prediction, under the settings `env` gives."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from bot.core.settings import settings_from
    from bot.rasa import patches
    from bot.rasa.rule_policy import MediusRulePolicy

    monkeypatch.setattr(patches, "get_settings", lambda: settings_from(env))
    config = {**MediusRulePolicy.get_default_config(), "core_fallback_threshold": 0.3}
    return MediusRulePolicy.load(config, LocalModelStorage(tmp_path), Resource("rule_policy"),
                                 ExecutionContext(GraphSchema({}), "test"))


@pytest.mark.parametrize("env, fast", [({}, True), ({"MEDIUS_RASA_PATCHES_OFF": "graph_runner"}, True),
                                       ({"MEDIUS_RASA_PATCHES_OFF": "rule_policy"}, False),
                                       ({"MEDIUS_RASA_SPEEDUPS": "off"}, False)])
def test_a_loaded_policy_reads_each_rule_once_only_with_its_switch_on(env, fast, tmp_path, monkeypatch):
    from bot.rasa import patches

    patches.versions_fit.cache_clear()
    try:
        assert loaded_policy(tmp_path, env, monkeypatch).reads_rules_once is fast
    finally:
        patches.versions_fit.cache_clear()


def test_on_other_versions_a_loaded_policy_matches_as_rasa(tmp_path, monkeypatch):
    from bot.rasa import patches

    monkeypatch.setattr(patches, "_installed_version", lambda package: "0.1")
    patches.versions_fit.cache_clear()
    try:
        assert not loaded_policy(tmp_path, {}, monkeypatch).reads_rules_once
    finally:
        patches.versions_fit.cache_clear()


def test_a_policy_matching_as_rasa_runs_rasas_own_code_and_its_own_otherwise(lookup, tmp_path, monkeypatch):
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    policy = loaded_policy(tmp_path, {}, monkeypatch)
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", lambda self, lookup, states: {"Rasa's keys"})
    monkeypatch.setattr(RulePolicy, "_prediction_states", lambda self, *args, **kwargs: ["Rasa's states"])
    domain = Domain.load(str(ROOT / "domain.yml"))
    tracker = DialogueStateTracker("visitor", domain.slots)
    policy.lookup = lookup
    policy.reads_rules_once = False
    assert policy._get_possible_keys(lookup["rules"], []) == {"Rasa's keys"}
    assert policy._prediction_states(tracker, domain) == ["Rasa's states"]
    policy.reads_rules_once = True
    assert policy._get_possible_keys(lookup["rules"], []) == set(lookup["rules"])  # no state: every rule fits
    assert policy._prediction_states(tracker, domain) == [{}]  # the empty conversation's one state
