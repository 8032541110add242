"""The rule layer of the red-flag safety net, run on every message inside Rasa's NLU.

If bot.triage finds an emergency or urgent red flag in the text, the message's
intent becomes `report_red_flag` (whatever the classifier thought), with the
rule and its level as entities, so the dialogue rules answer it first in any
state. Nerve-like symptoms are added as `nerve_sign` entities only: they must
not override an answer to a form question.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.settings import get_settings
from bot.triage import cached_triage, worst

RED_FLAG_INTENT = "report_red_flag"
EXTRACTOR = "RedFlagDetector"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class RedFlagDetector(GraphComponent):
    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "RedFlagDetector":
        return cls()

    def __init__(self) -> None:
        self._triage = None

    @property
    def triage(self):
        if self._triage is None:  # loaded on first use, not at training time
            self._triage = cached_triage(str(get_settings().triage_file))
        return self._triage

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text: Optional[str] = message.get(TEXT)
            if not text or text.startswith("/"):  # button payloads carry no symptoms
                continue
            findings = self.triage.red_flags(text)
            entities = list(message.get(ENTITIES) or [])
            if findings:
                level = worst(findings)
                entities.append({"entity": "red_flag_level", "value": level, "extractor": EXTRACTOR,
                                 "start": 0, "end": len(text)})
                entities += [{"entity": "red_flag", "value": f.rule, "extractor": EXTRACTOR,
                              "start": 0, "end": len(text)} for f in findings]
                intent = {"name": RED_FLAG_INTENT, "confidence": 1.0}
                message.set(INTENT, intent, add_to_output=True)
                ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") != RED_FLAG_INTENT]
                message.set(INTENT_RANKING_KEY, [intent] + ranking, add_to_output=True)
            for sign in self.triage.nerve_signs(text)[:3]:
                entities.append({"entity": "nerve_sign", "value": sign, "extractor": EXTRACTOR,
                                 "start": 0, "end": len(text)})
            message.set(ENTITIES, entities, add_to_output=True)
        return messages

    def process_training_data(self, training_data):  # noqa: ANN001 - Rasa's signature
        return training_data
