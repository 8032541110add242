"""Work Rasa 3.6 repeats on every turn that Medius does without, installed in the Rasa process by its channel.

Measured with py-spy on the Rasa server under `bench.load`: about a third of
its CPU went to checking each custom action's reply, because
`jsonschema.validate` first checks the schema itself, on every call. The
reply is still checked against the same schema, by a validator built once.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def _action_reply_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    kind = validator_for(schema)
    kind.check_schema(schema)
    return kind(schema)


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result, with the schema checked once per process instead of per call."""
    try:
        _action_reply_validator().validate(result)
        return True
    except ValidationError as error:
        error.message += (". Failed to validate Action server response from API, make sure your response from "
                          f"the Action endpoint is valid. For more information about the format visit "
                          f"{DOCS_BASE_URL}/custom-actions")
        raise error


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result
