"""The medical content: complete, in our own words, short, and consistent with the data."""
import re
from typing import Dict, List

import pytest
import yaml

from bench.nlu_eval import read_examples
from bot.core.causes import load_cause_finder
from bot.core.knowledge import load_knowledge
from bot.core.paths import DATA, ROOT

SEEDS = ROOT.parent / "shared" / "seeds"
KNOWLEDGE = load_knowledge(DATA / "topics.yml")
FAQ_TOPICS = [key for key, topic in KNOWLEDGE.topics.items() if topic.is_faq]


def all_responses() -> Dict[str, List[dict]]:
    responses = dict(yaml.safe_load((ROOT / "domain.yml").read_text())["responses"])
    for path in (DATA / "responses").glob("*.yml"):
        responses.update(yaml.safe_load(path.read_text())["responses"])
    return responses


RESPONSES = all_responses()


def words(text: str) -> List[str]:
    return re.sub(r"[^a-z0-9 ]+", " ", text.lower().replace("-", " ")).split()


def sentences(text: str) -> List[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def test_every_faq_topic_has_an_answer_and_training_examples():
    examples = [intent for path in (DATA / "nlu").glob("*.yml") for _, intent in read_examples(path)]
    for key in FAQ_TOPICS:
        assert f"utter_faq/{key}" in RESPONSES, key
        assert examples.count(f"faq/{key}") >= 20, key


def test_every_faq_answer_has_a_topic():
    answered = {name.split("/", 1)[1] for name in RESPONSES if name.startswith("utter_faq/")}
    assert answered == set(FAQ_TOPICS)


def test_the_held_out_set_covers_every_intent():
    held_out = {intent for _, intent in read_examples(ROOT / "tests" / "holdout.yml")}
    assert {f"faq/{key}" for key in FAQ_TOPICS} <= held_out


@pytest.mark.parametrize("key", FAQ_TOPICS)
def test_faq_answers_are_short(key):
    for variation in RESPONSES[f"utter_faq/{key}"]:
        assert 2 <= len(sentences(variation["text"])) <= 4, key
        assert len(words(variation["text"])) <= 75, key


@pytest.fixture(scope="module")
def seed_runs():
    runs = set()
    for path in SEEDS.glob("*.txt"):
        seed = words(path.read_text(encoding="utf-8"))
        runs |= {tuple(seed[i:i + 6]) for i in range(len(seed) - 5)}
    return runs


def test_the_seeds_are_there(seed_runs):
    assert len(seed_runs) > 1000


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_no_answer_copies_six_words_in_a_row_from_the_seeds(name, seed_runs):
    for variation in RESPONSES[name]:
        text = words(variation.get("text", ""))
        copied = [" ".join(text[i:i + 6]) for i in range(len(text) - 5) if tuple(text[i:i + 6]) in seed_runs]
        assert not copied, f"{name} copies from the seeds: {copied}"


def test_answers_name_no_clinic_and_no_clinic_phone_outside_clinic_profiles():
    from bot.core.clinics import load_clinics
    clinics = load_clinics(DATA / "clinics.yml").values()
    for name, variations in RESPONSES.items():
        for variation in variations:
            text = variation.get("text", "")
            for clinic in clinics:
                assert clinic.name not in text and (not clinic.phone or clinic.phone not in text), name
            assert "St. Louis" not in text and "Boston" not in text, name


def test_answers_never_tell_the_visitor_what_they_have():
    for name, variations in RESPONSES.items():
        for variation in variations:
            text = variation.get("text", "").lower()
            assert not re.search(r"\byou (have|are suffering from) (a |an )?(pinched|torn|injur)", text), name


def test_every_response_the_data_files_name_exists():
    finder = load_cause_finder(DATA / "causes.yml")
    named = list(finder.causes.values()) + [q.tip for q in finder.questions] + [finder.always_mention]
    named += [f"utter_ask_{slot}" for slot in finder.slots]
    named += [topic.response for topic in KNOWLEDGE.topics.values()]
    for name in named:
        assert name in RESPONSES, name


def test_the_greeting_says_it_is_automated_and_not_medical_advice():
    text = RESPONSES["utter_greet"][0]["text"].lower()
    assert "automated" in text and "not medical advice" in text


def test_cause_finder_questions_offer_yes_no_not_sure_skip_and_stop():
    for slot in load_cause_finder(DATA / "causes.yml").slots:
        payloads = [b["payload"] for b in RESPONSES[f"utter_ask_{slot}"][0]["buttons"]]
        assert payloads == ["/affirm", "/deny", "/unsure", "/skip", "/stop"]
