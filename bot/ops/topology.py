"""The production topology on one machine (`make run-prod`): its settings, and PostgreSQL and Redis
started on loopback when .env names no server.

Several Rasa processes (ports RASA_PORT, RASA_PORT+1, ...) behind the web
server, several action-server workers, the notifier, all under supervisord
(supervisord.conf), with conversations and leads in PostgreSQL and Rasa's lock
store in Redis. Local servers keep their data and a generated password under
var/ (as root, PostgreSQL's data in the postgres user's home: var/ is root's
alone, and PostgreSQL refuses to run as root); they listen on 127.0.0.1 only and outlive `make run-prod`, as a managed
service would.
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Mapping

from sqlalchemy.engine import make_url

from bot.core.paths import ROOT

ENDPOINTS = "endpoints-prod.yml"


def _secret(path: Path) -> str:
    """A password made once and kept in a file only its owner can read."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        old = os.umask(0o077)
        try:
            path.write_text(secrets.token_urlsafe(24))
        finally:
            os.umask(old)
    return path.read_text().strip()


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise SystemExit("PostgreSQL is not installed: run `make system-deps` (Debian's postgresql).")
    return found[-1]


def _as_postgres(command: List[str]) -> List[str]:
    """PostgreSQL refuses to run as root: as root, run it as Debian's postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def cluster_folder(folder: Path) -> Path:
    """Where the cluster meant for `folder` lives. As root PostgreSQL runs as the postgres user, who
    cannot reach into var/ (0700, root's own): the cluster then lives in that user's home, one folder
    per `folder`, still readable by nobody else."""
    if os.geteuid() != 0:
        return folder
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return Path(pwd.getpwnam("postgres").pw_dir) / "medius" / key


def local_postgres(folder: Path, port: int) -> str:
    """A PostgreSQL cluster for `folder` on 127.0.0.1:port, made and started if need be; its SQLAlchemy URL."""
    password = _secret(folder.parent / f"{folder.name}-password")
    folder = cluster_folder(folder)
    data = folder / "data"
    url = f"postgresql+psycopg2://medius:{password}@127.0.0.1:{port}/postgres"
    if not (data / "PG_VERSION").exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        pwfile = folder / "initdb-password"
        pwfile.write_text(password)
        if os.geteuid() == 0:
            for path in (folder.parent, folder, pwfile):  # the postgres user's own, all the way down
                shutil.chown(path, "postgres", "postgres")
        pwfile.chmod(0o600)
        try:
            made = subprocess.run(_as_postgres([_postgres_bin("initdb"), "-D", str(data), "-U", "medius",
                                                "--auth=scram-sha-256", f"--pwfile={pwfile}"]),
                                  capture_output=True, text=True)
        finally:
            pwfile.unlink()
        if made.returncode != 0:
            raise SystemExit(f"Could not make a PostgreSQL cluster in {folder} (its folders must be open to "
                             f"the postgres user): {made.stderr.strip()}")
    status = subprocess.run(_as_postgres([_postgres_bin("pg_ctl"), "-D", str(data), "status"]), capture_output=True)
    if status.returncode != 0:
        subprocess.run(_as_postgres([_postgres_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"),
                                     "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"]),
                       check=True, capture_output=True, umask=0o077)  # its log the owner's, whoever calls
    return url


def local_redis(folder: Path, port: int) -> str:
    """A Redis server on 127.0.0.1:port (locks only: nothing saved to disk), started if need be; its URL."""
    import redis

    password = _secret(folder.parent / f"{folder.name}-password")
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        redis.StrictRedis.from_url(url, socket_connect_timeout=1).ping()
        return url
    except redis.RedisError:
        pass
    if not shutil.which("redis-server"):
        raise SystemExit("Redis is not installed: run `make system-deps` (Debian's redis-server).")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = folder / "redis.conf"
    old = os.umask(0o077)
    try:  # the password in a file, not on a command line anyone can read
        config.write_text(f"bind 127.0.0.1\nport {port}\nrequirepass {password}\nsave \"\"\nappendonly no\n"
                          f"daemonize yes\ndir {folder}\npidfile {folder / 'redis.pid'}\nlogfile {folder / 'log'}\n")
    finally:
        os.umask(old)
    subprocess.run(["redis-server", str(config)], check=True, capture_output=True, umask=0o077)  # its log, pid
    deadline = time.monotonic() + 20
    while True:
        try:
            redis.StrictRedis.from_url(url, socket_connect_timeout=1).ping()
            return url
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def production_env(env: Mapping[str, str], rasa_workers: int, action_workers: int,
                   var: Path = ROOT / "var") -> Dict[str, str]:
    """The settings of the production topology over `env`, starting local servers where no URL is given."""
    result = dict(env)
    if not make_url(result.get("DATABASE_URL") or "sqlite://").drivername.startswith("postgresql"):
        result["DATABASE_URL"] = local_postgres(var / "postgres", int(result.get("LOCAL_POSTGRES_PORT") or 5433))
    if not (result.get("CONVERSATIONS_DATABASE_URL") or "").strip():
        result["CONVERSATIONS_DATABASE_URL"] = result["DATABASE_URL"]
    if not (result.get("REDIS_URL") or "").strip():
        result["REDIS_URL"] = local_redis(var / "redis", int(result.get("LOCAL_REDIS_PORT") or 6380))
    rasa_port = int(result.get("RASA_PORT") or 5005)
    result.update(
        RASA_WORKERS=str(rasa_workers), ACTION_WORKERS=str(action_workers), MEDIUS_ENDPOINTS=ENDPOINTS,
        MEDIUS_RASA_URL=",".join(f"http://127.0.0.1:{rasa_port + n}" for n in range(rasa_workers)))
    return result


def stop_local_services(var: Path) -> None:
    """Stop the PostgreSQL and Redis that local_postgres and local_redis started under `var`."""
    data = cluster_folder(var / "postgres") / "data"
    if (data / "PG_VERSION").exists():
        subprocess.run(_as_postgres([_postgres_bin("pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                       capture_output=True)
    pidfile = var / "redis" / "redis.pid"
    if pidfile.exists():
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
