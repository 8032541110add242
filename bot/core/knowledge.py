"""FAQ topics and where context follow-ups ("why?", "how do I fix that?") lead."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import yaml

FOLLOWUP_KINDS = ("more", "why", "fix", "exercise")
CAUSE_FINDER = "cause_finder"
# The tips for the causes the cause finder found (all of them when it found none).
CAUSE_TIPS = "cause_tips"


def topic_payload(key: str) -> str:
    """A button payload that asks for one FAQ topic without going through NLU.

    Rasa's '/intent' payloads cannot name a retrieval sub-intent ('/faq/x' is read
    as plain text), so the topic travels as the `faq_topic` entity instead.
    """
    return '/faq{"faq_topic": "%s"}' % key


class TopicDataError(ValueError):
    """The topics file is inconsistent; the message names the topic and field."""


@dataclass(frozen=True)
class Topic:
    key: str
    label: str
    followups: Mapping[str, str]
    clinician_reminder: bool = False
    custom_response: Optional[str] = None

    @property
    def response(self) -> str:
        return self.custom_response or f"utter_faq/{self.key}"

    @property
    def is_faq(self) -> bool:
        """Whether visitors reach this topic through the `faq/<key>` retrieval intent."""
        return self.custom_response is None


@dataclass(frozen=True)
class Detail:
    """A short question about the answer just given ("how heavy?") and the response that answers it."""

    when: "re.Pattern[str]"
    say: str


@dataclass(frozen=True)
class Knowledge:
    topics: Mapping[str, Topic]
    menu: List[str]
    close_call_margin: float = 0.0  # top two FAQ topics closer than this: offer the second as a button
    close_call_prompt: str = "Or did you mean:"
    details: Mapping[str, List[Detail]] = field(default_factory=dict)
    generic_followups: Mapping[str, "re.Pattern[str]"] = field(default_factory=dict)
    detail_max_words: int = 8
    reference_max_words: int = 8
    reference: Optional["re.Pattern[str]"] = None
    request_words: Optional["re.Pattern[str]"] = None
    unsure_min_words: int = 15
    unsure_margin: float = 0.0
    unsure_prompt: str = "Is it one of these?"

    def asks_for_a_topic(self, text: str) -> bool:
        """Words that ask for a topic ("tell me about ..."), in a message that is mainly something else."""
        return bool(self.request_words and self.request_words.search((text or "").lower()))

    def _short(self, text: str) -> Optional[str]:
        said = " ".join((text or "").lower().replace("\u2019", "'").split())
        if not said or said.startswith("/"):
            return None
        if len(said.split()) > self.detail_max_words and not (
                self.reference and self.reference.search(said) and len(said.split()) <= self.reference_max_words):
            return None
        return said

    def in_context(self, topic_key: Optional[str], text: str) -> Optional[str]:
        """A short question about the last topic's answer ("how heavy?" after the exercise):
        the response (or topic key) that answers it, or None."""
        said = self._short(text)
        if said is None or topic_key not in self.topics:
            return None
        return next((d.say for d in self.details.get(topic_key or "", []) if d.when.search(said)), None)

    def followup_kind(self, text: str) -> Optional[str]:
        """The follow-up a short message asks for in general words ("and after that?": more), or None."""
        said = self._short(text)
        if said is None:
            return None
        return next((kind for kind, words in self.generic_followups.items() if words.search(said)), None)

    def runner_up(self, selector_ranking: List[Mapping[str, Any]], answered: Topic) -> Optional[Topic]:
        """The second FAQ topic when the response selector's top two are a close call, else None."""
        ranked = [(self.topic_for_intent(str(r.get("intent_response_key") or "")), float(r.get("confidence") or 0))
                  for r in selector_ranking[:2]]
        if len(ranked) < 2 or not all(topic for topic, _ in ranked) or ranked[0][0] != answered:
            return None
        (_, first), (second, confidence) = ranked
        return second if first - confidence < self.close_call_margin and second != answered else None

    def two_readings(self, selector_ranking: List[Mapping[str, Any]], text: str,
                     placed: bool = True) -> Optional[List[Topic]]:
        """The two likeliest topics of a long message whose reading is unclear (its top two within the
        unsure margin, or not placed at all), to ask which one is meant; None when it is clear enough."""
        if len((text or "").split()) < self.unsure_min_words:
            return None
        ranked = [(self.topic_for_intent(str(r.get("intent_response_key") or "")), float(r.get("confidence") or 0))
                  for r in selector_ranking[:2]]
        topics = [topic for topic, _ in ranked if topic is not None]
        if len(topics) < 2 or topics[0] == topics[1]:
            return None
        if placed and ranked[0][1] - ranked[1][1] >= self.unsure_margin:
            return None
        return topics

    def topic_for_intent(self, full_retrieval_intent: Optional[str]) -> Optional[Topic]:
        """The topic answered for a retrieval intent such as 'faq/self_test'."""
        if not full_retrieval_intent or "/" not in full_retrieval_intent:
            return None
        return self.topics.get(full_retrieval_intent.split("/", 1)[1])

    def followup(self, topic_key: Optional[str], kind: str) -> Optional[str]:
        """Where a follow-up of this kind goes after `topic_key`: a topic key, CAUSE_FINDER or CAUSE_TIPS."""
        topic = self.topics.get(topic_key or "")
        if topic is None:
            return None
        return topic.followups.get(kind)

    def menu_buttons(self) -> List[Dict[str, str]]:
        """Buttons for the topics a lost visitor is offered first."""
        return [
            {"title": self.topics[key].label, "payload": topic_payload(key)} for key in self.menu
        ]


