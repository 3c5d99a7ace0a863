"""The real TorchServe 0.12 (Java frontend + Python workers), started for a test or benchmark.

:meth:`TorchServe.start` writes a ``config.properties`` and a model store into a directory
the caller owns, picks free ports on 127.0.0.1 for every listener (REST inference, management
and metrics, and the two gRPC ports, which cannot be turned off), disables token
authorization, enables the model API and per-model ``pip`` installs, and returns once both
REST APIs answer. Everything TorchServe writes (logs, extracted models, worker sockets, its
pid file) stays in that directory. :meth:`TorchServe.stop` ends the launcher, the JVM and the
workers within a bounded time; see :mod:`tests.support.process_group`.

Java 17 or later must be installed: :func:`require_java` raises :class:`JavaNotFound` with
the fix when it is not, so that a suite that needs TorchServe fails loudly rather than skips.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.http_client import exchange
from tests.support.process_group import ProcessGroup
from tests.support.server_api import ServerApi

#: TorchServe 0.12's frontend is compiled for Java 17 (class file version 61).
JAVA_MAJOR = 17
#: JVM options for servers started by tests: a small heap and no optimizing JIT start it
#: faster on two cores. Benchmarks start TorchServe with its defaults instead.
TEST_VMARGS = "-Xmx768m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
#: config.properties keys naming the five listeners, in the order the free ports are used.
_PORT_KEYS = ("inference", "management", "metrics", "grpc_inference", "grpc_management")


class TorchServeError(RuntimeError):
    """TorchServe could not be started or did not answer as expected."""


class JavaNotFound(TorchServeError):
    """No Java 17+ runtime: TorchServe's frontend cannot run on this machine."""


def require_java() -> str:
    """Path of a ``java`` of version 17 or later (``$JAVA_HOME/bin/java`` first, then PATH).

    Raises :class:`JavaNotFound` naming what was found and how to install the right one.
    The answer is remembered per ``JAVA_HOME`` and ``PATH``: asking ``java -version`` starts
    a JVM (~0.1 s), which would otherwise be timed as part of every TorchServe launch.
    """
    return _find_java(os.environ.get("JAVA_HOME"), os.environ.get("PATH"))


@functools.lru_cache(maxsize=8)
def _find_java(home: str | None, path: str | None) -> str:
    java = str(Path(home, "bin", "java")) if home else shutil.which("java", path=path)
    fix = (
        "TorchServe 0.12's frontend needs Java 17+: install it (Debian/Ubuntu: "
        "`apt-get install openjdk-17-jre-headless`) or point JAVA_HOME at one."
    )
    if not java or not Path(java).exists():
        raise JavaNotFound(f"no `java` found (JAVA_HOME={home!r}, PATH searched). {fix}")
    done = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if done.returncode != 0 or match is None:
        raise JavaNotFound(f"`{java} -version` failed: {done.stderr.strip()!r}. {fix}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0_x" spells Java 8
        major = int(match.group(2))
    if major < JAVA_MAJOR:
        raise JavaNotFound(f"{java} is Java {major}. {fix}")
    return java


def free_ports(count: int) -> list[int]:
    """*count* distinct TCP ports on 127.0.0.1 that were free a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class TorchServe(ServerApi):
    """A running TorchServe; a context manager that stops it on exit."""

    @classmethod
    def start(
        cls,
        venv: Path,
        home: Path,
        *,
        model_store: Path | None = None,
        vmargs: str | None = None,
        properties: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        timeout: float = 120.0,
        attempts: int = 3,
    ) -> TorchServe:
        """Start TorchServe from *venv* (which holds ``torchserve==0.12.0``) in *home*.

        *properties* are extra ``config.properties`` lines (they win over the defaults);
        *args* extra command-line arguments (``--models ...``).
        *model_store* defaults to ``home/model-store``. *vmargs* are extra JVM options (e.g.
        a smaller heap for tests). Raises
        :class:`JavaNotFound` without Java 17+, and :class:`TorchServeError` with the log tail
        when it exits or does not answer within *timeout* seconds. A port taken between
        choosing and binding it is retried with new ports, up to *attempts* times.
        """
        java = require_java()
        store = model_store or home / "model-store"
        for directory in (store, home / "logs", home / "tmp"):
            directory.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, attempts + 1):
            ports = dict(zip(_PORT_KEYS, free_ports(len(_PORT_KEYS)), strict=True))
            config = home / "config.properties"
            config.write_text(_config_properties(store, ports, vmargs, properties or {}))
            output = home / "logs" / "launcher.out"
            group = ProcessGroup.start(
                [
                    str(venv / "bin" / "torchserve"),
                    *("--start", "--foreground", "--ncs"),
                    *("--ts-config", str(config), "--model-store", str(store)),
                    *args,
                ],
                cwd=home,
                env=_environment(home, java),
                output=output,
            )
            server = cls(group, home, store, ports)
            try:
                server._wait_ready(timeout)
                return server
            except TorchServeError:
                server.stop()
                if attempt == attempts or "BindException" not in server.logs():
                    raise
        raise AssertionError("unreachable")

    def logs(self, lines: int = 80) -> str:
        """The last *lines* of the launcher, frontend and worker logs, for failure messages."""
        parts = []
        for name in ("launcher.out", "ts_log.log", "model_log.log"):
            path = self.home / "logs" / name
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path} ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._group.exit_code()
            if code is not None:
                raise TorchServeError(
                    f"TorchServe exited with {code} while starting:\n{self.logs()}"
                )
            try:
                ping = exchange(self.ports["inference"], "GET", "/ping", timeout=5)
                models = self.management("GET", "/models", timeout=5)
            except OSError:
                time.sleep(0.2)
                continue
            if ping.status == 200 and models.status == 200:
                return
            time.sleep(0.2)
        raise TorchServeError(f"TorchServe did not answer within {timeout:.0f} s:\n{self.logs()}")


def _config_properties(
    store: Path, ports: Mapping[str, int], vmargs: str | None, extra: Mapping[str, str]
) -> str:
    lines = [
        f"inference_address=http://127.0.0.1:{ports['inference']}",
        f"management_address=http://127.0.0.1:{ports['management']}",
        f"metrics_address=http://127.0.0.1:{ports['metrics']}",
        f"grpc_inference_port={ports['grpc_inference']}",
        f"grpc_management_port={ports['grpc_management']}",
        "disable_token_authorization=true",
        "enable_model_api=true",
        "install_py_dep_per_model=true",
        f"model_store={store}",
        # CPU only, as `mar run` defaults to: a GPU on the machine must not change gpu_id.
        "number_of_gpu=0",
        "default_workers_per_model=1",
    ]
    if vmargs:
        lines.append(f"vmargs={vmargs}")
    lines = [line for line in lines if line.split("=", 1)[0] not in extra]
    lines += [f"{key}={value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def _environment(home: Path, java: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # Inherited values would redirect TorchServe's config or leak into the workers' path.
        if key not in ("TS_CONFIG_FILE", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    tmp = str(home / "tmp")
    env.update(
        {
            # The launcher's pid file and the workers' sockets go to TMPDIR, extracted models
            # to TEMP (java.io.tmpdir): private dirs keep concurrent servers apart.
            "TMPDIR": tmp,
            "TEMP": tmp,
            "LOG_LOCATION": str(home / "logs"),
            "METRICS_LOCATION": str(home / "logs"),
            "JAVA_HOME": str(Path(java).resolve().parent.parent),
        }
    )
    return env
