"""Start Medius as `make run` does (honcho and the Procfile) on free local ports, for tests and benchmarks."""
from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import psutil
import requests

from bot.paths import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PROCESSES = ("web", "rasa", "actions")  # the Procfile's servers; the notifier is run by the tests that need it


@dataclass
class Assistant:
    url: str                 # the one public port: the web server
    honcho: subprocess.Popen
    ports: Dict[str, int]
    env: Dict[str, str]

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
        response = self.post(body, timeout=timeout, headers={"Authorization": f"Bearer {self.api_token}"})
        response.raise_for_status()
        return response.json()

    def post(self, body: Any, timeout: float = 60, **kwargs: Any) -> requests.Response:
        """A raw POST to the chat endpoint, for checks of what it refuses."""
        if isinstance(body, (bytes, str)):
            return requests.post(self.chat_url, data=body, timeout=timeout, **kwargs)
        return requests.post(self.chat_url, json=body, timeout=timeout, **kwargs)

    def process(self, name: str) -> psutil.Process:
        """The running server process of a Procfile entry ("web", "rasa", "actions")."""
        marker = {"web": "bot web", "rasa": "rasa run --model", "actions": "bot actions"}[name]
        for child in psutil.Process(self.honcho.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if marker in " ".join(child.cmdline()) and "/bin/sh" not in child.cmdline()[0]:
                    return child
        raise LookupError(f"no {name} process running")

    def alive(self) -> bool:
        return self.honcho.poll() is None


def _wait_until_up(check: Callable[[], bool], honcho: subprocess.Popen, deadline: float, what: str) -> None:
    while time.monotonic() < deadline:
        if honcho.poll() is not None:
            raise RuntimeError(f"Medius stopped (honcho exited with {honcho.returncode}) before {what} was up")
        with contextlib.suppress(requests.RequestException, ValueError):
            if check():
                return
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not come up")


@contextlib.contextmanager
def running_assistant(model: Path, log_dir: Path, startup_timeout: float = 240,
                      env: Optional[Dict[str, str]] = None,
                      processes: Tuple[str, ...] = PROCESSES) -> Iterator[Assistant]:
    """The product as `make run` starts it (same Procfile, same commands), on free ports, logs in log_dir.

    `env` adds settings (e.g. DATABASE_URL of a test database) for every process, and
    wins over the defaults here (e.g. ACTION_SERVER_URL through a test's own proxy).
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    ports = {"web": free_port(), "rasa": free_port(), "actions": free_port()}
    overrides = env or {}
    env = dict(os.environ)
    env.update(
        WEB_PORT=str(ports["web"]), RASA_PORT=str(ports["rasa"]), ACTION_PORT=str(ports["actions"]),
        ACTION_SERVER_URL=f"http://127.0.0.1:{ports['actions']}/webhook",
        MEDIUS_RASA_URL=f"http://127.0.0.1:{ports['rasa']}",
        MEDIUS_INTERNAL_TOKEN=secrets.token_urlsafe(32), MEDIUS_API_TOKEN=secrets.token_urlsafe(32),
        RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.update(overrides)
    env.setdefault("CONVERSATIONS_DATABASE_URL", f"sqlite:///{log_dir / 'conversations.db'}")
    env["MEDIUS_MODEL"] = str(model)
    honcho_bin = str(Path(sys.executable).with_name("honcho"))
    with open(log_dir / "medius.log", "wb") as log:
        honcho = subprocess.Popen([honcho_bin, "start", "-f", "Procfile", "--no-colour", *processes],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        assistant = Assistant(f"http://127.0.0.1:{ports['web']}", honcho, ports, env)
        try:
            deadline = time.monotonic() + startup_timeout
            if "actions" in processes:
                _wait_until_up(lambda: requests.get(f"http://127.0.0.1:{ports['actions']}/health", timeout=3).ok,
                               honcho, deadline, "the action server")
            _wait_until_up(lambda: requests.get(f"{assistant.url}/healthz", timeout=3).json()["assistant"] == "up",
                           honcho, deadline, "the assistant")
            yield assistant
        finally:
            honcho.terminate()
            try:
                honcho.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(honcho.pid, 9)
                honcho.wait()


class WebServer:
    """The widget's web app served by a real uvicorn on a local port, in a thread."""

    def __init__(self, app, port: int):
        import uvicorn

        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    ws="none", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"web server on {self.url} did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
