"""One visitor's full turn against the NLU parse alone, on the same messages, in one run.

Usage: python -m bench.turn [--messages N] [--rounds R] [--topology embedded|production]
The parse is timed in this process (Rasa's Agent.parse_message on the trained
model, with the Rasa server's own shortcuts: tokenising, featurising, DIET, the
ResponseSelector, the red-flag component); the turn through the public chat
endpoint of the running product (web server, Rasa's channel, policies, custom
actions, the tracker store). Each message is parsed and then sent as a turn,
one after the other, so a noisy moment of the machine falls on both. Their
ratio is what a turn costs beyond understanding the message.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import time
import uuid
from typing import Dict, List

from bench.nlu_eval import read_examples
from bench.speed import UNLIMITED, percentile
from bot.core.paths import ROOT
from tests.support.servers import running_assistant

MODEL = ROOT / "models" / "medius.tar.gz"
PER_VISITOR = 5  # messages of one conversation; a new visitor after that


def load_parser():
    """The trained model in this process, as the Rasa server loads it (its logging policy, its shortcuts)."""
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    from bot.core.logs import install_logging_policy
    from bot.core.settings import get_settings
    from bot.rasa import patches

    # As `rasa run` and the channel set logging up: structlog's debug lines are filtered, not printed.
    configure_structlog(logging.getLevelName(get_settings().log_level))
    install_logging_policy(get_settings().log_level)  # as in the server: no visitor's words in debug lines
    patches.install()
    return Agent.load(str(MODEL))


def measure(messages: List[str], rounds: int, topology: str) -> Dict[str, List[float]]:
    agent = load_parser()
    loop = asyncio.new_event_loop()
    times: Dict[str, List[float]] = {"NLU parse": [], f"full turn ({topology})": []}
    run = uuid.uuid4().hex[:8]  # new visitors every run: the bench's database keeps earlier runs' conversations
    with running_assistant(MODEL, ROOT / "var" / "bench" / "turn", env=UNLIMITED, topology=topology) as assistant:
        for text in messages[:PER_VISITOR]:  # TensorFlow's first calls, on both sides
            loop.run_until_complete(agent.parse_message(text))
            assistant.send(f"warmup-bench-turn-{run}", text, {"clinic": "stl"})
        parse, turn = times.values()
        for round_ in range(rounds):
            for index, text in enumerate(messages):
                started = time.perf_counter()
                loop.run_until_complete(agent.parse_message(text))
                parse.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                assistant.send(f"turn-visitor-{run}-{round_}-{index // PER_VISITOR:04d}", text, {"clinic": "stl"})
                turn.append((time.perf_counter() - started) * 1000)
    loop.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--topology", default="embedded", choices=["embedded", "production"])
    args = parser.parse_args()
    messages = [text for text, _ in read_examples(ROOT / "tests" / "holdout.yml")][: args.messages]
    figures = measure(messages, args.rounds, args.topology)
    print(f"\n| {len(messages)} held-out messages x {args.rounds}, 1 visitor | p50 (ms) | p95 (ms) |\n|---|---:|---:|")
    for name, times in figures.items():
        print(f"| {name} | {percentile(times, 0.5):.1f} | {percentile(times, 0.95):.1f} |")
    parse, turn = figures.values()
    print(f"| turn ÷ parse | {percentile(turn, 0.5) / percentile(parse, 0.5):.2f} | "
          f"{percentile(turn, 0.95) / percentile(parse, 0.95):.2f} |")


if __name__ == "__main__":
    main()
