"""Start Medius as `make run` does (supervisord and supervisord.conf) on free local ports, for tests and benchmarks."""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import psutil
import requests

from bot.core.paths import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


MARKERS = {"web": "bot web", "rasa": "rasa run --model", "actions": "bot actions", "notifier": "bot notify"}


@dataclass
class Assistant:
    url: str                 # the one public port: the web server
    supervisor: subprocess.Popen
    ports: Dict[str, int]
    env: Dict[str, str]
    # One kept-alive connection per thread for send(), as the widget's browser keeps one: a new
    # connection each message (requests.post) added its set-up to every turn bench.turn timed.
    _sessions: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def chat_url(self) -> str:
        return f"{self.url}/chat"

    @property
    def api_token(self) -> str:
        return self.env["MEDIUS_API_TOKEN"]

    def send(self, sender: str, message: str, metadata: Optional[Dict[str, Any]] = None,
             timeout: float = 60) -> List[Dict[str, Any]]:
        """One message through the public chat endpoint, as a server holding the API token; the bot's replies."""
        body: Dict[str, Any] = {"sender": sender, "message": message}
        if metadata is not None:
            body["metadata"] = metadata
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = requests.Session()
        response = session.post(self.chat_url, json=body, timeout=timeout,
                                headers={"Authorization": f"Bearer {self.api_token}"})
        response.raise_for_status()
        return response.json()

    def post(self, body: Any, timeout: float = 60, **kwargs: Any) -> requests.Response:
        """A raw POST to the chat endpoint, for checks of what it refuses."""
        if isinstance(body, (bytes, str)):
            return requests.post(self.chat_url, data=body, timeout=timeout, **kwargs)
        return requests.post(self.chat_url, json=body, timeout=timeout, **kwargs)

    def processes(self, name: str) -> List[psutil.Process]:
        """The running processes of a program of supervisord.conf ("web", "rasa", "actions", "notifier")."""
        found = []
        for child in psutil.Process(self.supervisor.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if MARKERS[name] in " ".join(child.cmdline()) and "/bin/sh" not in child.cmdline()[0]:
                    found.append(child)
        return found

    def process(self, name: str) -> psutil.Process:
        """The (first) running process of a program."""
        found = self.processes(name)
        if not found:
            raise LookupError(f"no {name} process running")
        return min(found, key=lambda p: p.create_time())

    def alive(self) -> bool:
        return self.supervisor.poll() is None

    def up(self) -> bool:
        """The web server answers and says Rasa does too."""
        with contextlib.suppress(requests.RequestException, ValueError):
            return requests.get(f"{self.url}/healthz", timeout=3).json()["assistant"] == "up"
        return False

    def all_up(self) -> bool:
        """The web server answers and says every Rasa process does too."""
        with contextlib.suppress(requests.RequestException, ValueError, KeyError):
            return set(requests.get(f"{self.url}/healthz", timeout=3).json()["assistant_processes"]) == {"up"}
        return False

    def serving(self, name: str) -> bool:
        """Whether a program answers again (the notifier has no port: running is enough)."""
        if name == "actions":
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"http://127.0.0.1:{self.ports['actions']}/health", timeout=3).ok
            return False
        return self.all_up() if name in ("web", "rasa") else True

    def kill(self, name: str, timeout: float = 240) -> None:
        """Kill a program's process (SIGKILL, as a crash would) and wait until supervisord has it back and up."""
        before = self.process(name)
        before.kill()
        before.wait(timeout=30)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(LookupError):
                if self.process(name).pid != before.pid and self.serving(name):
                    return
            time.sleep(0.5)
        raise TimeoutError(f"{name} did not come back after it was killed")


