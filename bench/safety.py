"""The safety net's figures on every set we have, from the trained model's NLU (no servers).

Usage: python -m bench.safety [--model PATH] [--show] [--report docs/safety-report.md]
For each set: emergencies caught (clear at once, or by a confirming question
the visitor would answer yes), ordinary messages given emergency or urgent
advice, ordinary messages asked a confirming question, and nerve messages
offered the screening (the nerve intent, or nerve signs in a question). Sets:
tests/safety_messages.yml (ours), and ../shared/eval/visitors.yml where it
exists (written outside the team: its safety cases, and its FAQ and cause
questions as ordinary messages), ../shared/eval/visitors_b.yml likewise, and
the table of findings in context (tests/unit/test_safety_findings.py, one row
per category and context). `make evaluate` writes the figures, by set and by
category, to docs/safety-report.md. The end-to-end figures, replies as a
visitor reads them, come from `python -m bench.visitors` against `make run`.
"""
from __future__ import annotations

import argparse
import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from bot.core.paths import ROOT

OUR_SET = ROOT / "tests" / "safety_messages.yml"
# The shared sets sit beside the project; a worktree elsewhere names them with MEDIUS_EVAL_DIR.
EVAL = Path(os.environ.get("MEDIUS_EVAL_DIR") or ROOT.parent / "shared" / "eval")
VISITORS = EVAL / "visitors.yml"
VISITORS_B = EVAL / "visitors_b.yml"
REPORT = ROOT / "docs" / "safety-report.md"
KINDS = ("emergency", "nerve", "ordinary")
Case = Tuple[str, str, str]  # (kind, category, text)


def _kind(kind: str) -> str:
    return kind if kind != "benign" else "ordinary"


def our_cases() -> List[Case]:
    document = yaml.safe_load(OUR_SET.read_text(encoding="utf-8"))
    return [(_kind(kind), _kind(kind), text) for kind, texts in document.items() for text in texts]


