"""Everything a message carries, read before the dialogue decides: booking details, a practical question.

Runs on every message, last: after the intent classifiers and the safety net,
whose verdict it never changes (a red flag or nerve symptoms keep their intent,
and the domain's mappings take no booking detail from a red-flag message).
It adds entities that the domain's global slot mappings take whenever they
appear, so a detail fills its slot at any point of the conversation:
`visitor_name`, `contact` (phone and/or email, normalised), `contact_time`,
`mode` (online / in_person) and `clinic_info` (the profile field a practical
question asks about). It sets the intent where the words say more than the
classifier saw: a practical question is `ask_clinic_info`; a message that asks
for an appointment, or gives a name with a phone or email, is
`request_appointment`; a firm "never" the classifier took for "stop" is a "no".
Rule-based (bot.core.details, bot.core.practical; vocabulary in data/): nothing
to train, well under a millisecond a message.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.core.frame import read_frame

EXTRACTOR = "MessageFrameReader"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class MessageFrameReader(GraphComponent):
    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "MessageFrameReader":
        read_frame("")  # the vocabularies loaded at start-up, not on the first visitor's message
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text: Optional[str] = message.get(TEXT)
            if not text or text.startswith("/"):
                continue  # a button's payload says what it means
            intent = message.get(INTENT) or {}
            frame = read_frame(text, intent.get("name"))
            entities = list(message.get(ENTITIES) or [])
            entities += [{"entity": name, "value": value, "extractor": EXTRACTOR, "start": 0, "end": len(text)}
                         for name, value in frame.entities.items()]
            message.set(ENTITIES, entities, add_to_output=True)
            if frame.intent and frame.intent != intent.get("name"):
                top = {"name": frame.intent, "confidence": 1.0}
                ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") != frame.intent]
                message.set(INTENT, top, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [top] + ranking, add_to_output=True)
        return messages
