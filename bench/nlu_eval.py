"""Intent accuracy of a trained model on held-out visitor messages."""
from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Set, Tuple

import yaml

FALLBACK = "nlu_fallback"


def normalise(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def read_examples(path: Path) -> List[Tuple[str, str]]:
    """(text, intent) pairs from a Rasa NLU YAML file; retrieval intents keep their key."""
    pairs = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
        if "intent" not in block:  # synonyms, lookup tables
            continue
        for line in str(block.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- "):
                pairs.append((line[2:].strip(), block["intent"]))
    return pairs


def training_texts(nlu_dir: Path) -> Set[str]:
    return {normalise(text) for path in nlu_dir.glob("*.yml") for text, _ in read_examples(path)}


def predicted_label(parse: Dict[str, Any]) -> str:
    """The full intent a parse answers with: 'faq/<topic>' for FAQ questions."""
    name = (parse.get("intent") or {}).get("name") or ""
    if name == "faq":
        # Our config names its selector "faq"; Rasa's stock one is "default".
        selectors = parse.get("response_selector") or {}
        selected = (selectors.get("faq") or selectors.get("default") or {}).get("response", {})
        return selected.get("intent_response_key") or "faq"
    return name


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    fallback: int = 0
    confusions: Counter = field(default_factory=Counter)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def evaluate(model_path: Path, examples: Iterable[Tuple[str, str]]) -> Report:
    """Parse every example with the model and count right answers and fallbacks."""
    from rasa.core.agent import Agent  # heavy import, only when measuring

    agent = Agent.load(str(model_path))
    report = Report()

    async def run() -> None:
        for text, expected in examples:
            label = predicted_label(await agent.parse_message(text))
            report.total += 1
            if label == expected:
                report.correct += 1
            elif label == FALLBACK:
                report.fallback += 1
            else:
                report.confusions[(expected, label)] += 1

    asyncio.run(run())
    return report
