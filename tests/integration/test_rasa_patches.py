"""The Rasa process's patches to Rasa's internals change nothing a visitor sees.

The model is loaded twice, each time in a fresh process (memory is per
process): Rasa's own way (every switch off, the rule policy as Rasa's), and
with bot.rasa.patches installed as the chat channel installs it. Both must give
the same intents, answers and next-action probabilities, to the last digit,
with the patched process using less memory. Each patch's own function is held
to the Rasa function it replaces.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from functools import partial

import numpy as np
import pytest
from rasa.engine.graph import GraphComponent

from tests.conftest import MODEL, ROOT
from tests.support.helpers import run_async

PROBE = r"""
import asyncio, json, sys
import psutil
from bot.rasa import patches
installed = patches.install()  # none with MEDIUS_RASA_SPEEDUPS=off
from rasa.core.agent import Agent
from rasa.engine.constants import PLACEHOLDER_TRACKER
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from bench.nlu_eval import read_examples
from bot.core.paths import ROOT

agent = Agent.load(sys.argv[1])
messages = [text for text, _ in read_examples(ROOT / "tests" / "holdout.yml")][:120]

async def parse():
    # Everything the parse gives (intents, answers, the red-flag component's findings), to the last digit.
    return [json.loads(json.dumps(await agent.parse_message(text), sort_keys=True, default=repr))
            for text in messages]

# What each policy alone predicts at every step of the stories and test conversations (most longer
# than any rule: the rule policy matches only the latest states), read from its node of
# the graph (a TensorFlow policy such as TED would be outvoted by the rules in the processor).
runner = agent.processor.graph_runner
policies = sorted(node for node in runner._graph_schema.nodes if "Policy" in node and node.startswith("run_"))
predicted = []
story_files = [*sorted((ROOT / "data" / "stories").glob("*.yml")), ROOT / "tests" / "test_conversations.yml"]
stories = [story for path in story_files for story in YAMLStoryReader(agent.domain).read_from_file(str(path))]
for story in stories:
    tracker = DialogueStateTracker("probe", agent.domain.slots)
    for event in story.events:
        if isinstance(event, ActionExecuted):
            outputs = runner.run(inputs={PLACEHOLDER_TRACKER: tracker}, targets=policies)
            predicted.append([[node, list(outputs[node].probabilities)] for node in policies])
        if isinstance(event, UserUttered):
            event = UserUttered(event.text, event.intent, event.entities,
                                parse_data={"intent": event.intent, "entities": []})
        tracker.update(event)
rule_policy = next(node._component for name, node in runner._instantiated_nodes.items() if "RulePolicy" in name)
print(json.dumps({"parsed": asyncio.run(parse()), "predicted": predicted, "installed": installed,
                  "reads_rules_once": rule_policy.reads_rules_once, "rss": psutil.Process().memory_info().rss}))
