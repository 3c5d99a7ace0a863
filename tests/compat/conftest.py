"""Session fixtures of the compatibility suite: the upstream tools, the two sets of builds,
one TorchServe for the whole session, and what it answered.

Costly things happen once per session: both archivers build every model in every format
(two at a time), TorchServe starts once, and each model's registrations and requests are
done together the first time a test asks for them (see :mod:`tests.compat.serving`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.compat.archives import FORMATS, Archive, BuildError, Builds, Format, build
from tests.compat.broken import CASES as BROKEN
from tests.compat.broken import CONTROL
from tests.compat.catalog import ModelSpec, all_models
from tests.compat.commands import our_tool
from tests.compat.mar_run import MarRunSession
from tests.compat.serving import ServingSession, batch_registration
from tests.support.http_client import HttpResponse
from tests.support.mar_serve import MarServe
from tests.support.torchserve import TEST_VMARGS, TorchServe
from tests.support.upstream import archiver_venv, torchserve_venv, venv_bin


@pytest.fixture(scope="session")
def compat_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's working directory (sources, builds, model store, caches, logs)."""
    return tmp_path_factory.mktemp("compat")


@pytest.fixture(scope="session")
def mar_env(compat_dir: Path) -> dict[str, str]:
    """Environment for ``mar`` subprocesses: a private cache, no colour, no pager."""
    env = dict(os.environ)
    env.update({"MAR_CACHE_DIR": str(compat_dir / "mar-cache"), "NO_COLOR": "1"})
    env.pop("MAR_DEBUG", None)
    return env


@pytest.fixture(scope="session")
def sources(compat_dir: Path) -> dict[str, Path]:
    """Each model's source directory, copied and completed (generated files written)."""
    staging = compat_dir / "sources"
    staging.mkdir()
    return {spec.name: spec.staged(staging) for spec in all_models()}


def _build_all(
    archiver: list[str], sources: Mapping[str, Path], export: Path
) -> dict[tuple[str, Format], Archive | BuildError]:
    export.mkdir(parents=True, exist_ok=True)
    jobs = [(spec, fmt) for spec in all_models() for fmt in FORMATS]

    def one(job: tuple[ModelSpec, Format]) -> Archive | BuildError:
        spec, fmt = job
        try:
            return build(archiver, spec, sources[spec.name], fmt, export)
        except BuildError as error:
            return error

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, jobs))
    return {(spec.name, fmt): result for (spec, fmt), result in zip(jobs, results, strict=True)}


@pytest.fixture(scope="session")
def upstream_builds(compat_dir: Path, sources: Mapping[str, Path]) -> Builds:
    """Every model in every format, built by upstream ``torch-model-archiver`` 0.12.0."""
    tool = [str(venv_bin(archiver_venv(), "torch-model-archiver"))]
    return _build_all(tool, sources, compat_dir / "upstream")


@pytest.fixture(scope="session")
def model_store(compat_dir: Path) -> Path:
    """TorchServe's model store; our builds are written straight into it."""
    store = compat_dir / "model-store"
    store.mkdir()
    return store


@pytest.fixture(scope="session")
def our_builds(model_store: Path, sources: Mapping[str, Path]) -> Builds:
    """Every model in every format, built by our ``torch-model-archiver``."""
    return _build_all([str(our_tool("torch-model-archiver"))], sources, model_store)


@pytest.fixture(scope="session")
def torchserve(compat_dir: Path, model_store: Path) -> Iterator[TorchServe]:
    """The real TorchServe 0.12, started once per session and always stopped.

    Fails (never skips) when Java 17+ is missing.
    """
    venv = torchserve_venv()
    with TorchServe.start(
        venv,
        compat_dir / "torchserve",
        model_store=model_store,
        vmargs=TEST_VMARGS,
        properties={"metrics_mode": "prometheus"},
    ) as server:
        yield server


@pytest.fixture(scope="session")
def serving(torchserve: TorchServe, our_builds: Builds, upstream_builds: Builds) -> ServingSession:
    """TorchServe's answers per model, computed on first use."""
    return ServingSession(torchserve, our_builds, upstream_builds)


@pytest.fixture(scope="session")
def mar_serve(compat_dir: Path, model_store: Path, mar_env: dict[str, str]) -> Iterator[MarServe]:
    """``mar serve`` on the same model store, configured like the session's TorchServe."""
    with MarServe.start(
        compat_dir / "mar-serve",
        model_store=model_store,
        properties={"install_py_dep_per_model": "true", "metrics_mode": "prometheus"},
        env=mar_env,
    ) as server:
        yield server


@pytest.fixture(scope="session")
def mar_serving(mar_serve: MarServe, our_builds: Builds, upstream_builds: Builds) -> ServingSession:
    """``mar serve``'s answers per model: the same registrations and requests as TorchServe's."""
    return ServingSession(mar_serve, our_builds, upstream_builds)


@pytest.fixture(scope="session")
def mar_runs(
    compat_dir: Path, mar_env: dict[str, str], our_builds: Builds
) -> Iterator[MarRunSession]:
    """``mar run``'s answers to the same requests; every call is queued at once and runs in
    the background while TorchServe serves."""
    session = MarRunSession(compat_dir / "mar-run", mar_env)
    archives = [
        archive
        for (_, fmt), archive in our_builds.items()
        if isinstance(archive, Archive) and fmt not in archive.spec.refused
    ]
    session.schedule(archives, {spec.name: batch_registration(spec) for spec in all_models()})
    yield session
    session.close()


@pytest.fixture(scope="session")
def broken_registrations(torchserve: TorchServe) -> dict[str, tuple[Path, HttpResponse]]:
    """Each hand-broken archive (and the control) written, then registered in TorchServe.

    Returns {case name: (archive path, registration response)}. Registrations run four at a
    time; whatever did register is unregistered again so its worker stops.
    """
    cases = (CONTROL, *BROKEN)
    written = {case.name: case.write(torchserve.model_store) for case in cases}
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(
            pool.map(lambda case: torchserve.register(case.url, model_name=case.name), cases)
        )
    for case in cases:
        torchserve.unregister(case.name)
    return {
        case.name: (written[case.name], response)
        for case, response in zip(cases, responses, strict=True)
    }
