"""Building one environment in a temporary directory and publishing it.

:func:`build` checks the requirements against the inherited torch, then tries each
installer ``--installer`` allows (uv first when it is there, pip after it fails) with
:func:`build_environment`. Its steps: create the virtualenv, write the inheritance ``.pth``,
install the requirements from the model directory, check torch, write the record, rename
into place. Any failure removes the temporary directory, so nothing half-built is ever
found under a final name.
"""

from __future__ import annotations

import datetime
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from mar_tools.core.errors import EnvironmentSetupError
from mar_tools.core.fs import write_atomically
from mar_tools.core.reporter import Reporter
from mar_tools.core.requirements import RequirementsSet
from mar_tools.env.diagnosis import diagnose, tail
from mar_tools.env.host import Host
from mar_tools.env.installers import CommandResult, Installer, InstallRequest, select_installers
from mar_tools.env.key import FORMAT_VERSION, EnvKey
from mar_tools.env.options import EnvOptions
from mar_tools.env.store import EnvStore, StoredEnv
from mar_tools.env.torch_pin import (
    TORCH,
    constraint_text,
    direct_conflicts,
    installed_conflicts,
)
from mar_tools.env.venv_files import EnvRecord, write_inheritance, write_record

#: Files the build leaves inside the environment, for whoever wonders how it was made.
META_DIR = "mar-env"
TAIL_LINES = 20
KEEPS_TORCH = (
    "Per-model environments keep the launching environment's torch; no requirement can replace it."
)


@dataclass(frozen=True)
class BuildRequest:
    """Everything one build needs. ``model_dir`` is the installer's working directory;
    ``requirements`` is None for an environment without any."""

    key: EnvKey
    model: str
    host: Host
    model_dir: Path
    requirements: RequirementsSet | None
    options: EnvOptions

    @property
    def requirements_file(self) -> str | None:
        """The requirements file's name, relative to ``model_dir``."""
        return None if self.requirements is None else self.requirements.root


def build(store: EnvStore, request: BuildRequest, reporter: Reporter) -> StoredEnv:
    """Build and publish *request*'s environment; the caller holds the key's lock.

    Raises :class:`EnvironmentSetupError` when a requirement asks for another torch than the
    inherited one (before anything is installed) or when no installer succeeds.
    """
    _check_torch_requests(request)
    installers = select_installers(request.options.installer)
    for index, installer in enumerate(installers):
        started = time.perf_counter()
        reporter.info(
            f"creating the environment for model {request.model} ({request.key.short}) "
            f"with {installer.description}..."
        )
        try:
            env = build_environment(store, request, installer, reporter)
        except EnvironmentSetupError as exc:
            if index == len(installers) - 1:
                raise
            following = installers[index + 1].description
            reason = exc.message.splitlines()[0]
            reporter.info(f"{installer.description} failed ({reason}); retrying with {following}")
            continue
        reporter.info(f"environment ready in {time.perf_counter() - started:.1f} s: {env.path}")
        return env
    raise AssertionError("select_installers() returned no installer")


def build_environment(
    store: EnvStore, request: BuildRequest, installer: Installer, reporter: Reporter
) -> StoredEnv:
    """Build *request* with *installer* and publish it; the caller holds the key's lock.

    Raises :class:`EnvironmentSetupError` (naming the failing requirement, with the tail of
    the installer's output) and leaves nothing behind but the failure log.
    """
    short = request.key.short
    build_dir = store.new_build_dir(short)
    try:
        # One spinner for the build, its text the current step (on a terminal).
        reporter.start(f"creating the virtualenv for model {request.model}", None)
        layout = installer.create(build_dir, request.host)
        write_inheritance(layout.site_packages, request.host.site_dirs)
        if request.requirements_file is not None:
            reporter.info(f"installing {request.requirements_file} with {installer.description}...")
            reporter.start(
                f"installing {request.requirements_file} with {installer.description}", None
            )
            meta = build_dir / META_DIR
            meta.mkdir()
            torch = request.host.torch_version
            constraints = excludes = None
            if torch:
                constraints = meta / "constraints.txt"
                constraints.write_text(constraint_text(torch), encoding="utf-8")
                excludes = meta / "excludes.txt"
                excludes.write_text(f"{TORCH}\n", encoding="utf-8")
            result = installer.install(
                InstallRequest(
                    layout,
                    request.requirements_file,
                    request.model_dir,
                    request.options,
                    constraints,
                    excludes,
                )
            )
            (meta / "install.log").write_text(result.output, encoding="utf-8")
            if not result.ok:
                raise _install_failure(store, request, installer, result)
            if not installer.checks_torch():
                reporter.start("checking the installed torch", None)
                _check_installed_torch(request, installer, layout.site_packages)
        write_record(build_dir, _record(request, installer))
        published = store.publish(build_dir, short)
        store.log_path(short).unlink(missing_ok=True)  # an earlier failure's log is moot now
        return published
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise
    finally:
        reporter.finish()


def _record(request: BuildRequest, installer: Installer) -> EnvRecord:
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return EnvRecord(
        key=request.key.digest,
        model=request.model,
        created=created,
        installer=installer.name,
        python=request.host.version.split()[0],
        torch=request.host.torch_version,
        requirements=request.requirements_file,
        format=FORMAT_VERSION,
    )


def _install_failure(
    store: EnvStore, request: BuildRequest, installer: Installer, result: CommandResult
) -> EnvironmentSetupError:
    log_path = store.log_path(request.key.short)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    text = " ".join(result.argv) + "\n\n" + result.output
    write_atomically(log_path, text.encode("utf-8"), durable=False)
    found = diagnose(result.output)
    message = (
        f"installing {request.requirements_file} for model {request.model} with "
        f"{installer.description} failed: {found.summary}."
    )
    torch = request.host.torch_version
    if torch and TORCH in found.summary:
        message += (
            f" Per-model environments keep torch {torch} from the launching environment;"
            " no requirement can replace it."
        )
    output = tail(result.output, TAIL_LINES)
    if output:
        message += "\n" + "\n".join(f"  | {line}" for line in output.splitlines())
    return EnvironmentSetupError(
        message,
        hint=f"the installer's full output is in {log_path}; fix the requirement, or point the "
        "installer at your packages with --find-links / --index-url / --pip-option",
    )


def _check_torch_requests(request: BuildRequest) -> None:
    torch = request.host.torch_version
    if request.requirements is None or torch is None:
        return
    written = (*request.requirements.named, *request.requirements.direct)
    conflicts = direct_conflicts(written, torch)
    if conflicts:
        raise EnvironmentSetupError(
            f"cannot create the environment for model {request.model}: "
            f"{conflicts[0].describe(torch)} {KEEPS_TORCH}",
            hint="relax the requirement, or install the torch the model needs into the "
            "environment you run mar from",
        )


def _check_installed_torch(
    request: BuildRequest, installer: Installer, site_packages: Path
) -> None:
    torch = request.host.torch_version
    conflicts = installed_conflicts(site_packages, torch)
    if conflicts and torch:
        raise EnvironmentSetupError(
            f"installing {request.requirements_file} for model {request.model} with "
            f"{installer.description} failed: {conflicts[0].describe(torch)} {KEEPS_TORCH}",
            hint="pick a version of that package built for your torch, or install the torch "
            "it needs into the environment you run mar from",
        )
