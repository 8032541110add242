"""A floor under the trained model's accuracy on held-out visitor messages.

The full comparison with Rasa's stock config is `make evaluate`; this only makes
`make test` fail if a change to data or config makes understanding worse.
"""
import pytest

from bench.nlu_eval import evaluate, normalise, read_examples, training_texts
from bot.core.paths import DATA, ROOT

pytestmark = pytest.mark.slow  # about a minute: the trained model loaded here, 400 held-out messages parsed

MODEL = ROOT / "models" / "medius.tar.gz"
FLOOR = 0.90


@pytest.fixture(scope="module")
def unseen():
    seen = training_texts(DATA / "nlu")
    examples = []
    for name in ("holdout.yml", "holdout_final.yml"):
        examples += [(t, i) for t, i in read_examples(ROOT / "tests" / name) if normalise(t) not in seen]
    return examples


def test_held_out_messages_are_mostly_new(unseen):
    assert len(unseen) >= 400


def test_held_out_intent_accuracy_stays_above_the_floor(unseen):
    report = evaluate(MODEL, unseen)
    assert report.accuracy >= FLOOR, report.confusions.most_common(20)
