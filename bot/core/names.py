"""Finding what may be a person's name in a visitor's message, so that it can be removed before anything keeps it.

Privacy first: a word is taken for a name when it looks like one, and an
ordinary word sometimes goes with it. What a word is, from three maintained
lists rather than our own: English words are WordNet's lemmas and spaCy's
lemma table (spacy-lookups-data) plus spaCy's English stop words; first names
and surnames are zxcvbn's lists (US census and others). Then, by context:

- after "my name is", "call me" and the like: the next words up to three, whatever they are;
- after a title (Dr, Mrs, ...) or a weaker introducer ("I'm", "this is", "my wife"): the
  next words while they look like names (a known name, or no English word);
- before "here" at the start ("Quartermain here, ..."): the same;
- a whole message of one to three words that all look like names ("zelda quartermain");
- anywhere: a capitalised word that is a known name or no English word ("Zelda saw Quartermain");
- anywhere in lower case: a known name that is no English word, with the words beside it that are no
  English words either ("for quartermain zelda"), and a first name next to a known name ("mary smith").
  zxcvbn files each word under the list where it ranks highest, so "Will" and "Grace"
  count as English words and "Mary" as a name.

No English NER model is used: spaCy's models are downloaded from outside the
package registries, which this project's machines cannot reach, and a rule
that errs on the side of removing a word is what this page needs anyway.
"""
from __future__ import annotations

import difflib
import gzip
import importlib.util
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, Iterable, List, Sequence, Set

from zxcvbn.frequency_lists import FREQUENCY_LISTS

NAME = "[name]"
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_STRONG = ("my name is", "my names", "my name's", "name is", "name's", "call me", "i go by", "signed")
# Words after which a name often comes ("gift vouchers for okonkwo", "please, björn ulvaeus").
_NAME_PLACES = frozenset({"for", "to", "from", "with", "please", "thanks", "regards", "cheers", "love", "dear", "by"})
_TITLES = ("dr", "dr.", "doctor", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "miss", "mx", "mx.", "prof", "prof.",
           "professor", "sir", "madam")
_TITLE_WORDS = frozenset(t.rstrip(".") for t in _TITLES)


def _package_dir(name: str) -> Path:
    """A package's folder, found without importing it (importing spaCy takes seconds)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {name} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


@lru_cache(maxsize=1)
def english_words() -> FrozenSet[str]:
    """WordNet's lemmas, the inflected forms spaCy maps to them, and spaCy's English stop words."""
    data = _package_dir("spacy_lookups_data") / "data"
    index = json.loads(gzip.decompress((data / "en_lemma_index.json.gz").read_bytes()))
    lemmas = {word for words in index.values() for word in words}
    lookup = json.loads(gzip.decompress((data / "en_lemma_lookup.json.gz").read_bytes()))
    inflected = {form for form, lemma in lookup.items() if lemma in lemmas}
    stop_source = (_package_dir("spacy") / "lang" / "en" / "stop_words.py").read_text(encoding="utf-8")
    stops = set(re.search(r'"""(.*?)"""', stop_source, re.S).group(1).split())  # type: ignore[union-attr]
    return frozenset(w.lower() for w in lemmas | inflected | stops if "_" not in w)


@lru_cache(maxsize=1)
def stop_words() -> FrozenSet[str]:
    """spaCy's English stop words: after a title, one of these ("ask the dr about it") is no name."""
    source = (_package_dir("spacy") / "lang" / "en" / "stop_words.py").read_text(encoding="utf-8")
    return frozenset(re.search(r'"""(.*?)"""', source, re.S).group(1).split())  # type: ignore[union-attr]


@lru_cache(maxsize=1)
def first_names() -> FrozenSet[str]:
    return frozenset(FREQUENCY_LISTS["male_names"] + FREQUENCY_LISTS["female_names"])


@lru_cache(maxsize=1)
def known_names() -> FrozenSet[str]:
    return first_names() | frozenset(FREQUENCY_LISTS["surnames"])


