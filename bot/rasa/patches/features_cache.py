"""A message's features are combined once, for DIET and the ResponseSelector both.

Each combined the same featurizers' sparse matrices for the same message (a deep copy, then scipy's
hstack); neither changes them (figures: docs/performance.md).
"""
from __future__ import annotations

from typing import Any, List, Optional

from rasa.shared.nlu.training_data.message import Message

_rasa_all_features = Message.get_all_features


def _all_features(self: Message, attribute: str, featurizers: Optional[List[str]] = None) -> List[Any]:
    """Message.get_all_features, combined once for a message's features as they are.

    The parse stays the same to the last digit (tests/integration/test_rasa_patches.py);
    a feature added since is a new key.
    """
    key = (attribute, tuple(featurizers or ()), len(self.features))
    combined = self.__dict__.setdefault("_medius_combined_features", {})
    if key not in combined:
        combined[key] = _rasa_all_features(self, attribute, featurizers)
    return list(combined[key])


def install() -> None:
    Message.get_all_features = _all_features
