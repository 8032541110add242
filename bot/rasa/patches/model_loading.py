"""DIET and the ResponseSelector loaded for prediction without Rasa's one-example training run.

That run only learns the weights' shapes, and keeps a training graph and Adam's copies of every weight:
predicting once builds the same weights, each restored as it is created (figures: docs/performance.md).
"""
from __future__ import annotations

import logging
from typing import Any

from rasa.utils.tensorflow.models import RasaModel

logger = logging.getLogger(__name__)

_rasa_load = RasaModel.load.__func__


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


def install() -> None:
    RasaModel.load = classmethod(_load_for_prediction)
