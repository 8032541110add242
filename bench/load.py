"""Load: many visitors chatting at once through the public chat endpoint, on one or more set-ups side by side.

Usage: python -m bench.load [--topologies stock,embedded,production] [--visitors 1,10,50]
                            [--duration SECONDS | --conversations N] [--warmup N] [--skip-training]

Each visitor has scripted conversations (bench/load_script.yml: FAQ questions with a
follow-up, the cause finder, bookings, the nerve screening, plain questions) through
POST /chat, as a clinic's server holding MEDIUS_API_TOKEN would, one message after
the other, with no pause between them (a closed loop: the figures are the most the
set-up serves, not a typical day). Visitors are asyncio tasks on one HTTP client,
so 50 visitors are 50 open connections, not 50 threads. The client is aiohttp's: with
50 requests in flight httpx used about 3 ms of CPU per request against aiohttp's 0.2, CPU
the servers under test share on this machine.

For each topology (a named set-up of the whole product, started fresh with its own
lead database) and each number of visitors it reports messages sent, throughput,
latency p50/p95/p99, errors (HTTP status other than 200, timeouts, replies without
the expected words), the peak resident memory of each program, and lead integrity:
every confirmed booking has exactly one lead, with its own visitor's name, contact
and sender id, and no lead carries another visitor's details. The final tables
(Markdown, ratios against `stock`) are printed and written to results/load.txt.
Ctrl-C stops the run, shuts the servers down and prints what was measured so far.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import inspect
import itertools
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict, List, NamedTuple, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import aiohttp
import psutil
import yaml

from bench.speed import CONFIGS, OUT as SPEED_OUT, UNLIMITED, percentile, train
from bot.core.paths import ROOT
from bot.store.db import migrate
from tests.support.servers import running_assistant

SCRIPT = ROOT / "bench" / "load_script.yml"
MODEL = ROOT / "models" / "medius.tar.gz"
STOCK_MODEL = SPEED_OUT / "stock-default.tar.gz"   # where bench/speed.py's train("stock default") puts it
OUT = ROOT / "var" / "bench" / "load"
RESULTS = ROOT / "results" / "load.txt"
GROUPS = ("web", "rasa", "actions", "notifier")       # supervisord.conf's programs
MiB = 1024 * 1024


# ----------------------------------------------------------------------------------------------- the script

@dataclass(frozen=True)
class Step:
    say: str
    expect: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Script:
    name: str
    weight: float
    steps: Tuple[Step, ...]
    books: Optional[str] = None  # "phone" or "email": a booking with a unique identity


@dataclass(frozen=True)
class Identity:
    name: str
    contact: str        # as the visitor types it
    contact_shown: str  # as the bot says it back
    phone: Optional[str] = None  # as the lead stores it (E.164)
    email: Optional[str] = None

    def fill(self, text: str) -> str:
        """The text with {name}, {contact} and {contact_shown} filled in; other braces (payloads) left alone."""
        values = {"name": self.name, "contact": self.contact, "contact_shown": self.contact_shown}
        return re.sub(r"\{(name|contact|contact_shown)\}", lambda m: values[m.group(1)], text)


@dataclass
class Mix:
    clinic: str
    scripts: List[Script]
    identities: Dict[str, Any]

    def pick(self, rng: random.Random) -> Script:
        return rng.choices(self.scripts, weights=[s.weight for s in self.scripts])[0]


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):  # YAML reads a bare yes / no / on / 12 as something else than text
        raise ValueError(f"{where}: {value!r} is not text; put it in quotes")
    return value


def load_mix(path: Path = SCRIPT) -> Mix:
    document = yaml.safe_load(path.read_text())
    scripts = []
    for name, spec in document["conversations"].items():
        steps = []
        for number, step in enumerate(spec["steps"], 1):
            where = f"{path.name}: {name} step {number}"
            expect = step.get("expect", [])
            expect = expect if isinstance(expect, list) else [expect]
            steps.append(Step(_text(step["say"], where), tuple(_text(e, where) for e in expect)))
        books = spec.get("books")
        if books not in (None, "phone", "email"):
            raise ValueError(f"{path}: {name}: books must be phone or email, not {books!r}")
        scripts.append(Script(name, float(spec.get("weight", 1)), tuple(steps), books))
    return Mix(str(document.get("clinic", "stl")), scripts, document["identities"])


class Identities:
    """A unique name, phone number and email address for every booking of a topology's run."""

    def __init__(self, spec: Dict[str, Any]):
        self.first, self.middle, self.last = spec["first_names"], spec["middle_names"], spec["last_names"]
        self.area_codes, self.domain = [str(a) for a in spec["area_codes"]], spec["email_domain"]
        self.count = 0
        self.lock = threading.Lock()

    def capacity(self) -> int:
        return len(self.first) * len(self.last) * (len(self.middle) + 1)

    def next(self, kind: str) -> Identity:
        with self.lock:
            index, self.count = self.count, self.count + 1
        if index >= self.capacity():
            raise RuntimeError(f"more than {self.capacity()} bookings: add names to {SCRIPT.name}")
        first = self.first[index % len(self.first)]
        last = self.last[(index // len(self.first)) % len(self.last)]
        tier = index // (len(self.first) * len(self.last))
        name = " ".join([first] + ([self.middle[tier - 1]] if tier else []) + [last])
        if kind == "email":
            email = f"{name.replace(' ', '.').lower()}.{index}@{self.domain}"
            return Identity(name, email, email, email=email)
        area = self.area_codes[(index // 9000) % len(self.area_codes)]
        line = f"{1000 + index % 9000:04d}"  # 555-1000..555-9999
        return Identity(name, f"{area}-555-{line}", f"({area}) 555-{line}", phone=f"+1{area}555{line}")


# ---------------------------------------------------------------------------------------------- the topologies

class Unavailable(Exception):
    """A topology this checkout cannot start (yet): reported and skipped."""


@dataclass
class Setup:
    """What every topology gets: where its logs go, the settings for every process, the CLI's options."""
    name: str
    log_dir: Path
    env: Dict[str, str]
    skip_training: bool
    rasa_workers: int = 2


def stock_model(skip_training: bool) -> Path:
    if skip_training and STOCK_MODEL.exists():
        return STOCK_MODEL
    print("  training Rasa's stock default config (bench/speed.py's train; ~13 minutes on 2 cores)...", flush=True)
    SPEED_OUT.mkdir(parents=True, exist_ok=True)
    model, seconds = train("stock default", CONFIGS["stock default"])
    print(f"  trained {model.relative_to(ROOT)} in {seconds:.0f} s", flush=True)
    return model


def stock(setup: Setup) -> ContextManager[Any]:
    """Rasa's stock default config, trained on the same data, one process with conversations in memory
    (bench/endpoints-stock.yml); the rest of the product (web server, actions) as `make run` has it."""
    env = {**setup.env, "MEDIUS_ENDPOINTS": str(ROOT / "bench" / "endpoints-stock.yml"),
           "MEDIUS_RASA_SPEEDUPS": "off"}  # Rasa as it comes: none of bot/rasa/patches
    return running_assistant(stock_model(setup.skip_training), setup.log_dir, env=env, notifier=True)


def embedded(setup: Setup) -> ContextManager[Any]:
    """models/medius.tar.gz as `make run` starts it: one Rasa, one action server, SQLite."""
    if not MODEL.exists():
        raise Unavailable(f"{MODEL.relative_to(ROOT)} is missing: `make run` or `make test` trains it")
    return running_assistant(MODEL, setup.log_dir, env=setup.env, notifier=True)


def production(setup: Setup) -> ContextManager[Any]:
    """PostgreSQL, Redis, several Rasa workers and action servers: running_assistant(topology="production")."""
    parameters = inspect.signature(running_assistant).parameters
    if "topology" not in parameters and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        raise Unavailable("tests.support.servers.running_assistant has no topology= parameter yet")
    if not MODEL.exists():
        raise Unavailable(f"{MODEL.relative_to(ROOT)} is missing")
    env = {k: v for k, v in setup.env.items() if k != "DATABASE_URL"}  # it brings its own lead database
    extra = {"notifier": True} if "notifier" in parameters else {}     # as for the others, like `make run`
    return running_assistant(MODEL, setup.log_dir, env=env, topology="production", rasa_workers=setup.rasa_workers,
                             **extra)


TOPOLOGIES: Dict[str, Callable[[Setup], ContextManager[Any]]] = {
    "stock": stock, "embedded": embedded, "production": production}


def prepare(name: str, skip_training: bool, rasa_workers: int) -> Setup:
    """A clean folder, and a fresh migrated SQLite lead database and spool for the topology."""
    folder = OUT / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    database = f"sqlite:///{folder / 'leads.db'}"
    migrate(database)
    env = dict(UNLIMITED, DATABASE_URL=database, MEDIUS_SPOOL_FILE=str(folder / "lead-spool.jsonl"))
    return Setup(name, folder / "logs", env, skip_training, rasa_workers)


# ------------------------------------------------------------------------------------------------ the visitors

@dataclass
class Booking:
    sender: str
    identity: Identity
    script: str
    confirmed: bool = False


@dataclass
class Stats:
    latencies_ms: List[float] = field(default_factory=list)
    sent: int = 0
    errors: Counter = field(default_factory=Counter)  # http, timeout, mismatch, other
    examples: List[str] = field(default_factory=list)
    conversations: int = 0
    failed_conversations: int = 0
    cut_conversations: int = 0  # still going when the time was up: left, as a visitor closing the page
    bookings: List[Booking] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    def error(self, kind: str, example: str) -> None:
        self.errors[kind] += 1
        if len(self.examples) < 8:
            self.examples.append(example)


class Client:
    """POST /chat as Assistant.send does: a clinic's server with the API token (no Origin, no address limit)."""

    def __init__(self, target: Any, clinic: str, timeout: float, connections: int):
        self.url = getattr(target, "chat_url", f"{target.url}/chat")
        self.clinic = clinic
        self.http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=10.0),
            connector=aiohttp.TCPConnector(limit=connections),
            headers={"Authorization": f"Bearer {target.env['MEDIUS_API_TOKEN']}"})

    async def say(self, sender: str, text: str) -> Tuple[Optional[int], Any, float]:
        """(HTTP status, JSON body, milliseconds); raises aiohttp's errors and asyncio.TimeoutError."""
        started = time.perf_counter()
        async with self.http.post(self.url, json={"sender": sender, "message": text,
                                                  "metadata": {"clinic": self.clinic}}) as response:
            content = await response.read()
        elapsed = (time.perf_counter() - started) * 1000
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        return response.status, body, elapsed

    async def close(self) -> None:
        await self.http.close()


def reply_text(body: Any) -> str:
    if not isinstance(body, list):
        return ""
    return " ".join(str(r.get("text") or "") for r in body if isinstance(r, dict))


def missing(expected: Sequence[str], reply: str, identity: Optional[Identity]) -> List[str]:
    wanted = [identity.fill(e) if identity else e for e in expected]
    return [w for w in wanted if w.lower() not in reply.lower()]


async def converse(client: Client, script: Script, sender: str, identity: Optional[Identity], stats: Stats,
                   plan: Optional["Plan"] = None) -> Optional[bool]:
    """One scripted conversation: True when it went as scripted, False at the first error (the rest would
    fail for the same cause), None when the plan's time ran out in the middle (the visitor leaves)."""
    booking = Booking(sender, identity, script.name) if identity else None
    if booking:
        stats.bookings.append(booking)
    for number, step in enumerate(script.steps, 1):
        if number > 1 and plan is not None and not plan.more(0):
            return None
        text = identity.fill(step.say) if identity else step.say
        where = f"{script.name} step {number} ({text!r})"
        stats.sent += 1
        try:
            status, body, ms = await client.say(sender, text)
        except asyncio.TimeoutError:
            stats.error("timeout", f"{where}: no answer in time")
            return False
        except aiohttp.ClientError as error:
            stats.error("other", f"{where}: {type(error).__name__}: {error}")
            return False
        stats.latencies_ms.append(ms)
        if status != 200:
            stats.error("http", f"{where}: HTTP {status} {str(body)[:120]}")
            return False
        reply = reply_text(body)
        absent = missing(step.expect, reply, identity)
        if absent:
            stats.error("mismatch", f"{where}: no {absent!r} in {reply[:300]!r}")
            return False
    if booking:
        booking.confirmed = True
    return True


@dataclass
class Plan:
    conversations: Optional[int]   # per visitor, or...
    deadline: Optional[float]      # ...until this time.monotonic()

    def more(self, done: int) -> bool:
        """Whether a visitor with `done` conversations goes on (with a deadline: whether there is time left)."""
        if self.conversations is not None:
            return done < self.conversations
        return time.monotonic() < self.deadline


async def visitor(index: int, client: Client, mix: Mix, plan: Plan, identities: Identities, stats: Stats,
                  prefix: str, seed: int) -> None:
    rng = random.Random(f"{seed}-{index}")  # the same conversations, in the same order, on every topology
    done = 0
    while plan.more(done):
        script = mix.pick(rng)
        sender = f"{prefix}-{index}-{done}-{uuid.uuid4().hex[:6]}"
        identity = identities.next(script.books) if script.books else None
        try:
            completed = await converse(client, script, sender, identity, stats, plan)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a visitor's bug is an error of the run, not its end
            stats.error("other", f"{script.name}: {type(error).__name__}: {error}")
            completed = False
        stats.conversations += 1
        stats.failed_conversations += completed is False
        stats.cut_conversations += completed is None
        done += 1


# ---------------------------------------------------------------------------------------------------- memory

def process_groups(target: Any) -> Dict[str, List[psutil.Process]]:
    """Each program's processes and their children, without duplicates."""
    groups = {}
    for name in GROUPS:
        found: Dict[int, psutil.Process] = {}
        with contextlib.suppress(LookupError, KeyError, psutil.Error):
            for process in target.processes(name):
                found[process.pid] = process
                with contextlib.suppress(psutil.Error):
                    for child in process.children(recursive=True):
                        found[child.pid] = child
        groups[name] = list(found.values())
    return groups


def local_services(target: Any) -> Dict[str, List[psutil.Process]]:
    """PostgreSQL and Redis that the set-up's URLs name on this machine (the production topology starts its own,
    as daemons outside supervisord): the server listening on the port, and its children."""
    ports: Dict[int, str] = {}
    for key in ("DATABASE_URL", "CONVERSATIONS_DATABASE_URL", "REDIS_URL"):
        with contextlib.suppress(ValueError):
            url = urlsplit(target.env.get(key) or "")
            kind = next((k for k in ("postgres", "redis") if url.scheme.startswith(k)), None)
            if kind and url.port and url.hostname in ("127.0.0.1", "localhost", "::1"):
                ports[url.port] = kind
    groups: Dict[str, Dict[int, psutil.Process]] = {}
    if not ports:
        return {}
    with contextlib.suppress(psutil.Error, OSError):
        for connection in psutil.net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN and connection.pid and connection.laddr.port in ports:
                with contextlib.suppress(psutil.Error):
                    server = psutil.Process(connection.pid)
                    found = groups.setdefault(ports[connection.laddr.port], {})
                    for process in [server] + server.children(recursive=True):
                        found[process.pid] = process
    return {kind: list(found.values()) for kind, found in groups.items()}


def rss(process: psutil.Process) -> int:
    with contextlib.suppress(psutil.Error):
        return process.memory_info().rss
    return 0


class Programs(NamedTuple):
    """The set-up's processes, found once: each program's, the local services', and everything it started."""
    groups: Dict[str, List[psutil.Process]]
    services: Dict[str, List[psutil.Process]]
    everything: List[psutil.Process]


def programs(target: Any) -> Programs:
    """Finding them walks every process on the machine several times (psutil's children, the sockets):
    about 30 ms of CPU, on the cores the servers under test share, so the sampler finds them every 10 s."""
    groups = process_groups(target)
    services = local_services(target)
    everything = {p.pid: p for procs in {**groups, **services}.values() for p in procs}
    supervisor = getattr(target, "supervisor", None)
    if supervisor is not None:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(supervisor.pid)
            everything.update((p.pid, p) for p in [root] + root.children(recursive=True))
    return Programs(groups, services, list(everything.values()))


def memory(found: Programs) -> Dict[str, float]:
    """Resident memory (MiB) of each program, the largest Rasa process, and everything the set-up runs."""
    sample = {f"rss_{name}": sum(rss(p) for p in procs) / MiB for name, procs in {**found.groups,
                                                                                **found.services}.items()}
    sample["rss_rasa_largest"] = max((rss(p) for p in found.groups["rasa"]), default=0) / MiB
    sample["rss_all"] = sum(rss(p) for p in found.everything) / MiB
    return sample


def cpu_seconds(target: Any) -> Dict[str, float]:
    """CPU time (user + system) each program and local service has used so far, children included."""
    def used(process: psutil.Process) -> float:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            return times.user + times.system
        return 0.0
    return {name: sum(used(p) for p in procs)
            for name, procs in {**process_groups(target), **local_services(target)}.items()}


async def sample_memory(target: Any, peak: Dict[str, float], interval: float = 1.0, refind: int = 10) -> None:
    """Keep the peak of each figure until cancelled (the processes found again every `refind` samples)."""
    for sample in itertools.count():
        if sample % refind == 0:
            found = await asyncio.to_thread(programs, target)
        for key, value in (await asyncio.to_thread(memory, found)).items():
            peak[key] = max(peak.get(key, 0.0), value)
        await asyncio.sleep(interval)


# -------------------------------------------------------------------------------------------------- the runs

async def run_load(target: Any, mix: Mix, visitors: int, plan_of: Callable[[], Plan], identities: Identities,
                   prefix: str, seed: int, timeout: float) -> Tuple[Stats, Dict[str, float]]:
    stats, peak = Stats(), {}
    client = Client(target, mix.clinic, timeout, max(visitors, 1))
    sampler = asyncio.create_task(sample_memory(target, peak))
    cpu_before = await asyncio.to_thread(cpu_seconds, target)
    generator_before = sum(psutil.Process().cpu_times()[:2])
    try:
        plan = plan_of()
        stats.started = time.perf_counter()
        tasks = [asyncio.create_task(visitor(i, client, mix, plan, identities, stats, prefix, seed))
                 for i in range(visitors)]
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
                stats.error("other", f"visitor task: {type(outcome).__name__}: {outcome}")
        stats.finished = time.perf_counter()
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        await client.close()
    for key, value in (await asyncio.to_thread(lambda: memory(programs(target)))).items():
        peak[key] = max(peak.get(key, 0.0), value)
    # Where the capacity goes: CPU milliseconds each program spent per message (a process restarted
    # during the run counts from its start).
    cpu_after = await asyncio.to_thread(cpu_seconds, target)
    for name, seconds in cpu_after.items():
        peak[f"cpu_{name}"] = max(seconds - cpu_before.get(name, 0.0), 0.0) * 1000 / max(stats.sent, 1)
    peak["cpu_all"] = sum(v for k, v in peak.items() if k.startswith("cpu_") and k != "cpu_all")
    # The load generator shares the machine: what it takes is not the servers' to use.
    peak["generator_cpu"] = (sum(psutil.Process().cpu_times()[:2]) - generator_before) * 1000 / max(stats.sent, 1)
    return stats, peak


async def warm_up(target: Any, mix: Mix, rounds: int, identities: Identities, timeout: float) -> Stats:
    """Every script once per round, by one visitor: TensorFlow's first calls, the pools, the caches."""
    stats = Stats()
    client = Client(target, mix.clinic, timeout, 1)
    try:
        for round_ in range(rounds):
            for script in mix.scripts:
                identity = identities.next(script.books) if script.books else None
                sender = f"load-warmup-{round_}-{uuid.uuid4().hex[:8]}"
                try:
                    completed = await converse(client, script, sender, identity, stats)
                except Exception as error:  # noqa: BLE001 - reported, and the run goes on
                    stats.error("other", f"{script.name}: {type(error).__name__}: {error}")
                    completed = False
                stats.conversations += 1
                stats.failed_conversations += completed is False
    finally:
        await client.close()
    return stats


def read_leads(target: Any) -> List[Dict[str, Any]]:
    """Every lead in the set-up's database, through the CLI as staff would export them."""
    env = dict(os.environ)
    env.update({k: v for k, v in target.env.items() if isinstance(v, str)})
    out = subprocess.run([sys.executable, "-m", "bot", "leads", "export", "--format", "json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True, timeout=300).stdout
    return json.loads(out)


def spooled_senders(target: Any) -> Counter:
    """Leads waiting in the spool (database unreachable when they were given): late, not lost."""
    path = Path(target.env.get("MEDIUS_SPOOL_FILE") or ROOT / "var" / "lead-spool.jsonl")
    if not path.is_absolute():
        path = ROOT / path
    senders: Counter = Counter()
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError, AttributeError):
                senders[json.loads(line).get("sender_id")] += 1
    return senders


def integrity(leads: List[Dict[str, Any]], spooled: Counter, bookings: List[Booking],
              prefixes: Sequence[str]) -> Dict[str, int]:
    """Leads against one run's bookings: each confirmed booking has exactly one lead, with its own details
    (name, phone or email, sender id); no lead carries another visitor's details; no other lead came of the run.

    A booking that was not confirmed (an error on the way) may or may not have left a lead: only its
    details are checked. A lead still in the spool (database unreachable at the time) is late, not lost.
    """
    by_sender: Dict[str, List[Dict[str, Any]]] = {}
    for lead in leads:
        by_sender.setdefault(lead.get("sender_id") or "", []).append(lead)
    mine = {b.sender: b for b in bookings}
    owner_of: Dict[str, str] = {}  # each name, phone and email of the run's bookings -> its sender
    for b in bookings:
        for detail in (b.identity.name, b.identity.phone, b.identity.email):
            if detail:
                owner_of[detail.lower()] = b.sender
    result = Counter(confirmed=sum(b.confirmed for b in bookings))

    def own(lead: Dict[str, Any], identity: Identity) -> bool:
        return (lead.get("name") == identity.name and (lead.get("phone") or None) == identity.phone
                and (lead.get("email") or "").lower() == (identity.email or ""))

    for booking in bookings:
        if not booking.confirmed:
            continue
        found = by_sender.get(booking.sender, [])
        if not found:
            result["spooled" if spooled.get(booking.sender) else "lost"] += 1
        elif len(found) > 1:
            result["duplicated"] += 1
        if any(own(lead, booking.identity) for lead in found):
            result["own"] += 1
        elif found:
            result["wrong"] += 1  # a lead, but not with the details this visitor gave
    for lead in leads:
        sender = lead.get("sender_id") or ""
        details = [lead.get("name"), lead.get("phone"), lead.get("email")]
        if any(owner_of.get(d.lower(), sender) != sender for d in details if d):
            result["crossed"] += 1
        elif sender not in mine and any(sender.startswith(p) for p in prefixes):
            result["unexpected"] += 1  # e.g. an emergency recorded from an FAQ question
    result["ok"] = int(result["confirmed"] == result["own"] + result["spooled"] and not any(
        result[k] for k in ("lost", "duplicated", "wrong", "crossed", "unexpected")))
    return dict(result)


@dataclass
class Run:
    topology: str
    visitors: int
    status: str = "ran"
    figures: Dict[str, float] = field(default_factory=dict)
    examples: List[str] = field(default_factory=list)


def summarise(stats: Stats, peak: Dict[str, float], check: Optional[Dict[str, int]]) -> Dict[str, float]:
    window = max(stats.finished - stats.started, 1e-9)
    latencies = stats.latencies_ms or [float("nan")]
    figures = {
        "sent": stats.sent, "window_s": window, "throughput": stats.sent / window,
        "conversations": stats.conversations, "failed_conversations": stats.failed_conversations,
        "cut_conversations": stats.cut_conversations,
        "p50": statistics.median(latencies), "p95": percentile(latencies, 0.95), "p99": percentile(latencies, 0.99),
        "errors": sum(stats.errors.values()),
        **{f"errors_{k}": stats.errors.get(k, 0) for k in ("http", "timeout", "mismatch", "other")},
        **peak,
    }
    if check is not None:
        figures.update({f"leads_{k}": v for k, v in check.items()})
    return figures


def check_leads(target: Any, bookings: List[Booking], prefix: str) -> Optional[Dict[str, int]]:
    try:
        return integrity(read_leads(target), spooled_senders(target), bookings, [prefix])
    except (subprocess.SubprocessError, ValueError, OSError) as error:
        print(f"  could not read the leads: {type(error).__name__}: {error}", flush=True)
        return None


def run_topology(name: str, counts: List[int], args: argparse.Namespace, mix: Mix, runs: List[Run]) -> None:
    """Start a set-up once, warm it up, then each number of visitors in turn; results go into `runs`."""
    print(f"\n== {name}", flush=True)
    identities = Identities(mix.identities)
    done = 0
    try:
        setup = prepare(name, args.skip_training, args.rasa_workers)
        manager = TOPOLOGIES[name](setup)  # may train (stock) or refuse (Unavailable)
        started = time.perf_counter()
        with manager as target:
            startup = time.perf_counter() - started
            print(f"  up in {startup:.0f} s at {target.url}", flush=True)
            warm = asyncio.run(warm_up(target, mix, args.warmup, identities, args.timeout)) if args.warmup else Stats()
            warm_check = check_leads(target, warm.bookings, "load-warmup-")
            warm_figures = {"startup_s": startup, "warmup_errors": sum(warm.errors.values()),
                            **({"warmup_leads_ok": warm_check["ok"]} if warm_check else {})}
            print(f"  warm-up: {warm.conversations} conversations, {dict(warm.errors) or 'no errors'}, "
                  f"{leads_summary(warm_check)}", flush=True)
            for example in warm.examples:
                print(f"    {example}", flush=True)
            for visitors in counts:
                prefix = f"load-{visitors}v-{uuid.uuid4().hex[:4]}"

                def plan_of() -> Plan:
                    if args.duration:
                        return Plan(None, time.monotonic() + args.duration)
                    return Plan(args.conversations, None)

                stats, peak = asyncio.run(run_load(target, mix, visitors, plan_of, identities, prefix,
                                                   args.seed, args.timeout))
                check = check_leads(target, stats.bookings, prefix)
                run = Run(name, visitors, figures={**summarise(stats, peak, check), **warm_figures},
                          examples=stats.examples)
                runs.append(run)
                done += 1
                report_line(run)
                if done < len(counts):
                    time.sleep(args.pause)
    except Unavailable as why:
        print(f"  not available: {why}", flush=True)
        runs.extend(Run(name, n, f"not available: {why}") for n in counts)
    except KeyboardInterrupt:
        runs.extend(Run(name, n, "interrupted") for n in counts[done:])
        raise
    except Exception as error:  # noqa: BLE001 - one set-up failing must not lose the others' figures
        print(f"  failed: {type(error).__name__}: {error}", flush=True)
        runs.extend(Run(name, n, f"failed: {type(error).__name__}: {error}") for n in counts[done:])


def leads_summary(check: Optional[Dict[str, int]]) -> str:
    if check is None:
        return "leads unchecked"
    problems = ", ".join(f"{check[k]} {k}" for k in ("lost", "spooled", "duplicated", "wrong", "crossed", "unexpected")
                         if check.get(k))
    return f"{check.get('confirmed', 0)} bookings, leads {'OK' if check.get('ok') else 'NOT OK'}" + (
        f" ({problems})" if problems else "")


def report_line(run: Run) -> None:
    f = run.figures
    check = {k[len("leads_"):]: int(v) for k, v in f.items() if k.startswith("leads_")} or None
    print(f"  {run.visitors:>3} visitor{'s' if run.visitors != 1 else ' '}: {f['sent']:.0f} messages"
          f" in {f['window_s']:.1f} s = {f['throughput']:.2f} msg/s, p50 {f['p50']:.0f} ms,"
          f" p95 {f['p95']:.0f} ms, p99 {f['p99']:.0f} ms, {f['errors']:.0f} errors,"
          f" {leads_summary(check)}", flush=True)
    for example in run.examples[:5]:
        print(f"      {example}", flush=True)


# ------------------------------------------------------------------------------------------------- the table

# (label, key, format, ratio against stock is meaningful)
ROWS = [
    ("start-up until serving (s)", "startup_s", "{:.0f}", True),
    ("warm-up errors", "warmup_errors", "{:.0f}", False),
    ("warm-up lead integrity", "warmup_leads_ok", None, False),
    ("messages sent", "sent", "{:.0f}", True),
    ("measured window (s)", "window_s", "{:.1f}", True),
    ("throughput (msg/s)", "throughput", "{:.2f}", True),
    ("latency p50 (ms)", "p50", "{:.0f}", True),
    ("latency p95 (ms)", "p95", "{:.0f}", True),
    ("latency p99 (ms)", "p99", "{:.0f}", True),
    ("conversations (failed, cut at the end)", ("conversations", "failed_conversations", "cut_conversations"),
     "{:.0f} ({:.0f}, {:.0f})", False),
    ("errors", "errors", "{:.0f}", False),
    ("  HTTP status not 200", "errors_http", "{:.0f}", False),
    ("  timeouts", "errors_timeout", "{:.0f}", False),
    ("  wrong reply", "errors_mismatch", "{:.0f}", False),
    ("  other", "errors_other", "{:.0f}", False),
    ("RSS web (MiB)", "rss_web", "{:.0f}", True),
    ("RSS rasa (MiB)", "rss_rasa", "{:.0f}", True),
    ("RSS largest rasa process (MiB)", "rss_rasa_largest", "{:.0f}", True),
    ("RSS actions (MiB)", "rss_actions", "{:.0f}", True),
    ("RSS notifier (MiB)", "rss_notifier", "{:.0f}", True),
    ("RSS PostgreSQL (MiB)", "rss_postgres", "{:.0f}", True),
    ("RSS Redis (MiB)", "rss_redis", "{:.0f}", True),
    ("RSS everything started (MiB)", "rss_all", "{:.0f}", True),
    ("CPU per message: web (ms)", "cpu_web", "{:.1f}", True),
    ("CPU per message: rasa (ms)", "cpu_rasa", "{:.1f}", True),
    ("CPU per message: actions (ms)", "cpu_actions", "{:.1f}", True),
    ("CPU per message: PostgreSQL + Redis (ms)", ("cpu_postgres", "cpu_redis"), "{:.1f} + {:.1f}", False),
    ("CPU per message: everything (ms)", "cpu_all", "{:.1f}", True),
    ("CPU per message: the load generator (ms)", "generator_cpu", "{:.1f}", False),
    ("bookings confirmed", "leads_confirmed", "{:.0f}", False),
    ("  leads with own details", "leads_own", "{:.0f}", False),
    ("  lost", "leads_lost", "{:.0f}", False),
    ("  only in the spool", "leads_spooled", "{:.0f}", False),
    ("  duplicated", "leads_duplicated", "{:.0f}", False),
    ("  with wrong details", "leads_wrong", "{:.0f}", False),
    ("  with another visitor's details", "leads_crossed", "{:.0f}", False),
    ("  unexpected", "leads_unexpected", "{:.0f}", False),
    ("lead integrity", "leads_ok", None, False),
]


def cell(figures: Dict[str, float], key: Any, fmt: Optional[str]) -> str:
    if key in ("leads_ok", "warmup_leads_ok"):
        return ("OK" if figures[key] else "**FAIL**") if key in figures else "unchecked"
    keys = key if isinstance(key, tuple) else (key,)
    if any(k not in figures for k in keys):
        if all(k.startswith("leads_") for k in keys) and "leads_confirmed" in figures:
            return "0"
        return "—"
    return fmt.format(*(figures[k] for k in keys))


def ratio(figures: Dict[str, float], base: Dict[str, float], key: Any) -> str:
    if isinstance(key, tuple) or key not in figures or not base.get(key):
        return "—"
    return f"{figures[key] / base[key]:.2f}×"


def table(runs: List[Run], topologies: List[str], visitors: int, per_visitor: str) -> str:
    by_name = {r.topology: r for r in runs if r.visitors == visitors}
    base = by_name.get("stock")
    base_figures = base.figures if base and base.status == "ran" else None
    columns = []
    for name in topologies:
        columns.append(name)
        if base_figures is not None and name != "stock":
            columns.append(f"{name} ÷ stock")
    lines = [f"### {visitors} concurrent visitor{'s' if visitors != 1 else ''}, {per_visitor}", "",
             "| metric | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    status = []
    for name in topologies:
        run = by_name.get(name)
        status.append("ran" if run and run.status == "ran" else (run.status.split(":")[0] if run else "not run"))
        if base_figures is not None and name != "stock":
            status.append("")
    lines.append("| status | " + " | ".join(status) + " |")
    for label, key, fmt, comparable in ROWS:
        cells = []
        for name in topologies:
            run = by_name.get(name)
            figures = run.figures if run and run.status == "ran" else {}
            cells.append(cell(figures, key, fmt) if figures else "—")
            if base_figures is not None and name != "stock":
                cells.append(ratio(figures, base_figures, key) if comparable and figures else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    notes = [f"- {r.topology}: {r.status}" for r in runs if r.visitors == visitors and r.status != "ran"]
    return "\n".join(lines + ([""] + notes if notes else []))


def git_commit() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
        return out.stdout.strip() + ("+uncommitted changes" if dirty.strip() else "")
    return "unknown"


def report(runs: List[Run], topologies: List[str], counts: List[int], args: argparse.Namespace, mix: Mix) -> str:
    per_visitor = (f"{args.duration:g} s" if args.duration else
                   f"{args.conversations} conversation{'s' if args.conversations != 1 else ''} per visitor")
    total = sum(s.weight for s in mix.scripts)
    shares = ", ".join(f"{s.name} {s.weight / total:.0%}" for s in mix.scripts)
    header = [
        "## Load: concurrent visitors through POST /chat", "",
        f"`python -m {' '.join(['bench.load'] + sys.argv[1:])}` on {dt.datetime.now():%Y-%m-%d %H:%M}, "
        f"commit {git_commit()}, {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB RAM.",
        f"Visitors send one message after the other with no pause (a closed loop), after {args.warmup} warm-up "
        f"round(s) of every conversation; each conversation under a new sender id. "
        f"Mix (bench/load_script.yml): {shares}.",
        "Latency is per message at the client, over the messages that got an HTTP answer; throughput is messages "
        "over the measured window (first message sent to last answer; with a duration, a conversation still going "
        "when the time is up is left there, as a visitor closing the page would). The load generator runs on the "
        "same machine as the servers. RSS is the peak resident memory, sampled every second, summed over a program's "
        "processes and their children (forked workers share pages, so sums overstate). Lead integrity: every "
        "confirmed booking has exactly one lead with its own visitor's name, contact and sender id, and no lead "
        "carries another visitor's details.", ""]
    return "\n".join(header + ["\n\n".join(table(runs, topologies, n, per_visitor) for n in counts)]) + "\n"


# ---------------------------------------------------------------------------------------------------- the CLI

def counts_list(text: str) -> List[int]:
    values = [int(v) for v in re.split(r"[,\s]+", text.strip()) if v]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("visitor counts are positive whole numbers, e.g. 1,10,50")
    return values


def names_list(text: str) -> List[str]:
    names = [v for v in re.split(r"[,\s]+", text.strip()) if v]
    unknown = [n for n in names if n not in TOPOLOGIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"topologies are some of {', '.join(TOPOLOGIES)}; not {unknown}")
    return names


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topologies", type=names_list, default=list(TOPOLOGIES),
                        help=f"set-ups to run, one after the other (default: {','.join(TOPOLOGIES)})")
    parser.add_argument("--visitors", type=counts_list, default=[50], help="concurrent visitors, e.g. 1,10,50")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--duration", type=float, help="seconds each visitor count runs for (default 60)")
    length.add_argument("--conversations", type=int, help="conversations per visitor, instead of a duration")
    parser.add_argument("--warmup", type=int, default=1, help="rounds of every conversation before measuring")
    parser.add_argument("--skip-training", action="store_true",
                        help="reuse var/bench/stock-default.tar.gz if it exists")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a message may take")
    parser.add_argument("--seed", type=int, default=1, help="seed of the visitors' choice of conversations")
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between visitor counts, to settle")
    parser.add_argument("--rasa-workers", type=int, default=2, help="Rasa processes of the production topology")
    parser.add_argument("--script", type=Path, default=SCRIPT, help="the conversations (YAML)")
    args = parser.parse_args(argv)
    if args.duration is None and args.conversations is None:
        args.duration = 60.0
    mix = load_mix(args.script)
    runs: List[Run] = []
    interrupted = False
    try:
        for name in args.topologies:
            run_topology(name, args.visitors, args, mix, runs)
    except KeyboardInterrupt:
        interrupted = True
        print("\nInterrupted: the servers are stopped; the figures so far follow.", flush=True)
        done = {(r.topology, r.visitors) for r in runs}
        runs.extend(Run(n, v, "interrupted") for n in args.topologies for v in args.visitors if (n, v) not in done)
    text = report(runs, args.topologies, args.visitors, args, mix)
    print("\n" + text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps([dataclasses.asdict(r) for r in runs], indent=2))
    print(f"Written to {RESULTS.relative_to(ROOT)} (raw figures: {(OUT / 'results.json').relative_to(ROOT)}).")
    if interrupted:
        return 130
    ran = [r for r in runs if r.status == "ran"]
    return 0 if ran and all(r.figures.get("leads_ok", 1) and r.figures.get("warmup_leads_ok", 1) for r in ran) else 1


if __name__ == "__main__":
    sys.exit(main())
