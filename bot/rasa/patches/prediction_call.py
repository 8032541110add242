"""A prediction calls the one graph of Rasa's prediction tf.function directly, its inputs converted here.

Each call through the tf.function matched its inputs against the function's fixed signature
(TensorFlow's dispatch), at a fifth of each model's call (figures: docs/performance.md).
"""
from __future__ import annotations

import weakref
from typing import Any, Dict, List, Tuple

import tensorflow as tf
from keras.utils import tf_utils
from rasa.shared.constants import DIAGNOSTIC_DATA
from rasa.utils.tensorflow.models import RasaModel

_rasa_predict = RasaModel._rasa_predict  # noqa: SLF001 - the method patched
_concrete: "weakref.WeakKeyDictionary[RasaModel, Tuple[Any, List[Any]]]" = weakref.WeakKeyDictionary()


def _predict_concrete(self: RasaModel, batch_in: Tuple[Any, ...]) -> Dict[str, Any]:
    """RasaModel._rasa_predict, calling the one graph of its prediction function directly.

    Rasa's tf.function has a fixed input signature, so it only ever has one
    concrete function: the same outputs, to the last digit.
    """
    if self._run_eagerly or self._tf_predict_step is None:  # eager, or the first call, which builds the graph
        return _rasa_predict(self, batch_in)
    found = _concrete.get(self)
    if found is None:
        concrete = self._tf_predict_step.get_concrete_function()
        found = _concrete[self] = (concrete, tf.nest.flatten(concrete.structured_input_signature[0][0],
                                                             expand_composites=True))
    self._training = False
    outputs: Dict[str, Any] = tf_utils.sync_to_numpy_or_python_type(_call_graph(*found, batch_in))
    if DIAGNOSTIC_DATA in outputs:
        outputs[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(outputs[DIAGNOSTIC_DATA])
    return outputs


def _call_graph(concrete: Any, specs: List[Any], batch_in: Tuple[Any, ...]) -> Any:
    """The concrete function's graph on the batch, without TensorFlow's matching of the call to its signature.

    Each input is converted to its signature's type and checked against its
    shape here; anything unexpected goes TensorFlow's own way.
    """
    flat = tf.nest.flatten(batch_in, expand_composites=True)
    if len(flat) == len(specs):
        tensors = [tf.convert_to_tensor(value, dtype=spec.dtype) for value, spec in zip(flat, specs)]
        if all(spec.shape.is_compatible_with(tensor.shape) for tensor, spec in zip(tensors, specs)):
            return concrete._call_flat(tensors, concrete.captured_inputs)  # noqa: SLF001 - the graph's own call
    return concrete(batch_in)


def install() -> None:
    RasaModel._rasa_predict = _predict_concrete  # noqa: SLF001 - the method patched
