"""Work Rasa 3.6 does that Medius does without, installed in the Rasa process by its channel.

- Measured with py-spy on the Rasa server under `bench.load`: about a third of
  its CPU went to checking each custom action's reply, because
  `jsonschema.validate` first checks the schema itself, on every call. The
  reply is still checked against the same schema, by validators built once,
  and each event against the one branch of the schema's `oneOf` it can match.
- Measured with psutil: loading the model took the Rasa process to 1.5 GB, half
  of it for nothing. To learn the shapes of its weights, Rasa trains each
  TensorFlow model (DIET, the ResponseSelector) on one example before
  reading the trained weights, which builds and keeps each model's training
  graph and Adam's two copies of every weight. Reading the weights and then
  predicting once builds the same weights (TensorFlow restores each as it is
  created) without training: the same predictions, to the last digit
  (tests/test_rasa_speedups.py), in half the memory and a quarter of the time.
- Measured with py-spy under `bench.load`: every call to the action server (a
  turn makes one to three) opened a new aiohttp session and a new TCP
  connection, and closed them again. Calls now share one session per endpoint,
  whose idle connections close after 2 s, before the action server's Sanic
  drops them (5 s), so a kept connection is never one the server has closed.
  Each call's body (the conversation's events) is written by ujson, which
  Rasa already installs and the action server's Sanic reads with: py-spy under
  `bench.load` found 5% of a Rasa process's time in the standard library's
  encoder, four times slower on a conversation's state.
- Measured by timing each stage of a turn: every run of the model's graph (one
  to parse a message, one per predicted action) went through dask, whose
  scheduling cost about 2 ms a turn for a graph that runs one node after
  another anyway. The graph's nodes now run in order of their needs, in
  this process, as dask's synchronous scheduler ran them.
- Measured with py-spy: reading a conversation back from the tracker store
  walked every subclass of Rasa's Event (and asked each if it was abstract)
  for every event stored, to find the class that reads it. The class of each
  event name is now found once per process.
- The rule policy's matching of a conversation against its rules, half of its
  predictions' time: see bot/rasa/rule_keys.py.
- Measured with py-spy under load: 7% of the Rasa process's time went to
  TensorFlow matching each prediction's inputs to its tf.function's one input
  signature. The prediction now calls that signature's graph directly, with
  its inputs converted and checked here.
- Measured with py-spy under load: each new tracker's copies of the domain's
  slots (3%), and DIET and the ResponseSelector each combining the same
  message's sparse features (3%). Slots copy without Python's generic reduce
  protocol; a message's features are combined once. Whether the domain is
  empty is worked out once, not for every message parsed.
"""
from __future__ import annotations

import asyncio
import copy
import logging
import weakref
from functools import lru_cache
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple

import aiohttp
import tensorflow as tf
import ujson

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from keras.utils import tf_utils
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.slots import Slot
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.constants import DIAGNOSTIC_DATA, DOCS_BASE_URL
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig
from rasa.utils.tensorflow.models import RasaModel

from bot.rasa import rule_keys

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _action_reply_validators() -> Tuple[Any, Dict[str, Any]]:
    """The reply's schema without its `oneOf` over event types, and one validator per event type.

    Each branch of the `oneOf` fixes `event` to a different constant, so an event
    matches exactly one branch when it matches the one its `event` names: the
    same verdict as the whole schema (tests/test_rasa_speedups.py), about six
    times faster than trying all 23 branches for every event.
    """
    schema = copy.deepcopy(RemoteAction.action_response_format_spec())
    kind = validator_for(schema)
    kind.check_schema(schema)
    branches = schema["properties"]["events"]["items"].pop("oneOf")
    return kind(schema), {branch["properties"]["event"]["const"]: kind(branch) for branch in branches}


