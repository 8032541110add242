"""The production image: built by deploy/build-image.sh (`make image`), then each component started in it
with the command its manifest in deploy/ gives, as user 10001, against a local PostgreSQL and Redis.

The migration Job brings the database to Alembic's head; the action server, Rasa and the web server
answer their readiness probes (Rasa once its model is loaded); a visitor's message goes through all
three; the notifier keeps going round against the database. Only the ports differ from the manifests:
the processes share this machine's network (buildah's chroot isolation), so each gets a free one.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import requests
import yaml

from tests.support.postgres import postgres_server
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MODEL = ROOT / "models" / "medius.tar.gz"
USER = "10001:10001"  # the manifests' runAsUser and runAsGroup

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(3600),  # a first build on a new machine makes the base and fetches every wheel
    pytest.mark.skipif(os.geteuid() != 0, reason="buildah with the vfs driver builds and runs images as root"),
]


def buildah(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["buildah", "--storage-driver", "vfs", *args], check=True, capture_output=True,
                          text=True, **kwargs)


def manifest_containers() -> Dict[str, dict]:
    """Each component's container, as deploy/*.yaml declares it (Deployments and the migration Job)."""
    found = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] in ("Deployment", "Job"):
                [container] = doc["spec"]["template"]["spec"]["containers"]
                found[doc["metadata"]["labels"]["app.kubernetes.io/component"]] = container
    return found


def with_port(command: List[str], port: int) -> List[str]:
    """The manifest's command, listening on `port` instead of its fixed one."""
    index = command.index("--port")
    return [*command[:index + 1], str(port), *command[index + 2:]]


@pytest.fixture(scope="module")
def image() -> str:
    """The image as `make image` builds it, named as the manifests name it."""
    if shutil.which("buildah") is None or shutil.which("debootstrap") is None:
        pytest.fail("buildah and debootstrap are missing: `make system-deps` installs them")
    if not MODEL.exists():
        pytest.fail("no trained model: run `make test`, which trains it first")
    started = time.monotonic()
    built = subprocess.run([str(DEPLOY / "build-image.sh")], cwd=ROOT, capture_output=True, text=True, timeout=3000)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    print(f"\n{built.stdout.strip()}\nimage built in {time.monotonic() - started:.0f} s")
    [name] = {container["image"] for container in manifest_containers().values()}
    assert name in built.stdout
    return name


@pytest.fixture(scope="module")
def container(image) -> Iterator[str]:
    """One working container of the image; every component runs in it, as separate processes."""
    name = f"medius-image-test-{secrets.token_hex(4)}"
    buildah("from", "--pull-never", "--name", name, image, timeout=900)
    try:
        yield name
    finally:
        subprocess.run(["buildah", "--storage-driver", "vfs", "rm", name], capture_output=True)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                               "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def environment(redis_url) -> Iterator[Dict[str, str]]:
    """What the pods get: the ConfigMap, and the Secret's keys pointing at local servers."""
    [config] = [doc for doc in yaml.safe_load_all((DEPLOY / "configmap.yaml").read_text()) if doc]
    with postgres_server() as database:
        yield {**config["data"], "DATABASE_URL": database, "CONVERSATIONS_DATABASE_URL": database,
               "REDIS_URL": redis_url, "MEDIUS_INTERNAL_TOKEN": secrets.token_urlsafe(32),
               "MEDIUS_API_TOKEN": secrets.token_urlsafe(32)}


def env_options(env: Dict[str, str]) -> List[str]:
    return [option for key, value in env.items() for option in ("--env", f"{key}={value}")]


