"""Start the real Rasa server and action server on free local ports, for tests and benchmarks."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import requests

from bot.data import clinics_for
from bot.paths import ROOT
from bot.settings import settings_from


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Assistant:
    url: str
    rasa: subprocess.Popen
    actions: subprocess.Popen

    def send(self, sender: str, message: str, metadata: Optional[Dict[str, Any]] = None,
             timeout: float = 60) -> List[Dict[str, Any]]:
        """One visitor message over the widget channel; the bot's replies."""
        body: Dict[str, Any] = {"sender": sender, "message": message}
        if metadata is not None:
            body["metadata"] = metadata
        response = self.post(body, timeout=timeout)
        response.raise_for_status()
        return response.json()

    @property
    def chat_url(self) -> str:
        return f"{self.url}/webhooks/widget/webhook"

    def post(self, body: Any, timeout: float = 60, **kwargs: Any) -> requests.Response:
        """A raw POST to the chat endpoint, for checks of what it refuses."""
        if isinstance(body, (bytes, str)):
            return requests.post(self.chat_url, data=body, timeout=timeout, **kwargs)
        return requests.post(self.chat_url, json=body, timeout=timeout, **kwargs)


def _wait_until_up(url: str, processes: List[subprocess.Popen], deadline: float) -> None:
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[2:4]} exited with {process.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up")


def cors_origins(env: Dict[str, str]) -> List[str]:
    """The websites Rasa lets browsers call it from: every clinic's allowed origins."""
    return list(clinics_for(settings_from(env)).allowed_origins())


@contextlib.contextmanager
def running_assistant(model: Path, log_dir: Path, startup_timeout: float = 240,
                      env: Optional[Dict[str, str]] = None) -> Iterator[Assistant]:
    """The assistant as `make run` starts it, but on free ports, with logs in log_dir.

    `env` adds settings (e.g. DATABASE_URL of a test database) for both servers.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    rasa_port, action_port = free_port(), free_port()
    env = dict(os.environ, **(env or {}), ACTION_SERVER_URL=f"http://127.0.0.1:{action_port}/webhook",
               RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    rasa_bin = str(Path(sys.executable).with_name("rasa"))
    with open(log_dir / "actions.log", "wb") as action_log, open(log_dir / "rasa.log", "wb") as rasa_log:
        actions = subprocess.Popen(
            [rasa_bin, "run", "actions", "--actions", "actions", "--port", str(action_port)],
            cwd=ROOT, env=env, stdout=action_log, stderr=subprocess.STDOUT)
        rasa = subprocess.Popen(
            [rasa_bin, "run", "--model", str(model), "--port", str(rasa_port), "--enable-api",
             "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
             "--cors", *cors_origins(env)],
            cwd=ROOT, env=env, stdout=rasa_log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + startup_timeout
            _wait_until_up(f"http://127.0.0.1:{action_port}/health", [actions], deadline)
            _wait_until_up(f"http://127.0.0.1:{rasa_port}/status", [rasa, actions], deadline)
            yield Assistant(f"http://127.0.0.1:{rasa_port}", rasa, actions)
        finally:
            for process in (rasa, actions):
                process.terminate()
            for process in (rasa, actions):
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


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