@dataclass(frozen=True)
class NameFinder:
    """Finds names by the rules above; `extra_words` are the assistant's own vocabulary (never names)."""

    extra_words: FrozenSet[str] = frozenset()
    introducers: Sequence[str] = ()

    def english(self, word: str) -> bool:
        lowered = word.lower().strip("'’-")
        base = re.sub(r"['’]s$", "", lowered)
        if any(w in english_words() or w in self.extra_words for w in (lowered, base)):
            return True
        if base.endswith("s") and base[:-1] in self.extra_words:  # "glutes" is the assistant's "glute"
            return True
        parts = [p for p in lowered.split("-") if p]
        return len(parts) >= 2 and all(self.english(p) for p in parts)  # "side-lying", "rock-back"

    def assistant_like(self, word: str) -> bool:
        """A misspelling of the assistant's own words ("gluteous", "medias"): no name."""
        lowered = word.lower()
        return len(lowered) >= 5 and bool(difflib.get_close_matches(lowered, self.extra_words, n=1, cutoff=0.8))

    def looks_like_name(self, word: str) -> bool:
        """A known first name or surname that is no common word, or a word no English list has."""
        lowered = re.sub(r"['’]s$", "", word.lower())
        return (lowered in known_names() and lowered not in self.extra_words) or not self.english(word)

    def redact(self, text: str) -> str:
        """The text with every word that may be a name replaced by [name]."""
        words = list(_WORD.finditer(text))
        hidden = set()
        lowered = [m.group(0).lower() for m in words]

        def follow(start: int, strong: bool) -> None:
            for index in range(start, min(start + 3, len(words))):
                between = text[words[index - 1].end():words[index].start()] if index > start else ""
                if re.search(r"[,;:!?()]", between) or lowered[index] in ("and", "but", "i", "im", "i'm"):
                    return
                if not strong and not self.looks_like_name(words[index].group(0)):
                    return
                hidden.add(index)

        for index in range(len(words)):
            for phrase, strong in [(p, True) for p in _STRONG] + [(p, False) for p in (*self.introducers, *_TITLES)]:
                parts = phrase.split()
                if lowered[index:index + len(parts)] == [p.rstrip(".") for p in parts] or \
                        (len(parts) == 1 and lowered[index] == phrase.rstrip(".")):
                    follow(index + len(parts), strong)
        here = next((i for i, w in enumerate(lowered[:3]) if w == "here"), None)
        if here:  # "Quartermain here, ..." / "Zelda Quartermain here"
            if all(self.looks_like_name(words[i].group(0)) for i in range(here)):
                hidden.update(range(here))
        if 0 < len(words) <= 3 and all(self.looks_like_name(w.group(0)) for w in words) \
                and not re.search(r"[?]", text):
            hidden.update(range(len(words)))
        hidden |= self._lower_case_names(text, words, lowered)
        hidden |= self._after_cues(text, words, lowered)
        hidden |= {i for i, m in enumerate(words) if self._name_shaped(m.group(0))}
        for index in sorted(hidden):  # "jean-luc picard": the unknown word just after a name goes with it
            after = index + 1
            if after >= len(words) or after in hidden or text[words[index].end():words[after].start()].strip():
                continue
            if not self.english(words[after].group(0)) and not self.assistant_like(words[after].group(0)):
                hidden.add(after)
        for index, match in enumerate(words):  # a capitalised name-like word, a sentence's first one too
            word = match.group(0)
            if word[0].isupper() and word.lower() not in ("i", *_TITLES) and self.looks_like_name(word):
                hidden.add(index)
        return _replace(text, [words[i] for i in sorted(hidden)])


    def _name_shaped(self, word: str) -> bool:
        """A word shaped like a surname whatever the dictionaries say: O'Hara, D'Artagnan, McDonald-Ross,
        Jean-Luc (a hyphenated word with a part that is a known name or no English word)."""
        lowered = word.lower()
        if re.match(r"(o|d|mc|mac)['’]\w{2,}", lowered):
            return True
        parts = [p for p in re.split(r"-", lowered.strip("'’-")) if len(p) >= 2]
        return len(parts) >= 2 and any((p in first_names() and p not in self.extra_words) or
                                       (not self.english(p) and p not in self.extra_words) for p in parts)

    def _after_cues(self, text: str, words: Sequence[re.Match], lowered: Sequence[str]) -> Set[int]:
        """Words that may be a name where names come: after a title whatever they are ("Mrs O'Hara"), and after
        "for", "to", "from", "with", "please," and the like when they are a known name or no English word
        ("gift vouchers for okonkwo", "please, björn ulvaeus"), with an initial or "the" before them."""
        hidden: Set[int] = set()
        stops = stop_words()
        for index, word in enumerate(lowered):
            title = word.rstrip(".") in _TITLE_WORDS
            if not title and word not in _NAME_PLACES:
                continue
            at = index + 1
            taken = 0
            while at < len(words) and taken < 3:
                between = text[words[at - 1].end():words[at].start()]
                if re.search(r"[;:!?()]", between) or (re.search(r",", between) and not taken and not title
                                                        and word not in ("please", "thanks", "regards")):
                    break
                candidate = words[at].group(0)
                low = lowered[at]
                if low == "the" and not taken:
                    at += 1
                    continue
                single = len(low) == 1
                name_like = (low in known_names() or not self.english(candidate)) and low not in self.extra_words \
                    and not self.assistant_like(candidate)
                if title and not taken and low not in stops:
                    name_like = True  # after a title, the next word is a name whatever the dictionaries say
                if not (name_like or (single and (taken or text[words[at].end():words[at].end() + 1] == "."))):
                    break
                hidden.add(at)
                taken += 1
                at += 1
        return hidden

    def _lower_case_names(self, text: str, words: Sequence[re.Match], lowered: Sequence[str]) -> Set[int]:
        """Names typed in lower case: a known name no dictionary has, and the unknown words beside it; a first
        name next to another known name. Both almost never fire on the assistant's own training questions."""
        def named(index: int) -> bool:
            return lowered[index] in known_names() and lowered[index] not in self.extra_words

        def joined(left: int, right: int) -> bool:  # two words with nothing but spaces between them
            return not text[words[left].end():words[right].start()].strip()

        hidden: Set[int] = set()
        for index in range(len(words)):
            if named(index) and not self.english(words[index].group(0)):
                hidden.add(index)
                for step in (-1, 1):
                    near = index + step
                    while 0 <= near < len(words) and abs(near - index) <= 2 and joined(min(near, near - step),
                                                                                     max(near, near - step)) \
                            and not self.english(words[near].group(0)):
                        hidden.add(near)
                        near += step
            if index + 1 < len(words) and joined(index, index + 1) and named(index) and named(index + 1) and \
                    (lowered[index] in first_names() or lowered[index + 1] in first_names()):
                hidden.update((index, index + 1))
        return hidden


def _replace(text: str, spans: Iterable[re.Match]) -> str:
    out: List[str] = []
    last = 0
    for match in spans:
        out += [text[last:match.start()], NAME]
        last = match.end()
    out.append(text[last:])
    return re.sub(r"\[name\](?:\s+\[name\])+", NAME, "".join(out))