def validate_action_reply(result: Any) -> None:
    """Raises jsonschema's ValidationError where Rasa's check of a custom action's reply would."""
    reply, events = _action_reply_validators()
    reply.validate(result)
    for event in result.get("events") or []:
        branch = events.get(event["event"])
        if branch is None:
            raise ValidationError(f"{event['event']!r} is not an event Rasa knows")
        branch.validate(event)


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result, with validators built once per process instead of per call."""
    try:
        validate_action_reply(result)
        return True
    except ValidationError as error:
        error.message += (". Failed to validate Action server response from API, make sure your response from "
                          f"the Action endpoint is valid. For more information about the format visit "
                          f"{DOCS_BASE_URL}/custom-actions")
        raise error


_rasa_load = RasaModel.load.__func__  # type: ignore[attr-defined]


def _load_for_prediction(cls: type, model_file_name: str, model_data_example: Any,
                         predict_data_example: Any = None, finetune_mode: bool = False,
                         *args: Any, **kwargs: Any) -> RasaModel:
    """RasaModel.load without its one-example training run, for a model that will only predict."""
    if finetune_mode or predict_data_example is None:  # training goes on: Rasa's own way
        return _rasa_load(cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                          *args, **kwargs)
    model = cls(*args, **kwargs)
    restored = model.load_weights(model_file_name)
    model.run_inference(predict_data_example)  # creates the weights, each restored from the file as it is
    try:
        restored.assert_existing_objects_matched()  # no weight left as initialised
    except AssertionError:
        restored.expect_partial()  # this half-built model is dropped: no warnings about its unread weights
        logger.warning("%s: not every weight was in the saved model; loading it Rasa's way", cls.__name__)
        return _rasa_load(cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                          *args, **kwargs)
    restored.expect_partial()  # the optimizer's saved state stays unread on purpose: nothing is trained here
    return model


_rasa_predict = RasaModel._rasa_predict
_concrete: "weakref.WeakKeyDictionary[RasaModel, Tuple[Any, List[Any]]]" = weakref.WeakKeyDictionary()


def _predict_concrete(self: RasaModel, batch_in: Tuple[Any, ...]) -> Dict[str, Any]:
    """RasaModel._rasa_predict, calling the one graph of its prediction function directly.

    Rasa's tf.function has a fixed input signature, so it only ever has one
    concrete function; each call through the tf.function still matched the
    inputs against that signature and cast them (TensorFlow's dispatch): about
    1 ms of an 11 ms parse (in-process, 100 held-out messages), the same
    outputs to the last digit.
    """
    if self._run_eagerly or self._tf_predict_step is None:  # eager, or the first call, which builds the graph
        return _rasa_predict(self, batch_in)
    found = _concrete.get(self)
    if found is None:
        concrete = self._tf_predict_step.get_concrete_function()
        found = _concrete[self] = (concrete, tf.nest.flatten(concrete.structured_input_signature[0][0],
                                                             expand_composites=True))
    self._training = False
    outputs = tf_utils.sync_to_numpy_or_python_type(_call_graph(*found, batch_in))
    if DIAGNOSTIC_DATA in outputs:
        outputs[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(outputs[DIAGNOSTIC_DATA])
    return outputs


def _call_graph(concrete: Any, specs: List[Any], batch_in: Tuple[Any, ...]) -> Any:
    """The concrete function's graph on the batch, without TensorFlow's matching of the call to its signature.

    That matching (canonicalising the arguments, then casting each) cost a
    fifth of each model's call (0.2-0.3 ms of 0.6-1.3, DIET and the
    ResponseSelector): each input is now converted to its signature's type and
    checked against its shape here, and anything unexpected goes the long way.
    """
    flat = tf.nest.flatten(batch_in, expand_composites=True)
    if len(flat) == len(specs):
        tensors = [tf.convert_to_tensor(value, dtype=spec.dtype) for value, spec in zip(flat, specs)]
        if all(spec.shape.is_compatible_with(tensor.shape) for tensor, spec in zip(tensors, specs)):
            return concrete._call_flat(tensors, concrete.captured_inputs)
    return concrete(batch_in)


_rasa_all_features = Message.get_all_features


def _all_features(self: Message, attribute: str, featurizers: Optional[List[str]] = None) -> List[Any]:
    """Message.get_all_features, combined once for a message's features as they are.

    DIET and the ResponseSelector each combined the same three featurizers'
    sparse matrices for the same message (scipy's hstack, after a deep copy):
    3% of a Rasa process's time under `bench.load` (py-spy). The second now
    gets the first's; neither changes them (the parse stays the same to the
    last digit, tests/test_rasa_speedups.py). A feature added since is a new key.
    """
    key = (attribute, tuple(featurizers or ()), len(self.features))
    combined = self.__dict__.setdefault("_medius_combined_features", {})
    if key not in combined:
        combined[key] = _rasa_all_features(self, attribute, featurizers)
    return list(combined[key])


_rasa_is_empty = Domain.is_empty


def _domain_is_empty(self: Domain) -> bool:
    """Domain.is_empty, worked out once for a domain (a loaded one does not change).

    Rasa asked it of every message parsed, building an empty domain and writing
    both out as dicts to compare them: 1% of the Rasa process's time (py-spy, one visitor).
    """
    known = self.__dict__.get("_medius_is_empty")
    if known is None:
        known = self.__dict__["_medius_is_empty"] = _rasa_is_empty(self)
    return known


def _copy_slot(self: Slot) -> Slot:
    """copy.copy of a slot, as Python's default copy makes it, without its generic reduce protocol.

    Every tracker made copies each of the domain's 37 slots (the form's
    checks, the rule policy's look-back, each read of a conversation): 3% of
    a Rasa process's time under `bench.load` (py-spy), most of it in that protocol.
    """
    new = object.__new__(type(self))
    new.__dict__.update(self.__dict__)
    return new


IDLE_CONNECTION_SECONDS = 2.0  # under Sanic's KEEP_ALIVE_TIMEOUT (5 s) on the action server


def _shared_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """The endpoint's session for the running event loop (made on first use, again if closed)."""
    loop = asyncio.get_running_loop()
    session: Optional[aiohttp.ClientSession] = getattr(endpoint, "_medius_session", None)
    if session is None or session.closed or getattr(endpoint, "_medius_loop", None) is not loop:
        auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
                if endpoint.basic_auth else None)
        session = aiohttp.ClientSession(
            headers=endpoint.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_SECONDS),
            cookie_jar=aiohttp.DummyCookieJar(),  # shared by every visitor's calls: it keeps no cookies
            json_serialize=ujson.dumps)
        endpoint._medius_session, endpoint._medius_loop = session, loop  # type: ignore[attr-defined]
        _sessions.append(session)
    return session


