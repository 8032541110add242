"""The rule policy's matching, each rule read once, finds exactly the rules Rasa's own matching finds."""
from __future__ import annotations

import json
import random
import tarfile

import pytest

from bot.paths import ROOT
from bot.rule_keys import possible_keys
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


def conversation_states():
    """The states of every step of every rule, story and test conversation, as the policy sees them."""
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

    domain = Domain.load(str(ROOT / "domain.yml"))
    rule_only_data = from_model("rule_only_data.json")  # as the policy reads the states
    files = sorted((ROOT / "data" / "rules").glob("*.yml")) + sorted((ROOT / "data" / "stories").glob("*.yml")) \
        + [ROOT / "tests" / "test_conversations.yml"]
    for path in files:
        for step in YAMLStoryReader(domain).read_from_file(str(path)):
            tracker = DialogueStateTracker("rules", domain.slots)
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))  # as a conversation's first turn starts
            for event in step.events:
                if isinstance(event, ActionExecuted):
                    yield tracker.past_states(domain, rule_only_data=rule_only_data)
                if isinstance(event, UserUttered):
                    event = UserUttered(event.text, event.intent, event.entities,
                                        parse_data={"intent": event.intent, "entities": []})
                tracker.update(event)


def varied(states: list, rng: random.Random) -> list:
    """The same states with a value taken away or a start of conversation made up: other paths of the checks."""
    states = json.loads(json.dumps(states))
    if states and rng.random() < 0.3:
        states[0].pop("prev_action", None)
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
    tables = [lookup["rules"], lookup["rules_for_loop_unhappy_path"], starting]
    compared = found = 0
    for states in [*conversation_states(), *rule_states(lookup, rng)]:
        for candidate in (states, varied(states, rng)):
            for table in tables:
                expected = RulePolicy._get_possible_keys(rasa, table, candidate)
                assert possible_keys(rasa, table, candidate) == expected
                compared += 1
                found += bool(expected)
    assert compared > 2000 and found > 500  # many matched, many not: every path of the checks was taken