def load_knowledge(path: Path) -> Knowledge:
    """Read data/topics.yml and check that every link points at something real."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw_topics = document.get("topics") or {}
    topics: Dict[str, Topic] = {}
    for key, raw in raw_topics.items():
        followups = dict(raw.get("followups") or {})
        missing = [kind for kind in FOLLOWUP_KINDS if kind not in followups]
        if missing:
            raise TopicDataError(f"topics.{key}.followups: missing {', '.join(missing)}")
        topics[key] = Topic(
            key=key,
            label=str(raw["label"]),
            followups=followups,
            clinician_reminder=bool(raw.get("clinician_reminder", False)),
            custom_response=raw.get("response"),
        )
    targets = set(topics) | {CAUSE_FINDER, CAUSE_TIPS}
    for topic in topics.values():
        for kind, target in topic.followups.items():
            if target not in targets:
                raise TopicDataError(f"topics.{topic.key}.followups.{kind}: unknown target {target!r}")
    raw_details = document.get("details") or {}
    details = {key: [Detail(when=re.compile(d["when"]), say=str(d["say"])) for d in entries]
               for key, entries in (raw_details.get("topics") or {}).items()}
    for key in details:
        if key not in topics:
            raise TopicDataError(f"details.topics: unknown topic {key!r}")
    for kind in raw_details.get("generic") or {}:
        if kind not in FOLLOWUP_KINDS:
            raise TopicDataError(f"details.generic: unknown follow-up kind {kind!r}")
    menu = list(document.get("menu") or [])
    for key in menu:
        if key not in topics:
            raise TopicDataError(f"menu: unknown topic {key!r}")
    return Knowledge(topics=topics, menu=menu, close_call_margin=float(document.get("close_call_margin", 0.0)),
                     close_call_prompt=str(document.get("close_call_prompt") or "Or did you mean:"),
                     details=details, detail_max_words=int(raw_details.get("max_words", 8)),
                     reference_max_words=int(raw_details.get("max_words_with_reference", 8)),
                     reference=re.compile(raw_details["reference"]) if raw_details.get("reference") else None,
                     generic_followups={kind: re.compile(words)
                                        for kind, words in (raw_details.get("generic") or {}).items()},
                     request_words=re.compile(document["request_words"]) if document.get("request_words") else None,
                     unsure_min_words=int((document.get("unsure") or {}).get("min_words", 15)),
                     unsure_margin=float((document.get("unsure") or {}).get("margin", 0.0)),
                     unsure_prompt=str((document.get("unsure") or {}).get("prompt") or "Is it one of these?"))
