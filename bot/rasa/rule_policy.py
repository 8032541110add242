"""Rasa's RulePolicy, trained as Rasa trains it, matching a conversation against its rules faster.

Named in config.yml. A loaded policy reads each rule once and files it by the previous action and
intent its latest state asks for, so a turn checks only the few rules that can match; and it works
out only the conversation's latest states, as many as its longest rule has. The rules found are
Rasa's (tests/integration/test_rule_policy.py); figures in docs/performance.md. With the switch
`rule_policy` off (MEDIUS_RASA_PATCHES_OFF, MEDIUS_RASA_SPEEDUPS=off) or on Rasa versions the
patches were not written for (bot/rasa/patches), it is Rasa's RulePolicy.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, NamedTuple, Optional, Set, Tuple

from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ACTION_NAME, INTENT

from bot.rasa import patches

# A rule state as its checks need it: (its previous action, [(state type, [(key, value)])]).
RuleState = Tuple[Any, List[Tuple[str, List[Tuple[str, Any]]]]]
Rule = Tuple[str, List[RuleState]]  # (key, its states from the latest back)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class MediusRulePolicy(RulePolicy):
    """RulePolicy, whose predictions once loaded find the matching rules with each rule read once."""

    reads_rules_once = False  # training (and its checks for contradicting rules) runs Rasa's own matching

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> MediusRulePolicy:
        """RulePolicy.load; the policy matches faster if the switch `rule_policy` is on and the versions fit."""
        policy = super().load(config, model_storage, resource, execution_context, **kwargs)
        assert isinstance(policy, MediusRulePolicy)
        policy.reads_rules_once = patches.is_on(patches.RULE_POLICY)
        return policy

    def _get_possible_keys(self, lookup: Dict[str, Any], states: List[State]) -> Set[str]:
        """The keys of the rules that fit the conversation's states, as Rasa's finds them."""
        if not self.reads_rules_once:
            return super()._get_possible_keys(lookup, states)
        return possible_keys(lookup, states)

    def _prediction_states(self, tracker: DialogueStateTracker, domain: Domain,
                           use_text_for_last_user_input: bool = False,
                           rule_only_data: Optional[Dict[str, Any]] = None) -> List[State]:
        """The conversation's latest states only, as many as the longest rule has (the matching looks no further).

        The slots and the loop of those states still come from every event before them.
        """
        featurizer = self.featurizer
        if not self.reads_rules_once or type(featurizer) is not MaxHistoryTrackerFeaturizer:  # Rasa's own way
            return super()._prediction_states(tracker, domain, use_text_for_last_user_input, rule_only_data)
        keep = max(longest_rule(self.lookup), featurizer.max_history or 0)
        states = featurizer.slice_state_history(latest_states(domain, tracker, keep), featurizer.max_history)
        featurizer._choose_last_user_input([states], use_text_for_last_user_input)  # noqa: SLF001 - as Rasa's
        return states


class Prepared(NamedTuple):
    """A lookup table's rules, read once (a policy's lookup tables do not change after loading)."""
    lookup: Dict[str, Any]
    rules: List[Rule]
    by_latest: Dict[Tuple[Any, Any], List[Rule]]  # by what their latest state asks of the previous action and intent
    longest: int  # states in the longest rule


_prepared: Dict[int, Prepared] = {}


def _prepare(lookup: Dict[str, Any]) -> Prepared:
    cached = _prepared.get(id(lookup))
    if cached is not None and cached.lookup is lookup and len(cached.rules) == len(lookup):
        return cached
    rules: List[Rule] = []
    for key in lookup:
        states = []
        for state in reversed(json.loads(key)):
            checks = [(state_type, [(name, tuple(value) if isinstance(value, list) else value)
                                    for name, value in sub_state.items()])
                      for state_type, sub_state in state.items()]
            states.append((state.get(PREVIOUS_ACTION), checks))
        rules.append((key, states))
    by_latest: Dict[Tuple[Any, Any], List[Rule]] = {}
    for rule in rules:
        by_latest.setdefault(_latest_needs(rule), []).append(rule)
    prepared = _prepared[id(lookup)] = Prepared(lookup, rules, by_latest,
                                                max((len(states) for _, states in rules), default=0))
    return prepared


def _latest_needs(rule: Rule) -> Tuple[Any, Any]:
    """The previous action and the intent a rule's latest state needs the conversation's to have (None: any).

    A rule asking for a value (not for it to be unset) matches only a state with
    that very value, so the rules asking for others need no check.
    """
    rule_states = rule[1]
    if not rule_states or not rule_states[0][0]:  # a rule of no states, or of the conversation's start
        return None, None
    wanted = {(state_type, name): value for state_type, values in rule_states[0][1] for name, value in values}
    needs = []
    for need in ((PREVIOUS_ACTION, ACTION_NAME), (USER, INTENT)):
        value = wanted.get(need)
        needs.append(value if value and value != SHOULD_NOT_BE_SET and isinstance(value, str) else None)
    return needs[0], needs[1]


def _matches(checks: List[Tuple[str, List[Tuple[str, Any]]]], state: Dict[str, Any]) -> bool:
    """RulePolicy._does_rule_match_state."""
    for state_type, values in checks:
        sub_state = state.get(state_type, {})
        for name, wanted in values:
            found = sub_state.get(name)
            if wanted == SHOULD_NOT_BE_SET:
                if found and found != SHOULD_NOT_BE_SET:
                    return False
            elif wanted and found != wanted:
                return False
    return True


def possible_keys(lookup: Dict[str, Any], states: List[Dict[str, Any]]) -> Set[str]:
    """RulePolicy._get_possible_keys: the keys of the rules that fit the conversation's states.

    The walk back through the conversation stops once every rule left is shorter
    than the turns already matched (from there on Rasa accepts every one).
    """
    _, rules, by_latest, _ = _prepare(lookup)
    remaining = rules
    if states:  # only the rules whose latest state can match the conversation's: checked below as every rule is
        action = (states[-1].get(PREVIOUS_ACTION) or {}).get(ACTION_NAME)
        intent = (states[-1].get(USER) or {}).get(INTENT)
        remaining = [rule for needs in {(action, intent), (action, None), (None, intent), (None, None)}
                     for rule in by_latest.get(needs, ())]
    for turn, state in enumerate(reversed(states)):
        if all(turn >= len(rule_states) for _, rule_states in remaining):
            break  # Rasa accepts a rule once the walk goes back further than the rule is long
        current_previous = state.get(PREVIOUS_ACTION)
        kept = []
        for rule in remaining:
            rule_states = rule[1]
            if turn >= len(rule_states):
                kept.append(rule)
                continue
            rule_previous, checks = rule_states[turn]
            if not rule_previous and not current_previous:
                kept.append(rule)  # both are the start of a conversation
            elif rule_previous and current_previous and _matches(checks, state):
                kept.append(rule)
        remaining = kept
    return {key for key, _ in remaining}


def longest_rule(lookup: Dict[str, Any]) -> int:
    """How many states a policy's longest rule has (a rule for a loop's unhappy path included)."""
    tables = [lookup.get(name) or {} for name in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH)]
    return max([_prepare(table).longest for table in tables] + [1])


def latest_states(domain: Domain, tracker: DialogueStateTracker, keep: int) -> List[State]:
    """The last `keep` of domain.states_for_tracker_history(tracker), working out only those.

    The state before each action and the state after the last event, as Rasa's
    walk through the conversation's prior trackers has them (unset slots kept, no
    rule-only turn hidden: the rule policy's way).
    """
    applied = tracker.applied_events()
    first = sum(isinstance(event, ActionExecuted) for event in applied) + 1 - keep
    prior = tracker.init_copy()
    states: List[State] = []
    step = 0
    for event in applied:
        if isinstance(event, ActionExecuted):
            if step >= first:
                states.append(domain._clean_state(domain.get_active_state(prior)))  # noqa: SLF001 - as Rasa's
            step += 1
        prior.update(event)
    states.append(domain._clean_state(domain.get_active_state(prior)))  # noqa: SLF001 - as Rasa's walk
    return states