"""


def probe(how: str) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MEDIUS_RASA_SPEEDUPS": "off" if how == "rasa" else "on"}
    env.pop("MEDIUS_RASA_PATCHES_OFF", None)
    result = subprocess.run([sys.executable, "-c", PROBE, str(MODEL)], cwd=ROOT, capture_output=True,
                            text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def loaded():
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    return {how: probe(how) for how in ("rasa", "patched")}


def test_the_patched_process_predicts_exactly_as_rasa_as_it_comes(loaded):
    rasa, fast = loaded["rasa"], loaded["patched"]
    assert rasa["installed"] == [] and not rasa["reads_rules_once"]  # compared with Rasa's own, not with itself
    assert "model_loading" in fast["installed"] and fast["reads_rules_once"]
    assert len(rasa["parsed"]) == 120 and rasa["predicted"]
    assert any(parsed.get("response_selector") for parsed in rasa["parsed"])  # the ResponseSelector was compared
    assert all(parsed["intent_ranking"] for parsed in rasa["parsed"])
    assert any("RulePolicy" in node for node, _ in rasa["predicted"][0])
    assert fast["parsed"] == rasa["parsed"]
    assert fast["predicted"] == rasa["predicted"]


def test_the_model_loaded_without_training_takes_far_less_memory(loaded):
    assert loaded["patched"]["rss"] < 0.7 * loaded["rasa"]["rss"]


TOKEN = "patches-test-secret-0123456789abcdef"


def test_action_replies_get_the_same_verdict_as_from_rasas_whole_schema():
    from datetime import datetime

    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core import events as e

    from bot.rasa.patches.action_replies import validate_action_reply

    schema = RemoteAction.action_response_format_spec()
    whole = validator_for(schema)(schema)
    samples = [
        e.UserUttered("my hip hurts", {"name": "faq", "confidence": 0.9}, [{"entity": "side", "value": "left"}],
                      parse_data={"text": "my hip hurts", "intent": {"name": "faq", "confidence": 0.9}}),
        e.BotUttered("Here is what helps.", {"buttons": [{"title": "Yes", "payload": "/affirm"}]}),
        e.SlotSet("lead_name", "Clara"), e.SlotSet("crosses_legs", None), e.ActionExecuted("action_listen"),
        e.ActiveLoop("appointment_form"), e.ActiveLoop(None), e.FollowupAction("action_answer_faq"),
        e.SessionStarted(), e.Restarted(), e.AllSlotsReset(), e.ActionReverted(), e.UserUtteranceReverted(),
        e.ConversationPaused(), e.ConversationResumed(), e.StoryExported(), e.AgentUttered("hi"),
        e.LoopInterrupted(True), e.ActionExecutionRejected("validate_appointment_form"),
        e.EntitiesAdded([{"entity": "side", "value": "left"}]),
        e.ReminderScheduled("EXTERNAL_nudge", datetime(2026, 12, 6, 12, 0), name="nudge"),
        e.ReminderCancelled(name="nudge"),
    ]
    events = [sample.as_dict() for sample in samples]
    assert len({event["event"] for event in events}) >= 20
    broken = [{}, {"event": 7}, {"event": "no_such_event"}, {"event": "slot", "timestamp": "noon"}]
    for event in events:  # every field of every event given a value of the wrong kind, one at a time
        for key in event:
            for wrong in (5, "text", None, [1], {"a": 1}):
                broken.append({**event, key: wrong})
    replies = ([{"events": [event], "responses": [{"text": "hi"}]} for event in events + broken]
               + [{"events": events}, {}, {"events": "x"}, {"responses": [{"text": 5}]}, {"events": [5]}])

    def verdict(check, reply):
        try:
            check(reply)
            return True
        except ValidationError:
            return False

    verdicts = [(verdict(whole.validate, reply), verdict(validate_action_reply, reply)) for reply in replies]
    assert verdicts == [(rasas, rasas) for rasas, _ in verdicts]
    assert sum(rasas for rasas, _ in verdicts) >= len(events) + 1 and not all(rasas for rasas, _ in verdicts)


class Add(GraphComponent):
    """A graph node for the runner tests: adds its inputs' outputs to its own number, and counts its runs."""
    runs: list = []

    @classmethod
    def create(cls, config, model_storage, resource, execution_context) -> "Add":
        return cls(config["number"])

    def __init__(self, number: int) -> None:
        self.number = number

    def add(self, **numbers: int) -> int:
        Add.runs.append(self.number)
        return self.number + sum(value for value in numbers.values() if isinstance(value, int))


def small_graph(tmp_path):
    from rasa.engine.graph import ExecutionContext, GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    def node(number: int, **needs: str) -> SchemaNode:
        return SchemaNode(needs=needs, uses=Add, constructor_name="create", fn="add", config={"number": number})

    schema = GraphSchema({"a": node(1, x="__input__"), "b": node(10, a="a"), "c": node(100, a="a", b="b"),
                          "unused": node(1000, c="c")})
    return DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "test"))


def test_the_graph_runs_without_dask_as_it_runs_with_it(tmp_path):
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    from bot.rasa.patches import graph_runner

    assert DaskGraphRunner.run is not graph_runner._run_graph  # compared with dask, not with itself
    runner = small_graph(tmp_path)
    for inputs, targets in [({"__input__": 5}, ["c"]), ({"__input__": 5}, ["b", "a"]), ({"a": 7}, ["c"]),
                            ({"__input__": 2}, None), ({"b": 7, "__input__": 1}, ["b"])]:
        Add.runs.clear()
        with_dask = runner.run(inputs=dict(inputs), targets=targets)
        dask_runs, Add.runs = sorted(Add.runs), []
        without = graph_runner._run_graph(runner, inputs=dict(inputs), targets=targets)
        assert without == with_dask
        assert sorted(Add.runs) == dask_runs  # each needed node once, no other
    assert graph_runner._run_graph(runner, {"__input__": 5}, ["c"]) == {"c": 100 + 6 + (10 + 6)}
    for run in (runner.run, partial(graph_runner._run_graph, runner)):
        with pytest.raises(GraphRunError):  # an input naming a node, refused as Rasa refuses it
            run({"__input__": "b"}, ["c"])
        with pytest.raises(GraphRunError):  # an input missing
            run({}, ["c"])
        with pytest.raises(GraphRunError):  # an input for a node, and none for what that node needs
            run({"b": 7}, ["b"])
        with pytest.raises(GraphRunError):  # an input's value naming an earlier input
            run({"other": 1, "__input__": "other"}, ["c"])
    assert runner.run({"__input__": 5, "x": "unused"}, ["b"]) == graph_runner._run_graph(
        runner, {"__input__": 5, "x": "unused"}, ["b"])  # a node outside the targets' graph is no clash


