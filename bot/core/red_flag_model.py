"""The red-flag model: a small text classifier for red-flag topics, beside the rules.

Rules are exact about words and blind to meaning; a model trained on many
phrasings (data/red_flag_corpus.yml: combinatorial templates and hand-written
messages, with hard negatives such as negations, the past, other people and
"weak" in ordinary questions) generalises to words nobody wrote a rule for.
`bot.core.triage.Triage.assess` weighs the two. scikit-learn ships with Rasa.
"""
from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.core.red_flag_corpus import generate
from bot.core.triage import normalise

Example = Tuple[str, str]  # (text, topic)
SEED = 42


def load_corpus(path: Path) -> Mapping[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["red_flag_corpus"]


def training_corpus(corpus_file: Path, categories_file: Optional[Path] = None) -> List[Example]:
    """The templates and messages, and the categories when their file is there."""
    from bot.core.red_flag_corpus import load_categories

    categories = load_categories(categories_file) if categories_file and categories_file.exists() else None
    return expand(load_corpus(corpus_file), categories=categories)


def expand(corpus: Mapping[str, Any], seed: int = SEED,
           categories: Optional[Mapping[str, Any]] = None) -> List[Example]:
    """Every hand-written message, `per_template` distinct fillings of each template, and the corpus by
    categories (bot.core.red_flag_corpus) when given."""
    rng = random.Random(seed)
    fillers: Mapping[str, Sequence[str]] = corpus["fillers"]
    per_template = int(corpus["per_template"])
    examples: List[Example] = []
    for topic, templates in corpus["templates"].items():
        for template in templates:
            names = sorted(set(re.findall(r"\{(\w+)\}", template)))
            texts: Dict[str, None] = {}
            for _ in range(per_template * 4):
                if len(texts) >= per_template:
                    break
                text = template.format(**{name: rng.choice(fillers[name]) for name in names})
                texts[" ".join(text.split())] = None
            examples += [(text, topic) for text in texts]
    for topic, messages in corpus["messages"].items():
        examples += [(message, topic) for message in messages]
    if categories is not None:
        examples += generate(categories, fillers, seed)
    return examples


class RedFlagModel:
    """Topic probabilities for a message: TF-IDF over words and characters, logistic regression."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self._direct = _DirectScores.of(pipeline)

    @classmethod
    def train(cls, examples: Iterable[Example]) -> "RedFlagModel":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        texts, topics = zip(*examples)
        features = make_union(
            TfidfVectorizer(preprocessor=normalise, ngram_range=(1, 3), sublinear_tf=True, min_df=1,
                            token_pattern=r"(?u)\b\w+\b"),
            TfidfVectorizer(preprocessor=normalise, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                            min_df=2),
        )
        pipeline = make_pipeline(features, LogisticRegression(C=20.0, max_iter=3000, class_weight="balanced"))
        pipeline.fit(list(texts), list(topics))
        return cls(pipeline)

    def scores(self, text: str) -> Dict[str, float]:
        probabilities = (self._direct or self.pipeline.predict_proba)([text])[0]
        return {str(topic): float(p) for topic, p in zip(self.pipeline.classes_, probabilities)}

    def topics(self) -> List[str]:
        return [str(t) for t in self.pipeline.classes_]

    def save(self, path: Path) -> None:
        import joblib

        joblib.dump(self.pipeline, path)

    @classmethod
    def load(cls, path: Path) -> "RedFlagModel":
        import joblib

        return cls(joblib.load(path))


class _DirectScores:
    """The pipeline's predict_proba for the model this module trains, with scikit-learn's own steps
    called directly, to the last digit the same (tests/test_red_flag_model.py).

    Measured with py-spy under load: a message's scores took 11% of the Rasa
    process's time, most of it not in the model. The union of the two
    vectorizers ran them through joblib's Parallel, even for one job, and the
    regression copied its whole weight matrix to multiply it with one message.
    """

    def __init__(self, transformers: List[Tuple[Any, Any]], weights: Any, intercept: Any) -> None:
        self.transformers, self.weights, self.intercept = transformers, weights, intercept

    @classmethod
    def of(cls, pipeline: Any) -> "_DirectScores | None":
        """For a TF-IDF union and a multinomial logistic regression; None for anything else."""
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion

        steps = [step for _, step in pipeline.steps]
        if [type(step) for step in steps] != [FeatureUnion, LogisticRegression]:  # exactly, no subclass
            return None
        union, regression = steps
        transformers = [(transformer, weight) for _, transformer, weight in union._iter()]  # noqa: SLF001 - as sklearn's own transform walks a FeatureUnion's weighted parts
        if not all(type(transformer) is TfidfVectorizer for transformer, _ in transformers):
            return None  # sparse features only: what the direct way stacks
        multinomial = regression.classes_.size > 2 and (regression.multi_class == "multinomial" or (
            regression.multi_class == "auto" and regression.solver != "liblinear"))
        if not multinomial or union.n_jobs not in (None, 1):
            return None
        # C order: what scipy would otherwise copy the transposed weights into, on every call.
        return cls(transformers, np.ascontiguousarray(regression.coef_.T), regression.intercept_)

    def __call__(self, texts: List[str]) -> Any:
        from scipy import sparse
        from sklearn.pipeline import _transform_one
        from sklearn.utils.extmath import safe_sparse_dot, softmax

        features = sparse.hstack([_transform_one(transformer, texts, None, weight)
                                  for transformer, weight in self.transformers]).tocsr()
        return softmax(safe_sparse_dot(features, self.weights, dense_output=True) + self.intercept, copy=False)
