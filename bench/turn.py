"""One visitor's full turn against the NLU parse alone, on the same messages, in one run.

Usage: python -m bench.turn [--messages N] [--topology embedded|production]
The parse is timed in this process (Rasa's Agent.parse_message on the trained
model: tokenising, featurising, DIET, the ResponseSelector, the red-flag
component); the turn through the public chat endpoint of the running product
(web server, Rasa's channel, policies, custom actions, the tracker store). Their
ratio is what a turn costs beyond understanding the message.
"""
from __future__ import annotations

import argparse
import asyncio
import time
from typing import Dict, List

from bench.speed import UNLIMITED, percentile
from bench.nlu_eval import read_examples
from bench.servers import running_assistant
from bot.paths import ROOT

MODEL = ROOT / "models" / "medius.tar.gz"


def parse_times(messages: List[str]) -> List[float]:
    """Parsed as the Rasa server parses: with Medius's shortcuts when it runs them (the default)."""
    from rasa.core.agent import Agent

    from bot import rasa_speedups
    from bot.logs import install_logging_policy
    from bot.settings import get_settings

    install_logging_policy(get_settings().log_level)  # as in the server: no visitor's words in debug lines
    if get_settings().rasa_speedups:
        rasa_speedups.install()
    agent = Agent.load(str(MODEL))

    async def timed() -> List[float]:
        for text in messages[:5]:
            await agent.parse_message(text)
        times = []
        for text in messages:
            started = time.perf_counter()
            await agent.parse_message(text)
            times.append((time.perf_counter() - started) * 1000)
        return times
    return asyncio.run(timed())


def turn_times(messages: List[str], topology: str) -> List[float]:
    with running_assistant(MODEL, ROOT / "var" / "bench" / "turn", env=UNLIMITED, topology=topology) as assistant:
        for text in messages[:5]:
            assistant.send("warmup-bench-turn", text, {"clinic": "stl"})
        times = []
        for index, text in enumerate(messages):
            started = time.perf_counter()
            assistant.send(f"turn-visitor-{index // 5:04d}", text, {"clinic": "stl"})  # 5 messages a visitor
            times.append((time.perf_counter() - started) * 1000)
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=150)
    parser.add_argument("--topology", default="embedded", choices=["embedded", "production"])
    args = parser.parse_args()
    messages = [text for text, _ in read_examples(ROOT / "tests" / "holdout.yml")][: args.messages]
    figures: Dict[str, List[float]] = {"NLU parse": parse_times(messages),
                                       f"full turn ({args.topology})": turn_times(messages, args.topology)}
    print(f"\n| {len(messages)} held-out messages, 1 visitor | p50 (ms) | p95 (ms) |\n|---|---:|---:|")
    for name, times in figures.items():
        print(f"| {name} | {percentile(times, 0.5):.1f} | {percentile(times, 0.95):.1f} |")
    parse, turn = figures.values()
    print(f"| turn ÷ parse | {percentile(turn, 0.5) / percentile(parse, 0.5):.2f} | "
          f"{percentile(turn, 0.95) / percentile(parse, 0.95):.2f} |")


if __name__ == "__main__":
    main()