def test_each_event_name_reads_as_the_class_rasa_finds():
    from rasa.shared.core.events import Event, SlotSet
    from rasa.shared.utils.common import all_subclasses

    from bot.rasa.patches import event_lookup

    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "action", "slot", "session_started"} <= names
    for name in names:
        assert event_lookup._resolve_event(name) is event_lookup._rasa_resolve_event(name)
    assert event_lookup._resolve_event("topic") is None
    assert event_lookup._resolve_event("no_such_event", SlotSet) is SlotSet
    with pytest.raises(ValueError):
        event_lookup._resolve_event("no_such_event")
    assert event_lookup._resolve_event(["user"], SlotSet) is SlotSet  # not a name at all: as Rasa answers
    with pytest.raises(ValueError):
        event_lookup._resolve_event({"event": "user"})


def test_a_slot_copies_as_pythons_own_copy_makes_it():
    """Every tracker copies the domain's slots: the copy must be Python's, and stand on its own."""
    import copy

    from rasa.shared.core.domain import Domain

    from bot.rasa.patches import slot_copy

    slots = Domain.load(str(ROOT / "domain.yml")).slots
    assert len({type(slot) for slot in slots}) >= 3  # several kinds of slot: text, bool, categorical...
    for slot in slots:
        slot.value = ["a list", "of values"] if slot.type_name == "list" else slot.value
        made = slot_copy._copy_slot(slot)
        python = copy._reconstruct(slot, None, *slot.__reduce_ex__(4))  # Python's default copy
        assert type(made) is type(python) and made.__dict__ == python.__dict__ and made is not slot
        made.value = "changed on the copy"
        assert made.__dict__ != python.__dict__ and slot.__dict__ == python.__dict__  # the slot did not change


def test_whether_a_domain_is_empty_is_rasas_answer_and_leaves_the_domain_as_it_was():
    from rasa.shared.core.domain import Domain

    from bot.rasa.patches import domain_empty

    for domain in (Domain.load(str(ROOT / "domain.yml")), Domain.empty(), Domain.from_dict({"intents": ["greet"]})):
        written = domain.as_dict()
        expected = domain_empty._rasa_is_empty(domain)
        assert domain_empty._domain_is_empty(domain) is expected
        assert domain_empty._domain_is_empty(domain) is expected and domain.as_dict() == written
    assert domain_empty._domain_is_empty(Domain.empty()) and not domain_empty._domain_is_empty(
        Domain.load(str(ROOT / "domain.yml")))


def test_a_messages_features_are_combined_once_and_anew_after_a_feature_is_added():
    import numpy as np
    import scipy.sparse
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message

    from bot.rasa.patches import features_cache

    message = Message(data={TEXT: "hip pain"})
    for origin, width in (("words", 3), ("chars", 5)):
        message.add_features(Features(scipy.sparse.coo_matrix(np.ones((2, width))), "sequence", TEXT, origin))
        message.add_features(Features(scipy.sparse.coo_matrix(np.ones((1, width))), "sentence", TEXT, origin))
    first = features_cache._all_features(message, TEXT)
    assert [f.features.shape for f in first] == [(2, 8), (1, 8)]  # the two featurizers side by side
    assert [(f.type, f.features.shape) for f in first] == [
        (f.type, f.features.shape) for f in features_cache._rasa_all_features(message, TEXT)]
    again = features_cache._all_features(message, TEXT)
    assert again == first and again is not first and all(a is b for a, b in zip(again, first))  # shared
    assert [f.features.shape for f in features_cache._all_features(message, TEXT, ["chars"])] == [(2, 5), (1, 5)]
    message.add_features(Features(np.ones((1, 4)), "sentence", TEXT, "dense"))
    assert [f.features.shape for f in features_cache._all_features(message, TEXT)] == [(2, 8), (1, 8), (1, 4)]


