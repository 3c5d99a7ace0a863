"""``mar serve``: a TorchServe-compatible model server; a drop-in for ``torchserve --start``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from mar_tools.core.errors import ExitCode, UsageError
from mar_tools.terminal.help import HelpCommand
from mar_tools.terminal.server_log import JsonLogReporter, TextLogReporter

#: TorchServe start flags accepted for compatibility that change nothing here.
_IGNORED_FLAGS = ("log_config", "workflow_store", "plugins_path", "cpp_log_config")


class _ServeCommand(HelpCommand):
    """Accepts TorchServe's ``--models a=a.mar b=b.mar`` (several values after one flag)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expand_models(args))


def expand_models(args: Sequence[str]) -> list[str]:
    """``--models A B`` -> ``--models A --models B`` (values run until the next option)."""
    out: list[str] = []
    collecting = False
    for arg in args:
        if arg in ("--models", "-m"):
            collecting = True
            continue
        if arg.startswith("-"):
            collecting = False
        elif collecting:
            out += ["--models", arg]
            continue
        out.append(arg)
    return out


@click.command(
    "serve",
    cls=_ServeCommand,
    context_settings={"help_option_names": ["-h", "--help"]},
    short_help="Serve archives with TorchServe's APIs (torchserve --start).",
    examples=(
        ("mar serve model.mar", "serve one archive on 127.0.0.1:8080"),
        ("mar serve --model-store store --models all", "as torchserve --start would"),
        ("curl -T kitten.jpg http://127.0.0.1:8080/predictions/model", "ask it"),
    ),
)
@click.argument("archives", nargs=-1, type=click.Path(path_type=Path))
@click.option("--start", is_flag=True, hidden=True, help="Accepted for torchserve compatibility.")
@click.option("--stop", is_flag=True, hidden=True)
@click.option("--model-store", type=click.Path(path_type=Path, file_okay=False), metavar="DIR")
@click.option(
    "--models", multiple=True, metavar="NAME=FILE|FILE|all", help="Models to load at start-up."
)
@click.option("--ts-config", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE")
@click.option("--foreground", is_flag=True, help="Run in the foreground (always the case).")
@click.option("--ncs", "--no-config-snapshots", "ncs", is_flag=True, help="Accepted; no snapshots.")
@click.option("--disable-token-auth", is_flag=True, help="Serve without token authorization.")
@click.option("--enable-model-api", is_flag=True, help="Allow registering/unregistering models.")
@click.option("--log-config", metavar="FILE", help="Accepted; mar serve logs through its own log.")
@click.option("--workflow-store", metavar="DIR", hidden=True)
@click.option("--plugins-path", metavar="DIR", hidden=True)
@click.option("--cpp-log-config", metavar="FILE", hidden=True)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Who runs the workers: this machine, or Ray Serve (needs mar-tools[ray]).",
)
@click.option(
    "--ray-address",
    metavar="ADDR|auto",
    help="With --engine ray: join this Ray cluster (default: start a private local one).",
)
@click.option(
    "--kserve",
    is_flag=True,
    help="Serve as KServe's TorchServe runtime did: read the mounted model (--kserve-root) "
    "and answer KServe's v1/v2 protocol on --kserve-address.",
)
@click.option(
    "--kserve-root",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="With --kserve: where KServe mounts the model (default /mnt/models).",
)
@click.option(
    "--kserve-address",
    metavar="URL",
    default="http://0.0.0.0:8080",
    show_default=True,
    help="With --kserve: where KServe's protocol is served (KServe's HTTP port).",
)
@click.option("--reload", is_flag=True, help="Restart a model's workers when its files change.")
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--debug", is_flag=True, help="Show Python tracebacks of mar itself.")
def command(**params: Any) -> int:
    """Serve TorchServe model archives with TorchServe 0.12's inference, management and
    metrics APIs (ports 8080/8081/8082 on 127.0.0.1 unless config.properties says otherwise).

    ARCHIVES (.mar, .tar.gz or model directories) are served under their own names, in
    addition to --models. Stop with Ctrl-C or SIGTERM: requests in flight are answered, the
    workers stopped, and the exit status is 0.

    \b
    Docs: https://github.com/mar-tools/mar-tools/blob/main/docs/serve.md
    """
    from mar_tools.serve.config import Address, ServerConfig, StartFlags
    from mar_tools.serve.kserve_layout import DEFAULT_ROOT, KServeLayout
    from mar_tools.serve.server import ServeOptions, Server

    if params["stop"]:
        raise UsageError("mar serve has no --stop.", hint="stop the server with Ctrl-C or SIGTERM.")
    log = (JsonLogReporter if params["log_format"] == "json" else TextLogReporter)("mar serve")
    kserve_address = None
    archives = tuple(params["archives"])
    defaults: dict[str, str] = {}
    if params["kserve"] or params["kserve_root"]:
        layout = KServeLayout.find(params["kserve_root"] or DEFAULT_ROOT)
        params["ts_config"] = params["ts_config"] or layout.config
        params["model_store"] = params["model_store"] or layout.model_store
        archives += layout.archives
        kserve_address = Address.parse("--kserve-address", params["kserve_address"])
        if layout.config is None:  # KServe configures a bare archive through TS_* variables
            defaults["enable_envvars_config"] = "true"
    flags = StartFlags(
        model_store=params["model_store"],
        models=tuple(params["models"]),
        disable_token_auth=params["disable_token_auth"],
        enable_model_api=params["enable_model_api"],
    )
    config, warnings = ServerConfig.load(params["ts_config"], flags, Path.cwd(), defaults)
    for flag in _IGNORED_FLAGS:
        if params[flag]:
            warnings.append(f"--{flag.replace('_', '-')} has no effect in mar serve.")
    for warning in warnings:
        log.warning(warning)
    for archive in archives:
        if not archive.exists():
            raise UsageError(f"{archive}: no such file or directory.")
    if params["ray_address"] and params["engine"] != "ray":
        raise UsageError("--ray-address needs --engine ray.")
    options = ServeOptions(
        config=config,
        archives=archives,
        reload=params["reload"],
        engine=params["engine"],
        ray_address=params["ray_address"],
        kserve_address=kserve_address,
    )
    _run(Server(options, log))
    return int(ExitCode.OK)


def _run(server: Any) -> None:
    async def main() -> None:
        with _stop_on_signals(server):
            await server.run()

    with _event_loop() as runner:
        runner.run(main())


@contextlib.contextmanager
def _event_loop() -> Iterator[asyncio.Runner]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is part of the serve extra
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        yield runner


@contextlib.contextmanager
def _stop_on_signals(server: Any) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    for signum in signals:
        loop.add_signal_handler(signum, server.request_stop)
    try:
        yield
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
