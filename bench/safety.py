"""The safety net's figures on every set we have, from the trained model's NLU (no servers).

Usage: python -m bench.safety [--model PATH] [--show]
For each set: emergencies caught (clear at once, or by a confirming question
the visitor would answer yes), ordinary messages given emergency or urgent
advice, ordinary messages asked a confirming question, and nerve messages
offered the screening (the nerve intent, or nerve signs in a question). Sets:
tests/safety_messages.yml (ours), and ../shared/eval/visitors.yml where it
exists (written outside the team: its safety cases, and its FAQ and cause
questions as ordinary messages). The end-to-end figures, replies as a visitor
reads them, come from `python -m bench.visitors` against `make run`.
"""
from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from bot.core.paths import ROOT

OUR_SET = ROOT / "tests" / "safety_messages.yml"
VISITORS = ROOT.parent / "shared" / "eval" / "visitors.yml"
KINDS = ("emergency", "nerve", "ordinary")


def our_cases() -> List[Tuple[str, str]]:
    document = yaml.safe_load(OUR_SET.read_text(encoding="utf-8"))
    return [(kind if kind != "benign" else "ordinary", text) for kind, texts in document.items() for text in texts]


def visitor_cases() -> List[Tuple[str, str]]:
    document = yaml.safe_load(VISITORS.read_text(encoding="utf-8"))
    cases = [(c["kind"] if c["kind"] != "benign" else "ordinary", c["say"]) for c in document.get("safety", [])]
    cases += [("ordinary", c["say"]) for section in ("faq", "causes") for c in document.get(section, [])]
    return cases


def tier(parse: Dict[str, Any]) -> Optional[str]:
    if (parse.get("intent") or {}).get("name") != "report_red_flag":
        return None
    levels = [e["value"] for e in parse.get("entities") or [] if e.get("entity") == "red_flag_level"]
    return levels[0] if levels else "emergency"


def nerve_offered(parse: Dict[str, Any]) -> bool:
    intent = (parse.get("intent") or {}).get("name")
    signs = any(e.get("entity") == "nerve_sign" for e in parse.get("entities") or [])
    return intent == "report_nerve_symptoms" or (intent == "faq" and signs)


@dataclass
class Figures:
    counts: Dict[str, int] = field(default_factory=dict)
    misses: Dict[str, List[str]] = field(default_factory=dict)

    def add(self, key: str, hit: bool, text: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + int(hit)
        self.counts[key + "_of"] = self.counts.get(key + "_of", 0) + 1
        if not hit:
            self.misses.setdefault(key, []).append(text)

    def rate(self, key: str) -> str:
        hits, total = self.counts.get(key, 0), self.counts.get(key + "_of", 0)
        return f"{hits}/{total} ({hits / total:.1%})" if total else "-"


def measure(agent: Any, cases: List[Tuple[str, str]]) -> Figures:
    figures = Figures()

    async def run() -> None:
        for kind, text in cases:
            parse = await agent.parse_message(text)
            level = tier(parse)
            if kind == "emergency":
                figures.add("caught", level in ("emergency", "confirm"), text)
                figures.add("caught_at_once", level == "emergency", text)
            elif kind == "nerve":
                figures.add("nerve_offered", nerve_offered(parse) and level != "emergency", text)
            else:
                figures.add("no_alarm", level not in ("emergency", "urgent"), f"{level}: {text}")
                figures.add("no_confirm", level != "confirm", text)

    asyncio.run(run())
    return figures


def main() -> None:
    from rasa.core.agent import Agent  # heavy import, only when measuring

    from bot.core.logs import install_logging_policy

    install_logging_policy("INFO")  # Rasa's debug lines would print every message
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "medius.tar.gz")
    parser.add_argument("--show", action="store_true", help="list the misses")
    args = parser.parse_args()
    agent = Agent.load(str(args.model))
    sets = [("tests/safety_messages.yml (ours)", our_cases())]
    if VISITORS.exists():
        sets.append(("../shared/eval/visitors.yml (outside the team)", visitor_cases()))
    print("\nSafety net (NLU level). Goals: caught 100%, alarms on ordinary <= 1%, confirms <= 5%, nerve >= 95%")
    for name, cases in sets:
        figures = measure(agent, cases)
        alarms = figures.counts.get("no_alarm_of", 0) - figures.counts.get("no_alarm", 0)
        confirms = figures.counts.get("no_confirm_of", 0) - figures.counts.get("no_confirm", 0)
        ordinary = figures.counts.get("no_alarm_of", 0)
        print(f"\n{name}")
        print(f"  emergencies caught          {figures.rate('caught')}   at once {figures.rate('caught_at_once')}")
        print(f"  ordinary: emergency/urgent  {alarms}/{ordinary} ({alarms / max(ordinary, 1):.1%})")
        print(f"  ordinary: confirming q.     {confirms}/{ordinary} ({confirms / max(ordinary, 1):.1%})")
        print(f"  nerve offered the screening {figures.rate('nerve_offered')}")
        if args.show:
            for key in ("caught", "no_alarm", "no_confirm", "nerve_offered"):
                for text in figures.misses.get(key, []):
                    print(f"    miss {key}: {text}")


if __name__ == "__main__":
    main()