def test_a_prediction_whose_inputs_do_not_fit_the_graph_goes_through_tensorflows_own_call():
    import tensorflow as tf

    from bot.rasa.patches import prediction_call

    @tf.function(input_signature=[[tf.TensorSpec([None, 2], tf.float32), tf.TensorSpec([None], tf.int64)]])
    def step(batch):
        return {"sum": tf.reduce_sum(batch[0], axis=1) + tf.cast(batch[1], tf.float32)}

    concrete = step.get_concrete_function()
    specs = tf.nest.flatten(concrete.structured_input_signature[0][0], expand_composites=True)
    batch = (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([10, 20]))  # float64 and int64: converted as cast
    direct = prediction_call._call_graph(concrete, specs, batch)
    assert direct["sum"].numpy().tolist() == concrete(batch)["sum"].numpy().tolist() == [13.0, 27.0]
    with pytest.raises((ValueError, TypeError)):  # a wrong shape: TensorFlow's own check refuses it
        prediction_call._call_graph(concrete, specs, (np.ones((2, 3)), np.array([1, 2])))
    with pytest.raises((ValueError, TypeError)):  # a missing input, likewise
        prediction_call._call_graph(concrete, specs, (np.ones((2, 2)),))


@pytest.mark.parametrize("endpoints_file", ["endpoints.yml", "endpoints-prod.yml"])
def test_only_the_forms_validation_actions_are_sent_the_domain(endpoints_file, http_receiver, monkeypatch):
    """The domain is 25 KB of JSON: it goes with the calls that read it (a form's slots), not with every call."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.core.utils import AvailableEndpoints
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    receiver = http_receiver()
    monkeypatch.setenv("ACTION_SERVER_URL", receiver.url)
    monkeypatch.setenv("MEDIUS_INTERNAL_TOKEN", TOKEN)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    endpoint = AvailableEndpoints.read_endpoints(str(ROOT / endpoints_file)).action
    domain = Domain.load(str(ROOT / "domain.yml"))
    tracker = DialogueStateTracker("visitor", domain.slots)
    names = ["action_answer_faq", "action_submit_appointment", "validate_appointment_form",
             "validate_nerve_screen_form"]

    async def call(name: str) -> None:
        with contextlib.suppress(Exception):  # the receiver answers "ok", not an action's reply
            await RemoteAction(name, endpoint).run(CollectingOutputChannel(),
                                                   TemplatedNaturalLanguageGenerator(domain.responses),
                                                   tracker, domain)

    for name in names:
        run_async(call(name))
    sent = {post["next_action"]: post for post in receiver.posts}
    assert sorted(sent) == sorted(names)
    assert "domain" not in sent["action_answer_faq"] and "domain" not in sent["action_submit_appointment"]
    assert sent["validate_appointment_form"]["domain"]["forms"]["appointment_form"]["required_slots"]
    assert sent["validate_nerve_screen_form"]["domain"]["forms"]["nerve_screen_form"]["required_slots"]


def test_an_action_call_sends_the_document_rasas_own_encoder_would(http_receiver, monkeypatch):
    """Written by ujson on the shared session: the same JSON, non-ASCII words and exact numbers included."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa.patches import action_sessions

    monkeypatch.setattr(EndpointConfig, "session", action_sessions._kept_session)
    receiver = http_receiver()
    domain = Domain.load(str(ROOT / "domain.yml"))
    tracker = DialogueStateTracker("visitor-é", domain.slots)
    tracker.update(UserUttered("ma hanche me fait mal — «depuis» 3 mois 🙁 / 2 weeks",
                               {"name": "faq", "confidence": 0.123456789012345678},
                               parse_data={"intent": {"name": "faq", "confidence": 0.123456789012345678},
                                           "intent_ranking": [{"name": "faq", "confidence": 1e-17}]}))
    tracker.update(SlotSet("clinic_name", "Clínica Süd"))
    action = RemoteAction("action_answer_faq", EndpointConfig(receiver.url))

    async def call() -> None:
        with contextlib.suppress(Exception):  # the receiver answers "ok", not an action's reply
            await action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses),
                             tracker, domain)
        await action_sessions.close_sessions()

    run_async(call())
    [sent] = receiver.posts
    assert sent == json.loads(json.dumps(action._action_call_format(tracker, domain)))
    assert sent["tracker"]["latest_message"]["text"].endswith("🙁 / 2 weeks")
    assert sent["tracker"]["latest_message"]["intent"]["confidence"] == 0.123456789012345678
