"""Database servers a test starts, owns, stops and throws away: never the machine's own.

`PrivateCluster` drives `deploy/local/citus.sh` on a data directory and free ports of its own:
one plain PostgreSQL server (`plain=True`), or a Citus coordinator with workers. Fault tests
stop and start its nodes; everything else on the machine keeps running.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from services.persistence import citus

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "local" / "citus.sh"
# Ports tried for private clusters: away from the machine's services and the shared cluster.
PORT_RANGE = (20000, 30000)
START_TIMEOUT_SECONDS = 900  # the first start on a fresh machine builds Citus


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> int:
    """The first of `count` consecutive ports that nothing listens on."""
    for _ in range(200):
        base = random.randrange(*PORT_RANGE)
        if all(_free(base + k) for k in range(count)):
            return base
    raise RuntimeError("no free ports for a private cluster")


class PrivateCluster:
    """A PostgreSQL server (or a Citus cluster) in a directory and on ports of its own."""

    def __init__(self, *, plain: bool, workers: int = 2) -> None:
        self.plain = plain
        self.workers = 0 if plain else workers
        self.port = free_ports(1 + self.workers)
        self.dir = Path(tempfile.mkdtemp(prefix="balkort-cluster-", dir="/tmp"))

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> None:
        options = ["--dir", str(self.dir), "--port", str(self.port), "--workers", str(self.workers)]
        if self.plain:
            options.append("--plain")
        done = subprocess.run(
            ["bash", str(SCRIPT), *args, *options],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"citus.sh {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
            )

    def start(self) -> None:
        self._run("start", timeout=START_TIMEOUT_SECONDS)

    def destroy(self) -> None:
        self._run("destroy")
        shutil.rmtree(self.dir, ignore_errors=True)

    def stop_node(self, name: str) -> None:
        """Stops one node (`coordinator`, `worker1`, ...) at once (fast shutdown)."""
        self._run("node", "stop", name)

    def start_node(self, name: str) -> None:
        self._run("node", "start", name)

    def node_port(self, name: str) -> int:
        return self.port if name == "coordinator" else self.port + int(name.removeprefix("worker"))

    def worker_named(self, node: citus.Node) -> str:
        return f"worker{node.port - self.port}"

    def create_database(self, name: str) -> str:
        """A database on this cluster (on every node, registered, when it is Citus)."""
        return citus.create_database(self.admin_url, name)

    def connect(self, url: str) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)


@contextmanager
def private_cluster(*, plain: bool, workers: int = 2) -> Iterator[PrivateCluster]:
    """A started cluster, destroyed (data included) afterwards whatever happened."""
    cluster = PrivateCluster(plain=plain, workers=workers)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
