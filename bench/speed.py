"""Speed and memory of Medius against Rasa's stock default config, trained on the same data.

Usage: python -m bench.speed [--messages N] [--skip-training]
Prints training time, model load time, the Rasa server's resident memory and
per-message latency (p50/p95) for one visitor and for 20 concurrent visitors
over the widget chat channel. Both models are measured in the same run, one after the
other, on the same messages, so the ratios hold even on a noisy machine.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

from bench.nlu_eval import read_examples
from bot.core.paths import ROOT
from tests.support.servers import Assistant, running_assistant

OUT = ROOT / "var" / "bench"
CONFIGS = {"medius": ROOT / "config.yml", "stock default": ROOT / "bench" / "stock-config.yml"}
CONCURRENT_VISITORS = 20
UNLIMITED = {"CHAT_RATE_LIMIT": "1000000", "CHAT_ADDRESS_RATE_LIMIT": "1000000"}  # one address sends it all


def train(name: str, config: Path) -> Tuple[Path, float]:
    model_name = name.replace(" ", "-")
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).with_name("rasa")), "train", "--config", str(config), "--out", str(OUT),
         "--fixed-model-name", model_name, "--force"],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return OUT / f"{model_name}.tar.gz", time.perf_counter() - started


def load_time(model: Path, speedups: bool = True) -> float:
    """Seconds to load the model in a fresh process (what a server restart costs), as the server loads it."""
    install = "from bot.rasa import patches; patches.install(); " if speedups else ""
    code = (f"import time; t = time.perf_counter(); {install}from rasa.core.agent import Agent; "
            f"Agent.load({str(model)!r}); print(time.perf_counter() - t)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_send(assistant: Assistant, sender: str, text: str) -> float:
    started = time.perf_counter()
    assistant.send(sender, text, {"clinic": "stl"})
    return (time.perf_counter() - started) * 1000


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(model: Path, messages: List[str], speedups: bool = True) -> Dict[str, float]:
    env = {**UNLIMITED, "MEDIUS_RASA_SPEEDUPS": "on" if speedups else "off"}  # the stock config: Rasa as it comes
    with running_assistant(model, OUT / "logs", env=env) as assistant:
        for text in messages[:5]:  # warm up TensorFlow's first calls
            timed_send(assistant, "warmup-bench", text)
        single = [timed_send(assistant, f"one-{uuid.uuid4().hex[:8]}", text) for text in messages]

        def visitor(index: int) -> List[float]:
            sender = f"many-{index}-{uuid.uuid4().hex[:8]}"
            return [timed_send(assistant, sender, text) for text in messages[index::CONCURRENT_VISITORS] * 3]

        with ThreadPoolExecutor(CONCURRENT_VISITORS) as pool:
            concurrent = [ms for result in pool.map(visitor, range(CONCURRENT_VISITORS)) for ms in result]
        memory = rss_mib(assistant.process("rasa").pid)
    return {
        "rss_mib": memory,
        "p50_one": statistics.median(single), "p95_one": percentile(single, 0.95),
        "p50_many": statistics.median(concurrent), "p95_many": percentile(concurrent, 0.95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--skip-training", action="store_true", help="reuse models from an earlier run")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    messages = [text for text, _ in read_examples(ROOT / "tests" / "holdout.yml")][: args.messages]
    results: Dict[str, Dict[str, float]] = {}
    for name, config in CONFIGS.items():
        if args.skip_training:
            model, seconds = OUT / f"{name.replace(' ', '-')}.tar.gz", float("nan")
        else:
            model, seconds = train(name, config)
        results[name] = {"train_s": seconds, "load_s": load_time(model, speedups=name == "medius"),
                         **measure(model, messages, speedups=name == "medius")}
    rows = [("training time (s)", "train_s"), ("model load time (s)", "load_s"),
            ("Rasa server RSS (MiB)", "rss_mib"), ("latency p50, 1 visitor (ms)", "p50_one"),
            ("latency p95, 1 visitor (ms)", "p95_one"),
            (f"latency p50, {CONCURRENT_VISITORS} visitors (ms)", "p50_many"),
            (f"latency p95, {CONCURRENT_VISITORS} visitors (ms)", "p95_many")]
    ours, stock = results["medius"], results["stock default"]
    print(f"\n{'':34s}{'medius':>10s}{'stock':>10s}{'ratio':>8s}")
    for label, key in rows:
        ratio = ours[key] / stock[key] if stock[key] else float("nan")
        print(f"{label:34s}{ours[key]:10.1f}{stock[key]:10.1f}{ratio:8.2f}")
    print(f"\n{len(messages)} messages from tests/holdout.yml; "
          f"{CONCURRENT_VISITORS} visitors sent {len(messages) * 3} in all.")


if __name__ == "__main__":
    main()
