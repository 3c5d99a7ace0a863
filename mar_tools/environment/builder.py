"""Building one environment in a temporary directory and publishing it.

Steps: create the virtualenv, write the inheritance ``.pth``, install the requirements from
the model directory, check torch, write the record, rename into place. Any failure removes
the temporary directory, so nothing half-built is ever found under a final name.
"""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mar_tools.environment.diagnosis import diagnose, tail
from mar_tools.environment.errors import EnvironmentSetupError
from mar_tools.environment.host import Host
from mar_tools.environment.inheritance import write_inheritance
from mar_tools.environment.installer import CommandResult, Installer, InstallRequest
from mar_tools.environment.key import EnvKey
from mar_tools.environment.options import EnvOptions
from mar_tools.environment.record import EnvRecord, write_record
from mar_tools.environment.store import EnvStore, StoredEnv
from mar_tools.environment.torch_pin import TORCH, constraint_text, installed_conflicts

#: Files the build leaves inside the environment, for whoever wonders how it was made.
META_DIR = "mar-env"
TAIL_LINES = 20


@dataclass(frozen=True)
class BuildRequest:
    """Everything one build needs. ``model_dir`` is the installer's working directory."""

    key: EnvKey
    model: str
    host: Host
    model_dir: Path
    requirements: str | None
    options: EnvOptions


def build_environment(
    store: EnvStore, request: BuildRequest, installer: Installer, log: Callable[[str], None]
) -> StoredEnv:
    """Build *request* with *installer* and publish it; the caller holds the key's lock.

    Raises :class:`EnvironmentSetupError` (naming the failing requirement, with the tail of
    the installer's output) and leaves nothing behind but the failure log.
    """
    short = request.key.short
    build = store.new_build_dir(short)
    try:
        layout = installer.create(build, request.host)
        write_inheritance(layout.site_packages, request.host.site_dirs)
        if request.requirements is not None:
            log(f"installing {request.requirements} with {installer.description}...")
            meta = build / META_DIR
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
                    request.requirements,
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
                _check_installed_torch(request, installer, layout.site_packages)
        write_record(build, _record(request, installer))
        published = store.publish(build, short)
        store.log_path(short).unlink(missing_ok=True)  # an earlier failure's log is moot now
        return published
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise


def _record(request: BuildRequest, installer: Installer) -> EnvRecord:
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return EnvRecord(
        key=request.key.digest,
        model=request.model,
        created=created,
        installer=installer.name,
        python=request.host.version.split()[0],
        torch=request.host.torch_version,
        requirements=request.requirements,
        format=int(request.key.inputs.get("format", 0)),
    )


def _install_failure(
    store: EnvStore, request: BuildRequest, installer: Installer, result: CommandResult
) -> EnvironmentSetupError:
    log_path = store.log_path(request.key.short)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(" ".join(result.argv) + "\n\n" + result.output, encoding="utf-8")
    found = diagnose(result.output)
    message = (
        f"installing {request.requirements} for model {request.model} with "
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


def _check_installed_torch(
    request: BuildRequest, installer: Installer, site_packages: Path
) -> None:
    torch = request.host.torch_version
    conflicts = installed_conflicts(site_packages, torch)
    if conflicts and torch:
        first = conflicts[0]
        raise EnvironmentSetupError(
            f"installing {request.requirements} for model {request.model} with "
            f"{installer.description} failed: {first.describe(torch)} Per-model environments "
            "keep the launching environment's torch; no requirement can replace it.",
            hint="pick a version of that package built for your torch, or install the torch "
            "it needs into the environment you run mar from",
        )
