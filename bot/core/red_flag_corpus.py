"""The red-flag model's corpus by categories: findings x context x register, and hard negatives.

data/red_flag_categories.yml lists each finding in a few registers (everyday,
clinical, euphemism) and the frames a visitor tells it in (live, buried in a
long question, very short, a carer's); every filled frame is also written once
with a typo. The same findings come back as hard negatives, labelled `none`:
denied, long past, someone else's and over, hypothetical, idioms ("this is
killing me") and everyday look-alikes (numbness after sitting that passes, a
foot drop that came on over months). New kinds of phrasing are added here as
categories, never as visitors' sentences.
"""
from __future__ import annotations

import random
import re
import string
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Tuple

import yaml

Example = Tuple[str, str]  # (text, topic)
NONE = "none"


def load_categories(path: Path) -> Mapping[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["red_flag_categories"]


def typo(text: str, rng: random.Random) -> str:
    """One slip of the keyboard: a letter dropped, doubled or swapped; apostrophes and capitals gone."""
    text = text.replace("'", "").lower() if rng.random() < 0.5 else text
    letters = [i for i, ch in enumerate(text) if ch in string.ascii_letters]
    if len(letters) < 4:
        return text
    i = rng.choice(letters[1:-1])
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1:]
    if kind == 1:
        return text[:i] + text[i] + text[i:]
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def _fill(frame: str, values: Mapping[str, str], fillers: Mapping[str, Sequence[str]], rng: random.Random) -> str:
    names = set(re.findall(r"\{(\w+)\}", frame))
    chosen = {name: values[name] if name in values else rng.choice(fillers[name]) for name in names}
    return " ".join(frame.format(**chosen).split())


def generate(categories: Mapping[str, Any], fillers: Mapping[str, Sequence[str]], seed: int) -> List[Example]:
    """Every finding in every register and frame (`per_frame` fillings, one with a typo), and the negatives."""
    rng = random.Random(seed)
    per_frame = int(categories["per_frame"])
    examples: Dict[Example, None] = {}
    for topic, registers in categories["findings"].items():
        phrases = [p for register in registers.values() for p in register]
        for frames in categories["frames"].values():
            for frame in frames:
                for index in range(per_frame):
                    text = _fill(frame, {"f": rng.choice(phrases)}, fillers, rng)
                    examples[(typo(text, rng) if index == 0 else text, topic)] = None
    negatives = categories["negatives"]
    for frames in negatives["frames"].values():
        for frame in frames:
            for noun in negatives["nouns"]:
                examples[(_fill(frame, {"n": noun}, fillers, rng), NONE)] = None
    for text in negatives["idioms"] + negatives["look_alikes"]:
        for _ in range(per_frame // 2 or 1):
            examples[(_fill(text, {}, fillers, rng), NONE)] = None
    return list(examples)
