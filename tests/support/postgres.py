"""A throwaway PostgreSQL server on a free local port, from Debian's postgresql package."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from typing import Iterator, List

from tests.support.servers import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's postgresql package")
    return found[-1]


def _as_postgres(command: List[str]) -> List[str]:
    # initdb refuses to run as root; CI runs as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Cluster:
    """A PostgreSQL cluster in a temporary folder that a test can stop and start again."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="medius-pg-")
        self.data = os.path.join(self.folder, "data")
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self.port = free_port()
        self.url = f"postgresql+psycopg2://medius@127.0.0.1:{self.port}/postgres"
        subprocess.run(_as_postgres([_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "medius", "--no-sync"]),
                       check=True, capture_output=True)

    def start(self) -> None:
        subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", self.data, "-w", "-l", os.path.join(self.folder, "log"),
                                     "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                                           f"-c fsync=off", "start"]), check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "stop"]), capture_output=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def postgres_cluster() -> Iterator[Cluster]:
    """A started cluster; stopped and deleted afterwards."""
    cluster = Cluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a fresh cluster; yield its SQLAlchemy URL; stop and delete it afterwards."""
    with postgres_cluster() as cluster:
        yield cluster.url
