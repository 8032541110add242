"""The whole safety net built from the data files, for unit tests: the rules, and the red-flag model
of the trained Rasa model (or, before `make train`, one trained here on the corpus alone)."""
from __future__ import annotations

from bot.core.paths import DATA, ROOT
from bot.core.red_flag_model import RedFlagModel, training_corpus
from bot.core.safety_net import SafetyNet, model_from_archive
from bot.core.triage import load_triage

ARCHIVE = ROOT / "models" / "medius.tar.gz"


def build_net() -> SafetyNet:
    triage = load_triage(DATA / "triage.yml")
    model = model_from_archive(ARCHIVE) if ARCHIVE.exists() else None
    if model is None:
        model = RedFlagModel.train(training_corpus(DATA / triage.model_policy["corpus"],
                                                   DATA / triage.model_policy["categories"]))
    return SafetyNet(triage, model)


NET = build_net()