class Started:
    """A component's command running in the container (buildah run), its output in a log file."""

    def __init__(self, container: str, command: List[str], env: Dict[str, str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as output:
            self.process = subprocess.Popen(
                ["buildah", "--storage-driver", "vfs", "run", "--isolation", "chroot", "--network", "host",
                 "--user", USER, *env_options(env), container, "--", *command],
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, url: str, timeout: float, ok=lambda response: response.ok) -> requests.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"exited with {self.process.returncode}:\n{self.output()[-4000:]}"
            with contextlib.suppress(requests.RequestException):
                response = requests.get(url, timeout=5)
                if ok(response):
                    return response
            time.sleep(1)
        pytest.fail(f"{url} did not answer within {timeout:.0f} s:\n{self.output()[-4000:]}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 15)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 9)
            self.process.wait(timeout=30)


def test_the_image_runs_every_component_as_its_manifest_says(container, environment, tmp_path):
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine, text

    manifests = manifest_containers()
    assert set(manifests) == {"web", "rasa", "actions", "notifier", "migrate"}
    # Built as its user: not root, and the one place it may write is /app/var (and /tmp, HOME).
    whoami = buildah("run", "--isolation", "chroot", "--user", USER, container, "--",
                     "python", "-c", "import os, pathlib; print(os.getuid(), os.getcwd());"
                     "pathlib.Path('var/probe').touch(); pathlib.Path('var/probe').unlink();"
                     "print(os.access('/app/bot', os.W_OK), os.access('/opt/python/lib', os.W_OK))")
    assert whoami.stdout.split() == ["10001", "/app", "False", "False"]
    # The image carries the runtime packages only: no test tools.
    listed = buildah("run", "--isolation", "chroot", container, "--", "python", "-m", "pip", "list",
                     "--format=freeze").stdout.lower()
    assert "rasa==3.6.21" in listed and not re.search(r"^(pytest|playwright|trustme|aiosmtpd|mypy)==", listed, re.M)

    # The migration Job's command: the database at Alembic's head afterwards.
    migrate = subprocess.run(["buildah", "--storage-driver", "vfs", "run", "--isolation", "chroot", "--network",
                              "host", "--user", USER, *env_options(environment), container, "--",
                              *manifests["migrate"]["command"]], capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    engine = create_engine(environment["DATABASE_URL"])
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    alembic = Config(str(ROOT / "alembic.ini"))
    alembic.set_main_option("script_location", str(ROOT / "migrations"))
    assert version == ScriptDirectory.from_config(alembic).get_current_head()

    ports = {name: free_port() for name in ("web", "rasa", "actions")}
    env = {**environment, "MEDIUS_RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
           "ACTION_SERVER_URL": f"http://127.0.0.1:{ports['actions']}/webhook"}
    started: Dict[str, Started] = {}
    try:
        for name in ("actions", "rasa", "web"):
            command = with_port(manifests[name]["command"], ports[name])
            started[name] = Started(container, command, env, tmp_path / f"{name}.log")
        started["notifier"] = Started(container, manifests["notifier"]["command"], env, tmp_path / "notifier.log")

        def probe(name: str) -> str:
            return f"http://127.0.0.1:{ports[name]}{manifests[name]['readinessProbe']['httpGet']['path']}"

        began = time.monotonic()
        started["actions"].wait_for(probe("actions"), timeout=180)
        started["rasa"].wait_for(probe("rasa"), timeout=420)  # the model is loaded before Rasa listens
        print(f"\nRasa ready {time.monotonic() - began:.0f} s after it was started in the image")
        health = started["web"].wait_for(probe("web"), timeout=120,
                                         ok=lambda response: response.ok and response.json().get("assistant") == "up")
        assert health.json()["assistant"] == "up"

        # A visitor's question through the web server, Rasa (its PostgreSQL tracker store, its Redis
        # locks) and the action server, whose action answers it.
        reply = requests.post(f"http://127.0.0.1:{ports['web']}/chat", timeout=120,
                              json={"sender": "image-test", "message": "what is the gluteus medius"},
                              headers={"Authorization": f"Bearer {env['MEDIUS_API_TOKEN']}"})
        assert reply.status_code == 200, reply.text
        assert [message for message in reply.json() if message.get("text")], reply.json()
        engine = create_engine(environment["CONVERSATIONS_DATABASE_URL"])
        with engine.connect() as connection:
            actions = connection.execute(text("SELECT action_name FROM events WHERE type_name = 'action'")).scalars()
            assert "action_answer_faq" in set(actions)
        engine.dispose()

        time.sleep(12)  # two rounds of the notifier's loop (5 s apart)
        notifier = started["notifier"]
        assert notifier.process.poll() is None, notifier.output()[-4000:]
        assert "round failed" not in notifier.output(), notifier.output()[-4000:]
        for name, process in started.items():
            assert process.process.poll() is None, f"{name} exited:\n{process.output()[-4000:]}"
    finally:
        for process in started.values():
            process.stop()
