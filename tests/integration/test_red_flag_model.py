"""The red-flag model's direct scoring gives what scikit-learn's pipeline gives, to the last digit."""
from __future__ import annotations

import tarfile

import numpy as np
import pytest

from bench.nlu_eval import read_examples
from bot.core.paths import ROOT
from bot.core.red_flag_model import RedFlagModel, expand, load_corpus
from tests.conftest import MODEL


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> RedFlagModel:
    """The red-flag model inside the trained Rasa model, as the Rasa server loads it."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    directory = tmp_path_factory.mktemp("red-flag")
    with tarfile.open(MODEL) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("red_flag_model.joblib"))
        member.name = "red_flag_model.joblib"
        archive.extract(member, directory)
    return RedFlagModel.load(directory / "red_flag_model.joblib")


def messages() -> list:
    corpus = [text for text, _ in expand(load_corpus(ROOT / "data" / "red_flag_corpus.yml"))]
    held_out = [text for text, _ in read_examples(ROOT / "tests" / "holdout.yml")]
    odd = ["", " ", "!!!", "é" * 300, "CAN'T FEEL MY LEGS", "pain " * 500, "\x00 numb", "😀 hip"]
    return corpus[::7] + held_out + odd


def test_direct_scores_equal_the_pipelines_for_every_kind_of_message(model):
    assert model._direct is not None  # the model this project trains takes the direct way
    texts = messages()
    assert len(texts) > 500
    direct = np.vstack([model._direct([text]) for text in texts])
    pipeline = model.pipeline.predict_proba(texts)
    assert direct.shape == pipeline.shape == (len(texts), len(model.topics()))
    assert np.array_equal(direct, pipeline)  # exactly, not approximately
    assert model.scores(texts[0]) == dict(zip(model.topics(), map(float, pipeline[0])))


def test_a_pipeline_of_another_shape_is_scored_by_scikit_learn_itself():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import FunctionTransformer

    texts = ["numb leg", "hip ache", "weak hip", "cannot pee", "legs give way", "stairs hurt"]
    topics = ["nerve", "none", "none", "bladder", "nerve", "none"]
    binary = RedFlagModel(make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts[:4], topics[:4]))
    assert binary._direct is None  # no union: not the shape the direct way knows
    assert binary.scores("numb hip") == dict(zip(binary.topics(), binary.pipeline.predict_proba(["numb hip"])[0]))
    dense = make_pipeline(make_union(FunctionTransformer(lambda xs: np.array([[len(x)] for x in xs])),
                                     FunctionTransformer(lambda xs: np.array([[x.count(" ")] for x in xs]))),
                          LogisticRegression())
    dense_model = RedFlagModel(dense.fit(texts, topics))
    assert dense_model._direct is None  # dense features: scikit-learn stacks them its own way
    assert max(dense_model.scores("numb hip").values()) > 0