_sessions: List[aiohttp.ClientSession] = []


async def close_sessions() -> None:
    """Closes the shared sessions of the running event loop (the Rasa server stopping)."""
    loop = asyncio.get_running_loop()
    for session in [s for s in _sessions if s._loop is loop]:  # noqa: SLF001 - aiohttp keeps no public loop
        _sessions.remove(session)
        await session.close()


class _KeptSession:
    """What EndpointConfig.session returns now: Rasa's `async with self.session()` gets the shared
    session and leaves it open, so Rasa's own `request` (headers, TLS, errors) runs unchanged."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        self.endpoint = endpoint

    async def __aenter__(self) -> aiohttp.ClientSession:
        return _shared_session(self.endpoint)

    async def __aexit__(self, *_: Any) -> None:
        return None


def _kept_session(self: EndpointConfig) -> _KeptSession:
    """EndpointConfig.session: the endpoint's shared session, left open after each request."""
    return _KeptSession(self)


Plan = Tuple[List[Tuple[str, Tuple[str, ...]]], FrozenSet[str]]
_dask_run = DaskGraphRunner.run


def _graph_plan(runner: DaskGraphRunner, targets: Tuple[str, ...]) -> Plan:
    """The nodes of Rasa's minimal schema for the targets, each after the nodes it needs, as
    (name, needs); and their names. Made once for each set of targets (a runner serves the same few)."""
    plans: Dict[Any, Plan] = runner.__dict__.setdefault("_medius_plans", {})
    if targets not in plans:
        nodes = runner._graph_schema.minimal_graph_schema(list(targets)).nodes  # noqa: SLF001 - as Rasa's run
        plan: List[Tuple[str, Tuple[str, ...]]] = []
        done: Set[str] = set()

        def visit(name: str) -> None:
            if name in done or name not in nodes:  # a name dask would pass as it is (an input)
                return
            done.add(name)
            needs = tuple(nodes[name].needs.values())
            for need in needs:
                visit(need)
            plan.append((name, needs))

        for name in nodes:
            visit(name)
        plans[targets] = (plan, frozenset(nodes))
    return plans[targets]


def _run_graph(self: DaskGraphRunner, inputs: Optional[Dict[str, Any]] = None,
               targets: Optional[List[str]] = None) -> Dict[str, Any]:
    """DaskGraphRunner.run without dask: each node once, after the nodes it needs, with their outputs."""
    run_targets = list(targets or self._graph_schema.target_names)  # noqa: SLF001
    inputs = inputs or {}
    plan, names = _graph_plan(self, tuple(run_targets))
    if not names.isdisjoint(inputs):  # an input standing in for a node: never done by Rasa; dask's own way
        return _dask_run(self, inputs, targets)
    given: Set[str] = set()
    for name, value in inputs.items():  # Rasa's own check: an input must not be read as a node's name
        if isinstance(value, str) and (value in names or value in given):
            raise GraphRunError(f"Input value '{value}' clashes with a node name. Make sure that none of the "
                                f"input names passed to the `run` method are the same as node names in the "
                                f"graph schema.")
        given.add(name)
    outputs: Dict[str, Any] = {name: (name, value) for name, value in inputs.items()}  # as dask passes inputs
    try:
        for name, needs in plan:
            outputs[name] = self._instantiated_nodes[name](*(outputs.get(need, need) for need in needs))  # noqa: SLF001
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(outputs[target] for target in run_targets)


_rasa_resolve_event = Event.resolve_by_type


@lru_cache(maxsize=1)
def _event_classes() -> Dict[str, type]:
    """Each event name's class, as Rasa's walk over Event's subclasses finds it (the first one wins)."""
    return {cls.type_name: cls for cls in reversed(all_subclasses(Event))}


def _resolve_event(type_name: str, default: Optional[type] = None) -> Optional[type]:
    """Event.resolve_by_type without walking every subclass of Event for each event read."""
    found = _event_classes().get(type_name) if isinstance(type_name, str) else None
    return found or _rasa_resolve_event(type_name, default)  # else Rasa's own answer, or its error


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result
    RasaModel.load = classmethod(_load_for_prediction)
    RasaModel._rasa_predict = _predict_concrete
    EndpointConfig.session = _kept_session
    DaskGraphRunner.run = _run_graph
    Event.resolve_by_type = staticmethod(_resolve_event)
    RulePolicy._get_possible_keys = rule_keys.possible_keys
    RulePolicy._prediction_states = rule_keys.prediction_states
    Slot.__copy__ = _copy_slot
    Message.get_all_features = _all_features
    Domain.is_empty = _domain_is_empty
