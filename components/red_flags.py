"""The safety net inside Rasa's NLU: rules and a red-flag model, on every message.

Trained by `rasa train` (the model: bot.core.red_flag_model, on the generated corpus
named in data/triage.yml plus the NLU data's ordinary messages); run last in
the pipeline. For each message it weighs the rules' findings (bot.core.triage) with
the model's view and the NLU classifier's intent into a tier
(`Triage.assess`). A red flag of any tier makes the intent `report_red_flag`
with the tier as entity `red_flag_level` (emergency, urgent or confirm), so the
dialogue rules answer it first, in any state, with a domain response. When
only the NLU classifier said `report_red_flag`, the message is read as nerve
symptoms if it has nerve-like signs, else as the classifier's next guess when
that is sure enough, else as not understood. Nerve-like signs are added as
`nerve_sign` entities; they change the intent only of a long message the
classifier took for a bare yes, no or not sure (a form's yes/no question still
takes it as an answer).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.core.red_flag_model import RedFlagModel, training_corpus
from bot.core.safety_net import VERDICT_KEY, SafetyNet
from bot.core.settings import get_settings
from bot.core.triage import EMERGENCY, NO_FLAG, Triage, cached_triage

logger = logging.getLogger(__name__)

RED_FLAG_INTENT = "report_red_flag"
NERVE_INTENT = "report_nerve_symptoms"
BARE_ANSWERS = ("affirm", "deny", "unsure")
FALLBACK_THRESHOLD = 0.4  # the FallbackClassifier's (config.yml): for the classifier's next guess
EXTRACTOR = "RedFlagDetector"
MODEL_FILE = "red_flag_model.joblib"


def training_examples(triage: Triage, training_data: TrainingData) -> List[tuple]:
    """The corpus, plus the NLU data: red-flag examples under the topic a rule finds, all others as none."""
    data = Path(get_settings().triage_file).parent
    categories = triage.model_policy.get("categories")
    examples = training_corpus(data / triage.model_policy["corpus"], data / categories if categories else None)
    for example in training_data.intent_examples:
        text, intent = example.get(TEXT), example.get(INTENT)
        if not text:
            continue
        if intent == RED_FLAG_INTENT:
            findings = triage.red_flags(text)
            if findings:
                examples.append((text, findings[0].topic))
        else:
            examples.append((text, NO_FLAG))
    return examples


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class RedFlagDetector(GraphComponent):
    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "RedFlagDetector":
        return cls(model_storage, resource, fallback_threshold=config.get("fallback_threshold", FALLBACK_THRESHOLD))

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "RedFlagDetector":
        try:
            with model_storage.read_from(resource) as directory:
                model = RedFlagModel.load(directory / MODEL_FILE)
        except (ValueError, OSError):
            logger.warning("No red-flag model in this Rasa model: the rules decide alone")
            model = None
        detector = cls(model_storage, resource, model, config.get("fallback_threshold", FALLBACK_THRESHOLD))
        detector.triage  # noqa: B018  built with the model, not on the first visitor's message
        return detector

    def __init__(self, model_storage: ModelStorage, resource: Resource, model: Optional[RedFlagModel] = None,
                 fallback_threshold: float = FALLBACK_THRESHOLD) -> None:
        self._model_storage, self._resource, self.model = model_storage, resource, model
        self.fallback_threshold = fallback_threshold
        self._triage: Optional[Triage] = None

    @property
    def triage(self) -> Triage:
        if self._triage is None:
            self._triage = cached_triage(str(get_settings().triage_file))
        return self._triage

    def train(self, training_data: TrainingData) -> Resource:
        examples = training_examples(self.triage, training_data)
        self.model = RedFlagModel.train(examples)
        with self._model_storage.write_to(self._resource) as directory:
            self.model.save(directory / MODEL_FILE)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text: Optional[str] = message.get(TEXT)
            if not text:
                continue
            entities = list(message.get(ENTITIES) or [])
            intent = message.get(INTENT) or {}
            if text.startswith("/"):  # a button's payload carries no symptoms
                if intent.get("name") == RED_FLAG_INTENT and not any(
                        e.get("entity") == "red_flag_level" for e in entities):
                    message.set(ENTITIES, entities + [self._entity("red_flag_level", EMERGENCY, text)],
                                add_to_output=True)
                continue
            classifier = intent.get("name") == RED_FLAG_INTENT
            verdict = SafetyNet(self.triage, self.model).judge(text, classifier)  # one pass of rules and model
            reading, assessment = verdict.reading, verdict.assessment
            message.set(VERDICT_KEY, verdict.as_output(), add_to_output=True)  # for the gaps filter
            ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") != RED_FLAG_INTENT]
            if assessment.level:
                entities.append(self._entity("red_flag_level", assessment.level, text))
                if assessment.topic:
                    entities.append(self._entity("red_flag_topic", assessment.topic, text))
                entities += [self._entity("red_flag", rule, text) for rule in assessment.rules]
                top = {"name": RED_FLAG_INTENT, "confidence": 1.0}
                message.set(INTENT, top, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [top] + ranking, add_to_output=True)
            signs = reading.nerve_signs[:3]
            if not assessment.level and signs and intent.get("name") in BARE_ANSWERS and len(text.split()) >= 5:
                # "my leg gives way now and then, but I've never fallen" is a symptom story, not a bare no;
                # a form's yes/no question still takes it as an answer (actions/typed_answers.py).
                top = {"name": NERVE_INTENT, "confidence": 1.0}
                message.set(INTENT, top, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [top] + ranking, add_to_output=True)
            elif classifier and not assessment.level:
                # The classifier alone saw a red flag: a symptom story. With nerve-like signs, it is one
                # of those; otherwise its next guess, if it is sure enough of it.
                if signs:
                    top = {"name": NERVE_INTENT, "confidence": 1.0}
                elif ranking and ranking[0].get("confidence", 0.0) >= self.fallback_threshold:
                    top = ranking[0]
                else:
                    top = {"name": "nlu_fallback", "confidence": 1.0}
                message.set(INTENT, top, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [top] + [r for r in ranking if r.get("name") != top["name"]],
                            add_to_output=True)
            for sign in signs:
                entities.append(self._entity("nerve_sign", sign, text))
            message.set(ENTITIES, entities, add_to_output=True)
        return messages

    @staticmethod
    def _entity(name: str, value: str, text: str) -> Dict[str, Any]:
        return {"entity": name, "value": value, "extractor": EXTRACTOR, "start": 0, "end": len(text)}
