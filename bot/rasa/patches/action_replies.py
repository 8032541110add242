"""A custom action's reply checked against Rasa's schema by validators built once, each event by its own branch.

Rasa's `jsonschema.validate` checked the schema itself on every call (figures: docs/performance.md).
"""
from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any, Dict, Tuple

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def _action_reply_validators() -> Tuple[Any, Dict[str, Any]]:
    """The reply's schema without its `oneOf` over event types, and one validator per event type.

    Each branch of the `oneOf` fixes `event` to a different constant, so an event
    matches exactly one branch when it matches the one its `event` names: the
    same verdict as the whole schema (tests/integration/test_rasa_patches.py).
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


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # noqa: SLF001 - the method patched
