"""``mar serve`` started for a test or benchmark, with the same face as :class:`TorchServe`.

:meth:`MarServe.start` writes a ``config.properties`` (free ports on 127.0.0.1 for the three
APIs, plus whatever *properties* add), starts ``mar serve --ts-config ... --model-store ...``
in its own process group and returns once ``/ping`` and ``GET /models`` answer. The methods
(``register``, ``predict``, ``predict_together``, ``management``...) are TorchServe's, so the
compat suite drives both servers with the same code.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.http_client import HttpResponse, exchange
from tests.support.process_group import ProcessGroup
from tests.support.server_api import ServerApi
from tests.support.torchserve import free_ports

MAR = Path(sys.executable).with_name("mar")


class MarServeError(RuntimeError):
    """``mar serve`` exited or did not answer while starting."""


class MarServeNoAnswer(OSError):
    """A request got no HTTP answer from ``mar serve``; the message ends with its log."""


class MarServe(ServerApi):
    """A running ``mar serve``; a context manager that stops it (SIGTERM, then SIGKILL)."""

    #: mar serve drains the requests in flight before it exits.
    STOP_GRACE = 15.0

    @classmethod
    def start(
        cls,
        home: Path,
        *,
        model_store: Path,
        properties: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        timeout: float = 120.0,
        ready: bool = True,
    ) -> MarServe:
        """Start ``mar serve`` in *home* (its working directory, logs and key file)."""
        home.mkdir(parents=True, exist_ok=True)
        ports = dict(zip(("inference", "management", "metrics"), free_ports(3), strict=True))
        lines = {
            "inference_address": f"http://127.0.0.1:{ports['inference']}",
            "management_address": f"http://127.0.0.1:{ports['management']}",
            "metrics_address": f"http://127.0.0.1:{ports['metrics']}",
            "disable_token_authorization": "true",
            "enable_model_api": "true",
            "number_of_gpu": "0",
            "default_workers_per_model": "1",
            **(properties or {}),
        }
        config = home / "config.properties"
        config.write_text("".join(f"{key}={value}\n" for key, value in lines.items()))
        environment = {k: v for k, v in (env or os.environ).items() if k != "MAR_DEBUG"}
        environment.setdefault("NO_COLOR", "1")
        group = ProcessGroup.start(
            [
                str(MAR),
                "serve",
                "--ts-config",
                str(config),
                "--model-store",
                str(model_store),
                *args,
            ],
            cwd=home,
            env=environment,
            output=home / "serve.log",
        )
        server = cls(group, home, model_store, ports)
        if ready:
            try:
                server.wait_ready(timeout)
            except BaseException:
                server.stop()
                raise
        return server

    def exit_code(self) -> int | None:
        return self._group.exit_code()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._group.exit_code()
            if code is not None:
                raise MarServeError(f"mar serve exited with {code}:\n{self.logs()}")
            try:
                ping = exchange(
                    self.ports["inference"], "GET", "/ping", headers=self.headers, timeout=5
                )
                if ping.status in (200, 400, 500):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise MarServeError(f"mar serve did not answer within {timeout:.0f} s:\n{self.logs()}")

    def inference(self, method: str, path: str, **kwargs: object) -> HttpResponse:
        return exchange(self.ports["inference"], method, path, **kwargs)  # type: ignore[arg-type]

    def no_answer(self, exc: OSError, request: str) -> OSError:
        """*exc* with the server's log: a hang or a dropped connection is diagnosable from
        the test report alone (the log file goes with the test's temporary directory)."""
        return MarServeNoAnswer(f"no answer from mar serve to {request}: {exc!r}\n{self.logs(200)}")

    def logs(self, lines: int = 80) -> str:
        path = self.home / "serve.log"
        if not path.exists():
            return ""
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {path} ---\n" + "\n".join(tail)
