"""CPU per message of two running products, side by side in one run: this code against a baseline checkout.

Usage: python -m bench.side_by_side --new http://127.0.0.1:8000 --baseline http://127.0.0.1:8100
Start each product first (`make run` in each checkout, on its own ports, with
the same MEDIUS_API_TOKEN). The same held-out messages go to both, a batch to
one and then the same batch to the other, the order swapped every round, so a
noisy moment of the machine falls on both. Each product's CPU is that of every
process under the supervisor that runs its web server (web, Rasa, actions),
read before and after each batch; the figure is CPU milliseconds per message,
and the ratio new / baseline is what an issue's CPU bar is judged on.
"""
from __future__ import annotations

import argparse
import os
import statistics
import uuid
from typing import Dict, List
from urllib.parse import urlparse

import psutil
import requests

from bench.nlu_eval import read_examples
from bot.core.paths import ROOT

PER_VISITOR = 5  # messages of one conversation; a new visitor after that


def product_processes(url: str) -> List[psutil.Process]:
    """The processes of the product whose web server listens on the url's port: its supervisor's whole tree."""
    port = urlparse(url).port
    listener = next((psutil.Process(c.pid) for c in psutil.net_connections("tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid), None)
    if listener is None:
        raise SystemExit(f"nothing listens on port {port}: start that product first")
    supervisor = next((p for p in listener.parents() if "supervisord" in " ".join(p.cmdline())), None)
    if supervisor is None:
        raise SystemExit(f"the server on port {port} was not started by `make run` (no supervisord above it)")
    return [supervisor, *supervisor.children(recursive=True)]


def cpu_seconds(processes: List[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def batch(url: str, token: str, messages: List[str], visitor: str) -> None:
    for index, text in enumerate(messages):
        answer = requests.post(f"{url}/chat", timeout=60, headers={"Authorization": f"Bearer {token}"},
                               json={"sender": f"{visitor}-{index // PER_VISITOR:04d}", "message": text,
                                     "metadata": {"clinic": "stl"}})
        answer.raise_for_status()


def measure(urls: Dict[str, str], token: str, messages: List[str], rounds: int) -> Dict[str, List[float]]:
    processes = {name: product_processes(url) for name, url in urls.items()}
    run = uuid.uuid4().hex[:8]
    for url in urls.values():  # warm both: TensorFlow's first calls, the caches
        batch(url, token, messages[:PER_VISITOR * 2], f"warm-{run}")
    per_message: Dict[str, List[float]] = {name: [] for name in urls}
    order = list(urls)
    for round_ in range(rounds):
        for name in order:
            before = cpu_seconds(processes[name])
            batch(urls[name], token, messages, f"side-{run}-{round_}")
            per_message[name].append((cpu_seconds(processes[name]) - before) * 1000 / len(messages))
        order.reverse()
    return per_message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--new", required=True, help="this checkout's running product")
    parser.add_argument("--baseline", required=True, help="the baseline checkout's running product")
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    token = os.environ.get("MEDIUS_API_TOKEN", "")
    if not token:
        raise SystemExit("set MEDIUS_API_TOKEN: both products' server token")
    messages = [text for text, _ in read_examples(ROOT / "tests" / "holdout.yml")][: args.messages]
    figures = measure({"new": args.new, "baseline": args.baseline}, token, messages, args.rounds)
    print(f"\n| {len(messages)} held-out messages x {args.rounds} rounds | CPU ms a message, median | "
          f"each round |\n|---|---:|---|")
    for name, values in figures.items():
        print(f"| {name} | {statistics.median(values):.1f} | {', '.join(f'{v:.1f}' for v in values)} |")
    ratio = statistics.median(figures["new"]) / statistics.median(figures["baseline"])
    print(f"| new ÷ baseline | {ratio:.2f} | |")


if __name__ == "__main__":
    main()
