"""Work Rasa 3.6 does that Medius does without, installed in the Rasa process by its channel.

- Measured with py-spy on the Rasa server under `bench.load`: about a third of
  its CPU went to checking each custom action's reply, because
  `jsonschema.validate` first checks the schema itself, on every call. The
  reply is still checked against the same schema, by a validator built once.
- Measured with psutil: loading the model took the Rasa process to 1.5 GB, half
  of it for nothing. To learn the shapes of its weights, Rasa trains each
  TensorFlow model (DIET, the ResponseSelector, TED) on one example before
  reading the trained weights, which builds and keeps each model's training
  graph and Adam's two copies of every weight. Reading the weights and then
  predicting once builds the same weights (TensorFlow restores each as it is
  created) without training: the same predictions, to the last digit
  (tests/test_rasa_speedups.py), in half the memory and a quarter of the time.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Dict

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.utils.tensorflow.models import RasaModel


logger = logging.getLogger(__name__)


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
        logger.warning("%s: not every weight was in the saved model; loading it Rasa's way", cls.__name__)
        return _rasa_load(cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                          *args, **kwargs)
    restored.expect_partial()  # the optimizer's saved state stays unread on purpose: nothing is trained here
    return model


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result
    RasaModel.load = classmethod(_load_for_prediction)