def visitor_cases(path: Path = VISITORS) -> List[Case]:
    """The safety section by kind, and the FAQ and cause questions as ordinary messages (their own category)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = [(_kind(c["kind"]), _kind(c["kind"]), c["say"]) for c in document.get("safety", [])]
    cases += [("ordinary", f"{section} questions", c["say"]) for section in ("faq", "causes")
              for c in document.get(section, [])]
    return cases


def table_cases() -> List[Case]:
    """The rows of tests/unit/test_safety_findings.py: emergency and urgent rows as emergencies to catch
    (urgent ones only need the advice), nerve rows as nerve messages, the rest ordinary."""
    from tests.unit.test_safety_findings import ROWS

    kinds = {"emergency": "emergency", "urgent": "urgent", "nerve": "nerve", None: "ordinary"}
    return [(kinds[expected], f"{category} ({context})", text) for category, context, text, expected in ROWS]


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
    by_category: Dict[str, Dict[str, int]] = field(default_factory=dict)

    def add(self, key: str, hit: bool, text: str, category: str = "") -> None:
        self.counts[key] = self.counts.get(key, 0) + int(hit)
        self.counts[key + "_of"] = self.counts.get(key + "_of", 0) + 1
        row = self.by_category.setdefault(category, {})
        row[key] = row.get(key, 0) + int(hit)
        row[key + "_of"] = row.get(key + "_of", 0) + 1
        if not hit:
            self.misses.setdefault(key, []).append(text)

    def rate(self, key: str) -> str:
        hits, total = self.counts.get(key, 0), self.counts.get(key + "_of", 0)
        return f"{hits}/{total} ({hits / total:.1%})" if total else "-"


def measure(agent: Any, cases: List[Case]) -> Figures:
    figures = Figures()

    async def run() -> None:
        for kind, category, text in cases:
            parse = await agent.parse_message(text)
            level = tier(parse)
            if kind == "emergency":
                figures.add("caught", level in ("emergency", "confirm"), text, category)
                figures.add("caught_at_once", level == "emergency", text, category)
            elif kind == "urgent":
                figures.add("urgent_advised", level in ("emergency", "urgent", "confirm"), text, category)
            elif kind == "nerve":
                figures.add("nerve_offered", nerve_offered(parse) and level != "emergency", text, category)
            else:
                figures.add("no_alarm", level not in ("emergency", "urgent"), f"{level}: {text}", category)
                figures.add("no_confirm", level != "confirm", text, category)

    asyncio.run(run())
    return figures


def _rate(counts: Dict[str, int], key: str) -> str:
    hits, total = counts.get(key, 0), counts.get(key + "_of", 0)
    return f"{hits}/{total}" if total else ""


def _failures(counts: Dict[str, int], key: str) -> str:
    hits, total = counts.get(key, 0), counts.get(key + "_of", 0)
    return f"{total - hits}/{total}" if total else ""


def report(results: List[Tuple[str, Figures]], model: Path) -> str:
    """docs/safety-report.md: per set, then per category, in the bar's terms."""
    lines = ["# Safety report", "",
             "Written by `make evaluate` (`python -m bench.safety --report docs/safety-report.md`) from the trained",
             f"model `{model.name}`, at the NLU level (rules, red-flag model and intent, as `components.red_flags`",
             "decides; no servers). *Caught* counts an emergency given emergency advice at once or asked the",
             "confirming question (which carries the advice; a visitor who answers yes gets it). The rules and",
             "their guidelines are in [triage.md](triage.md). *Nerve: screening offered* counts the nerve intent,",
             "or nerve signs on an FAQ question; end to end the cause finder and the fallback offer it too, so",
             "`score.py` against `make run` counts more (20/20 on both shared sets; see triage.md, Measured).",
             "An urgent row of the findings table counts as advised only if the model agrees with its rule.", "",
             "Bar: every emergency caught; at least 95% of nerve messages offered the screening without 911;",
             "at most 1% of ordinary messages given emergency or urgent advice; at most 5% asked a confirming",
             "question.", "",
             "| set | emergencies caught | at once | after the confirming question | nerve: screening offered | "
             "ordinary: emergency/urgent advice | ordinary: confirming question |",
             "|---|---|---|---|---|---|---|"]
    for name, figures in results:
        c = figures.counts
        after = c.get("caught", 0) - c.get("caught_at_once", 0)
        lines.append(f"| {name} | {_rate(c, 'caught')} | {_rate(c, 'caught_at_once')} | "
                     f"{after if c.get('caught_of') else ''} | {_rate(c, 'nerve_offered')} | "
                     f"{_failures(c, 'no_alarm')} | {_failures(c, 'no_confirm')} |")
    for name, figures in results:
        lines += ["", f"## {name}, by category", "",
                  "| category | emergencies caught | at once | urgent advised | nerve: screening offered | "
                  "ordinary: emergency/urgent | ordinary: confirming q. |", "|---|---|---|---|---|---|---|"]
        for category, c in sorted(figures.by_category.items()):
            lines.append(f"| {category} | {_rate(c, 'caught')} | {_rate(c, 'caught_at_once')} | "
                         f"{_rate(c, 'urgent_advised')} | {_rate(c, 'nerve_offered')} | "
                         f"{_failures(c, 'no_alarm')} | {_failures(c, 'no_confirm')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from rasa.core.agent import Agent  # heavy import, only when measuring

    from bot.core.logs import install_logging_policy

    install_logging_policy("INFO")  # Rasa's debug lines would print every message
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "medius.tar.gz")
    parser.add_argument("--show", action="store_true", help="list the misses")
    parser.add_argument("--report", type=Path, help="write the figures, by set and category, to this file")
    args = parser.parse_args()
    agent = Agent.load(str(args.model))
    sets = [("tests/safety_messages.yml (ours)", our_cases()),
            ("tests/unit/test_safety_findings.py (findings in context)", table_cases())]
    for path in (VISITORS, VISITORS_B):
        if path.exists():
            sets.append((f"../shared/eval/{path.name} (outside the team)", visitor_cases(path)))
    results: List[Tuple[str, Figures]] = []
    print("\nSafety net (NLU level). Goals: caught 100%, alarms on ordinary <= 1%, confirms <= 5%, nerve >= 95%")
    for name, cases in sets:
        figures = measure(agent, cases)
        results.append((name, figures))
        alarms = figures.counts.get("no_alarm_of", 0) - figures.counts.get("no_alarm", 0)
        confirms = figures.counts.get("no_confirm_of", 0) - figures.counts.get("no_confirm", 0)
        ordinary = figures.counts.get("no_alarm_of", 0)
        print(f"\n{name}")
        print(f"  emergencies caught          {figures.rate('caught')}   at once {figures.rate('caught_at_once')}")
        print(f"  ordinary: emergency/urgent  {alarms}/{ordinary} ({alarms / max(ordinary, 1):.1%})")
        print(f"  ordinary: confirming q.     {confirms}/{ordinary} ({confirms / max(ordinary, 1):.1%})")
        print(f"  nerve offered the screening {figures.rate('nerve_offered')}")
        if args.show:
            for key in ("caught", "urgent_advised", "no_alarm", "no_confirm", "nerve_offered"):
                for text in figures.misses.get(key, []):
                    print(f"    miss {key}: {text}")
    if args.report:
        args.report.write_text(report(results, args.model), encoding="utf-8")
        print(f"\nWritten: {args.report}")


if __name__ == "__main__":
    main()
