"""Held-out intent accuracy: our pipeline against Rasa's stock default config.

Usage: python -m bench.holdout [--stock-model PATH]
Trains the stock-config NLU model into var/bench/ when it is missing or older
than the training data. Messages that also occur in the training data are left
out, so the figures speak of unseen messages only.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench.nlu_eval import evaluate, normalise, read_examples, training_texts
from bot.core.paths import DATA, ROOT

HOLDOUT_FILES = [ROOT / "tests" / "holdout.yml", ROOT / "tests" / "holdout_final.yml"]
OUR_MODEL = ROOT / "models" / "medius.tar.gz"
STOCK_DIR = ROOT / "var" / "bench"


def train_stock_nlu() -> Path:
    """The stock default pipeline trained on our NLU data (NLU only: enough for intents)."""
    model = STOCK_DIR / "stock-nlu.tar.gz"
    newest_data = max(p.stat().st_mtime for p in DATA.rglob("*.yml"))
    if not model.exists() or model.stat().st_mtime < newest_data:
        subprocess.run(
            [sys.executable, "-m", "rasa", "train", "nlu", "--config", str(ROOT / "bench" / "stock-config.yml"),
             "--nlu", str(DATA), "--domain", str(ROOT / "domain.yml"), "--out", str(STOCK_DIR),
             "--fixed-model-name", "stock-nlu"],
            check=True, cwd=ROOT,
        )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=OUR_MODEL)
    parser.add_argument("--stock-model", type=Path, default=None)
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    stock_model = args.stock_model or train_stock_nlu()
    seen = training_texts(DATA / "nlu")
    for holdout in HOLDOUT_FILES:
        if not holdout.exists():
            continue
        examples = read_examples(holdout)
        unseen = [(t, i) for t, i in examples if normalise(t) not in seen]
        print(f"\n{holdout.name}: {len(unseen)} unseen messages "
              f"({len(examples) - len(unseen)} also in training data, left out)")
        for name, model in (("medius", args.model), ("stock default", stock_model)):
            report = evaluate(model, unseen)
            print(f"  {name:14s} accuracy {report.accuracy:6.1%}   fallback {report.fallback / report.total:5.1%}   "
                  f"wrong {sum(report.confusions.values()) / report.total:5.1%}")
            if args.show_errors:
                for (expected, got), count in report.confusions.most_common(25):
                    print(f"      {count}x {expected} -> {got}")


if __name__ == "__main__":
    main()