def _wait_until_up(check: Callable[[], bool], supervisor: subprocess.Popen, deadline: float, what: str) -> None:
    while time.monotonic() < deadline:
        if supervisor.poll() is not None:
            raise RuntimeError(f"Medius stopped (supervisord exited with {supervisor.returncode}) before {what} was up")
        with contextlib.suppress(requests.RequestException, ValueError):
            if check():
                return
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not come up")


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports (Rasa's processes listen on RASA_PORT, RASA_PORT+1, ...)."""
    while True:
        first = free_port()
        try:
            with contextlib.ExitStack() as stack:
                for port in range(first + 1, first + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue


def _private_folder(folder: Path) -> None:
    """A folder for logs (under var/ as a rule): its owner's alone, as the product keeps var/."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for made in (folder, *[p for p in folder.parents if p == ROOT / "var" or ROOT / "var" in p.parents]):
        made.chmod(0o700)


def _private_log(path: Path):
    """A log file only its owner can read, whatever the test process's umask."""
    log = open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
    os.chmod(path, 0o600)  # an older run's log keeps its mode through O_CREAT
    return log


@contextlib.contextmanager
def running_assistant(model: Path, log_dir: Path, startup_timeout: float = 240,
                      env: Optional[Dict[str, str]] = None, notifier: bool = False, topology: str = "embedded",
                      rasa_workers: int = 2, action_workers: int = 2) -> Iterator[Assistant]:
    """The product as `make run` starts it (supervisord.conf, same commands), on free ports, logs in log_dir.

    `env` adds settings (e.g. DATABASE_URL of a test database) for every process, and
    wins over the defaults here (e.g. ACTION_SERVER_URL through a test's own proxy).
    The notifier runs only when asked for. topology="production" is `make run-prod`:
    `rasa_workers` Rasa processes, `action_workers` action-server workers, PostgreSQL
    and Redis of its own under log_dir (unless `env` names servers), stopped afterwards.
    """
    from bot.ops.topology import cluster_folder, production_env, stop_local_services

    _private_folder(log_dir)
    production = topology == "production"
    workers = rasa_workers if production else 1
    ports = {"web": free_port(), "rasa": free_ports(workers), "actions": free_port()}
    overrides = env or {}
    env = dict(os.environ)
    env.update(
        WEB_PORT=str(ports["web"]), WEB_HOST="127.0.0.1", RASA_PORT=str(ports["rasa"]),
        ACTION_PORT=str(ports["actions"]),
        ACTION_SERVER_URL=f"http://127.0.0.1:{ports['actions']}/webhook",
        MEDIUS_RASA_URL=f"http://127.0.0.1:{ports['rasa']}",
        MEDIUS_INTERNAL_TOKEN=secrets.token_urlsafe(32), MEDIUS_API_TOKEN=secrets.token_urlsafe(32),
        MEDIUS_ENDPOINTS="endpoints.yml", RASA_WORKERS="1", ACTION_WORKERS="1",
        MEDIUS_NOTIFIER="true" if notifier else "false",
        RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
        LOCAL_POSTGRES_PORT=str(free_port()), LOCAL_REDIS_PORT=str(free_port()))
    env.update(overrides)
    services = log_dir / "services"
    if production:
        env = production_env(env, rasa_workers, action_workers, var=services)
        from bot.store.db import migrate
        migrate(env["DATABASE_URL"])
    env.setdefault("CONVERSATIONS_DATABASE_URL", f"sqlite:///{log_dir / 'conversations.db'}")
    env["MEDIUS_MODEL"] = str(model)
    run_dir = Path(tempfile.mkdtemp(prefix="medius-run-"))
    env["MEDIUS_RUN_DIR"] = str(run_dir)
    # `python -m bot run`, as `make run`: it becomes supervisord (the same pid) once it has tightened var/.
    with _private_log(log_dir / "medius.log") as log:
        supervisor = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        assistant = Assistant(f"http://127.0.0.1:{ports['web']}", supervisor, ports, env)
        try:
            deadline = time.monotonic() + startup_timeout
            _wait_until_up(lambda: requests.get(f"http://127.0.0.1:{ports['actions']}/health", timeout=3).ok,
                           supervisor, deadline, "the action server")
            _wait_until_up(assistant.all_up, supervisor, deadline, "the assistant")
            yield assistant
        finally:
            supervisor.terminate()
            try:
                supervisor.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(supervisor.pid, 9)
                supervisor.wait()
            shutil.rmtree(run_dir, ignore_errors=True)
            if production:
                stop_local_services(services)
                shutil.rmtree(cluster_folder(services / "postgres"), ignore_errors=True)


class WebServer:
    """The widget's web app served by a real uvicorn on a local port, in a thread."""

    def __init__(self, app, port: int):
        import uvicorn

        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    ws="none", lifespan="on"))  # as `python -m bot web`
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 60  # the first app of a run loads spaCy's tables: >10 s on busy cores
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"web server on {self.url} did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
