"""A real Ray cluster of two nodes on this machine, for the ``--engine ray`` tests and the
benchmark: a head (``ray start --head --block``) and a second node (``ray start --address
... --block``), each the leader of its own :class:`ProcessGroup`, small (``--num-cpus``,
``--object-store-memory``), without the dashboard, usage stats or token authentication.
Ray will not use a loopback address for a node (it resolves 127.0.0.1 to the machine's own
address), so the nodes talk over this machine's own address: nothing leaves the machine.

Every Ray process of a node (GCS, raylet, agents, actors, and the worker processes that
replicas start) descends from its ``ray start`` process, so :meth:`RayNode.stop` ends all of
them, and the process groups' watchdogs end them if the test process dies. Ports are chosen
free (a second node on one machine must not reuse the head's fixed default ports). The
temporary directory is short: Ray's socket paths must fit in 107 bytes.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.process_group import ProcessGroup, descendants
from tests.support.torchserve import free_ports

RAY = Path(sys.executable).with_name("ray")
#: Fast Ray Serve reactions for tests: autoscaling metrics pushed twice a second.
FAST_SERVE_ENV = {
    "RAY_SERVE_REPLICA_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "0.5",
    "RAY_SERVE_HANDLE_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "0.5",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DISABLE_FAILURE_SIGNAL_HANDLER": "1",
    "RAY_AUTH_MODE": "disabled",
}


class RayClusterError(RuntimeError):
    """A node did not start."""


@dataclass
class RayNode:
    """One ``ray start --block`` process tree."""

    name: str
    group: ProcessGroup
    log: Path

    def pids(self) -> set[int]:
        """Every live process of the node (its leader and all descendants)."""
        return {self.group.pid, *descendants(self.group.pid)}

    def started(self) -> bool:
        """True once ``ray start`` has said the node runs."""
        return self.log.exists() and "Ray runtime started." in self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.group.exit_code() is None

    def stop(self, grace: float = 10.0) -> None:
        """Stop the node (SIGTERM: Ray drains it; SIGKILL after *grace* seconds)."""
        self.group.stop(grace=grace)


class RayCluster:
    """A head and a second node (see the module docstring); always :meth:`stop` it."""

    def __init__(self, root: Path, env: Mapping[str, str], cpus: int) -> None:
        self.root = root
        self.temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
        self.env = {**env, **FAST_SERVE_ENV}
        self.cpus = cpus
        self.gcs_port, client_port = free_ports(2)
        self.address = f"127.0.0.1:{self.gcs_port}"
        self.nodes: list[RayNode] = []
        self._client_port = client_port

    @classmethod
    def start(cls, root: Path, env: Mapping[str, str], cpus: int = 4) -> RayCluster:
        """Start the head and the second node; each declares *cpus* logical CPUs."""
        root.mkdir(parents=True, exist_ok=True)
        cluster = cls(root, env, cpus)
        try:
            cluster.nodes.append(cluster._start_node("head"))
            cluster.wait_nodes(1)
            cluster.nodes.append(cluster._start_node("second"))
            cluster.wait_nodes(2)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    @property
    def head(self) -> RayNode:
        return self.nodes[0]

    @property
    def second(self) -> RayNode:
        return self.nodes[1]

    def _start_node(self, name: str) -> RayNode:
        metrics, agent, manager, objects, runtime_env = free_ports(5)
        argv = [
            str(RAY),
            "start",
            "--block",
            "--disable-usage-stats",
            f"--num-cpus={self.cpus}",
            "--num-gpus=0",
            f"--object-store-memory={80 * 1024 * 1024}",
            f"--metrics-export-port={metrics}",
            f"--dashboard-agent-listen-port={agent}",
            f"--node-manager-port={manager}",
            f"--object-manager-port={objects}",
            f"--runtime-env-agent-port={runtime_env}",
            f"--temp-dir={self.temp}",
        ]
        if name == "head":
            argv += [
                "--head",
                f"--port={self.gcs_port}",
                f"--ray-client-server-port={self._client_port}",
                "--include-dashboard=false",
            ]
        else:
            argv.append(f"--address={self.address}")
        log = self.root / f"ray-{name}-{len(self.nodes)}-{time.monotonic_ns()}.log"
        group = ProcessGroup.start(argv, cwd=self.root, env=self.env, output=log)
        return RayNode(name, group, log)

    def wait_nodes(self, count: int, timeout: float = 120.0) -> None:
        """Wait until the first *count* nodes say ``Ray runtime started.`` (a second node
        says so once it has joined the head)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if not node.alive():
                    raise RayClusterError(f"ray node {node.name} exited:\n{self.logs()}")
            if all(node.started() for node in self.nodes[:count]):
                return
            time.sleep(0.5)
        raise RayClusterError(f"{count} Ray nodes did not start in {timeout:.0f} s:\n{self.logs()}")

    def restart_second(self) -> None:
        """Start the second node again (after a test stopped it)."""
        self.nodes[1] = self._start_node("second")
        self.wait_nodes(2)

    def logs(self, lines: int = 30) -> str:
        parts = []
        for node in self.nodes:
            if node.log.exists():
                tail = node.log.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {node.log} ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop every node, the second first; remove the temporary directory."""
        try:
            for node in reversed(self.nodes):
                node.stop(grace=5.0)
        finally:
            shutil.rmtree(self.temp, ignore_errors=True)
