"""What the one public port costs: each message through the web server's /chat, and straight to Rasa.

Usage: python -m bench.hop [--messages N]
Starts Medius as `make run` does, then sends the same held-out messages by
both paths, alternating one by one so that both see the same machine load:
through the web server (checks, rate limits, the httpx hop to Rasa on
loopback), and straight to Rasa's widget channel with the internal token (the
path with no hop). Prints p50/p95 per message for each and their ratio.
"""
from __future__ import annotations

import argparse
import statistics
import time
import uuid
from typing import Callable, Dict, List

import requests

from bench.nlu_eval import read_examples
from bench.speed import OUT, UNLIMITED, percentile
from bot.core.guard import TOKEN_HEADER
from bot.core.paths import ROOT
from tests.support.servers import Assistant, running_assistant


def timed(post: Callable[[], requests.Response]) -> float:
    started = time.perf_counter()
    response = post()
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def measure(assistant: Assistant, messages: List[str]) -> Dict[str, List[float]]:
    direct_url = f"http://127.0.0.1:{assistant.ports['rasa']}/webhooks/widget/webhook"
    through = requests.Session()
    through.headers["Authorization"] = f"Bearer {assistant.api_token}"
    direct = requests.Session()
    direct.headers[TOKEN_HEADER] = assistant.env["MEDIUS_INTERNAL_TOKEN"]
    paths = {"through the web server": (through, assistant.chat_url), "straight to Rasa": (direct, direct_url)}
    times: Dict[str, List[float]] = {name: [] for name in paths}
    for index, text in enumerate(messages[:5] + messages):
        for name, (session, url) in paths.items():
            body = {"sender": f"hop-{uuid.uuid4().hex[:12]}", "message": text, "metadata": {"clinic": "stl"}}
            ms = timed(lambda: session.post(url, json=body, timeout=60))  # noqa: B023 - called in this iteration
            if index >= 5:  # the first five warm up TensorFlow and the connection pools
                times[name].append(ms)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100)
    args = parser.parse_args()
    messages = [text for text, _ in read_examples(ROOT / "tests" / "holdout.yml")][: args.messages]
    with running_assistant(ROOT / "models" / "medius.tar.gz", OUT / "logs", env=UNLIMITED) as assistant:
        times = measure(assistant, messages)
    hop, bare = times["through the web server"], times["straight to Rasa"]
    print(f"\n{'':26s}{'p50 ms':>10s}{'p95 ms':>10s}")
    for name, values in times.items():
        print(f"{name:26s}{statistics.median(values):10.1f}{percentile(values, 0.95):10.1f}")
    print(f"{'ratio':26s}{statistics.median(hop) / statistics.median(bare):10.2f}"
          f"{percentile(hop, 0.95) / percentile(bare, 0.95):10.2f}")
    print(f"\n{len(messages)} messages from tests/holdout.yml by each path, alternating, one visitor at a time.")


if __name__ == "__main__":
    main()
