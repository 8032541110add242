"""Answer-level scores: does the reply a visitor reads carry the facts asked? Medius against Rasa's stock config.

Usage: python -m bench.answers [--cases FILE ...] [--stock-model PATH] [--only medius|stock]

Each case file holds `faq`, `causes` and `conversations` cases (the format of
../shared/eval/visitors.yml): every `expect` regex must match the reply's texts
and button titles, no `forbid` regex may, and no FAQ or cause question may be
sent to urgent or emergency care. Both assistants run as `make run` starts them
(the same supervisord.conf, actions and web server), on free ports; the stock one is
Rasa's default pipeline and policies trained on the same domain and data (into
var/bench/ when missing or older than the data). Figures go to
results/answers.txt, misses to results/answers-misses-<assistant>.txt.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

from bot.core.paths import DATA, ROOT
from bot.store.db import migrate
from tests.support.servers import Assistant, running_assistant

OUR_MODEL = ROOT / "models" / "medius.tar.gz"
STOCK_DIR = ROOT / "var" / "bench"
DEFAULT_CASES = [ROOT / "bench" / "answer_cases.yml", ROOT.parent / "shared" / "eval" / "visitors.yml"]
SECTIONS = ("faq", "causes", "conversations")
ALARM_TAGS = {"emergency", "urgent"}
CLINIC = "stl"


def train_stock() -> Path:
    """Rasa's stock default config (bench/stock-config.yml) trained on our domain, NLU, stories and rules."""
    model = STOCK_DIR / "stock.tar.gz"
    inputs = [ROOT / "domain.yml"] + [p for part in ("nlu", "rules", "stories", "responses")
                                      for p in (DATA / part).rglob("*.yml")]
    if not model.exists() or model.stat().st_mtime < max(p.stat().st_mtime for p in inputs):
        subprocess.run([sys.executable, "-m", "rasa", "train", "--config", str(ROOT / "bench" / "stock-config.yml"),
                        "--domain", str(ROOT / "domain.yml"), "--data", str(DATA), "--out", str(STOCK_DIR),
                        "--fixed-model-name", "stock", "--force"], check=True, cwd=ROOT)
    return model


@dataclass
class Reply:
    text: str
    tags: set = field(default_factory=set)

    @classmethod
    def of(cls, messages: List[Dict[str, Any]]) -> "Reply":
        parts, tags = [], set()
        for message in messages:
            if message.get("text"):
                parts.append(message["text"])
            parts.extend("[button] " + str(b.get("title", "")) for b in message.get("buttons") or [])
            custom = message.get("custom")
            if isinstance(custom, dict) and custom.get("triage"):
                tags.add(str(custom["triage"]))
        return cls("\n".join(parts), tags)


def judge(assistant: Assistant, section: str, case: Dict[str, Any]) -> Tuple[bool, str]:
    """Whether one case passed, and the transcript for the misses file."""
    sender = f"answers-{uuid.uuid4().hex[:12]}"
    turns = case["turns"] if section == "conversations" else [{"say": case["say"], "expect": case["expect"]}]
    passed, log = True, []
    for turn in turns:
        reply = Reply.of(assistant.send(sender, turn["say"], metadata={"clinic": CLINIC}))
        bad = [rx for rx in turn.get("expect") or [] if not re.search(rx, reply.text, re.I)]
        bad += ["NOT " + rx for rx in turn.get("forbid") or [] if re.search(rx, reply.text, re.I)]
        if section != "conversations" and reply.tags & (ALARM_TAGS | {"confirm"}):
            bad.append(f"triage {sorted(reply.tags)} for an ordinary question")
        log.append(f"  > {turn['say']}\n  < {reply.text}" + (f"\n  !! {bad}" if bad else ""))
        passed = passed and not bad
    return passed, "\n".join(log)


def score(assistant: Assistant, cases: Dict[str, List[Dict[str, Any]]], misses: Path) -> Dict[str, Tuple[int, int]]:
    jobs = [(section, case) for section in SECTIONS for case in cases.get(section) or []]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda job: (job[0], job[1], *judge(assistant, *job)), jobs))
    figures: Dict[str, Tuple[int, int]] = {}
    with misses.open("a", encoding="utf-8") as out:
        for section, case, passed, log in results:
            ok, total = figures.get(section, (0, 0))
            figures[section] = (ok + passed, total + 1)
            if not passed:
                out.write(f"--- {section} {case.get('id', '')}\n{log}\n")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, nargs="*", default=[p for p in DEFAULT_CASES if p.exists()])
    parser.add_argument("--model", type=Path, default=OUR_MODEL)
    parser.add_argument("--stock-model", type=Path, default=None)
    parser.add_argument("--only", choices=("medius", "stock"), default=None)
    args = parser.parse_args()
    case_files = {path: yaml.safe_load(path.read_text(encoding="utf-8")) for path in args.cases}
    models = {"medius": args.model}
    if args.only != "medius":
        models["stock"] = args.stock_model or train_stock()
    if args.only == "stock":
        del models["medius"]
    results_dir = ROOT / "results"
    results_dir.mkdir(exist_ok=True)
    table: Dict[Tuple[str, str], Dict[str, Tuple[int, int]]] = {}
    for name, model in models.items():
        misses = results_dir / f"answers-misses-{name}.txt"
        misses.write_text("", encoding="utf-8")
        run_dir = ROOT / "var" / "bench" / f"answers-{name}"
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "leads.db").unlink(missing_ok=True)
        leads = f"sqlite:///{run_dir / 'leads.db'}"
        migrate(leads)
        # Leads of its own (never the user's lead store); every case comes from one address.
        env = {"DATABASE_URL": leads, "MEDIUS_SPOOL_FILE": str(run_dir / "spool.jsonl"),
               "CHAT_ADDRESS_RATE_LIMIT": "1000000", "CHAT_RATE_LIMIT": "1000000"}
        with running_assistant(model, run_dir, env=env) as assistant:
            for path, cases in case_files.items():
                with misses.open("a", encoding="utf-8") as out:
                    out.write(f"===== {path.name}\n")
                table[(path.name, name)] = score(assistant, cases, misses)
    lines = [f"{'cases':22s} {'section':14s} " + " ".join(f"{name:>16s}" for name in models)]
    for path in case_files:
        for section in SECTIONS:
            cells = []
            for name in models:
                ok, total = table[(path.name, name)].get(section, (0, 0))
                cells.append(f"{ok:>4d}/{total:<4d} {ok / total:6.1%}" if total else f"{'-':>16s}")
            lines.append(f"{path.name:22s} {section:14s} " + " ".join(f"{c:>16s}" for c in cells))
    report = "\n".join(lines)
    print(report)
    (results_dir / "answers.txt").write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
