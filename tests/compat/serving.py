"""What TorchServe answered for each model, gathered once per model and shared by the tests.

For a model, :meth:`ServingSession.served` registers, all at once:

* our archive in each of the four formats (``batch_size=1``), named ``<model>-<format>``;
* our default-format archive again as ``<model>-zip-batch`` with ``batch_size`` = the number
  of batch probes and a long ``max_batch_delay`` (the batch fires as soon as it is full, so
  the delay only matters if a request were lost);
* upstream's default-format archive as ``upstream-<model>-zip``, as a reference, and
  upstream's archive in each format the model lists as refused by TorchServe;

then sends every single probe and explanation to each registration one at a time, and the
batch probes together to the batch registration. Only one model is registered at a time: the
previous model's workers are unregistered first, which bounds memory (each worker is a
Python process that has imported torch).
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tests.compat.archives import Archive, BuildError, Builds, Format, archive_name
from tests.compat.catalog import ModelSpec
from tests.support.http_client import HttpResponse
from tests.support.mar_serve import MarServe
from tests.support.torchserve import TorchServe

#: Long enough that a slow machine still gathers the whole batch; it fires when full.
BATCH_DELAY_MS = 5000


@dataclass
class ServedModel:
    """TorchServe's answers for one model: registration responses and probe responses.

    ``responses`` maps (registration name, probe label) to the response; a registration
    that failed has no responses.
    """

    spec: ModelSpec
    registrations: dict[str, HttpResponse] = field(default_factory=dict)
    responses: dict[tuple[str, str], HttpResponse] = field(default_factory=dict)

    def loaded(self, registration: str) -> bool:
        """True when TorchServe registered (and loaded) *registration*."""
        response = self.registrations.get(registration)
        return response is not None and response.status == 200


def batch_registration(spec: ModelSpec) -> str:
    """Registration name of the batching copy of *spec*'s default-format archive."""
    return f"{spec.name}-zip-batch"


def upstream_registration(spec: ModelSpec, fmt: Format = "default") -> str:
    """Registration name of upstream's archive of *spec* in *fmt* (default format: the
    reference every answer is compared with)."""
    return f"upstream-{archive_name(spec, fmt)}"


class ServingSession:
    """Registers models in one TorchServe on demand and remembers its answers."""

    def __init__(self, server: TorchServe | MarServe, ours: Builds, upstream: Builds) -> None:
        self.server = server
        self._ours = ours
        self._upstream = upstream
        self._served: dict[str, ServedModel] = {}
        self._registered: list[str] = []

    def served(self, spec: ModelSpec) -> ServedModel:
        """TorchServe's answers for *spec*, registering and querying it on first use."""
        if spec.name not in self._served:
            self._unregister_previous()
            self._served[spec.name] = self._serve(spec)
        return self._served[spec.name]

    def _serve(self, spec: ModelSpec) -> ServedModel:
        served = ServedModel(spec)
        plan = self._registration_plan(spec)
        with ThreadPoolExecutor(max_workers=len(plan) or 1) as pool:
            futures = {
                name: pool.submit(
                    self.server.register,
                    url,
                    model_name=name,
                    batch_size=batch_size,
                    max_batch_delay=delay,
                )
                for name, (url, batch_size, delay) in plan.items()
            }
            served.registrations = {name: future.result() for name, future in futures.items()}
        self._registered = list(plan)
        for name in plan:
            if not served.loaded(name):
                continue
            if name == batch_registration(spec):
                answers = self.server.predict_together(name, [p.request for p in spec.batch])
                served.responses.update(
                    ((name, probe.label), answer)
                    for probe, answer in zip(spec.batch, answers, strict=True)
                )
                continue
            for probe in (*spec.singles, *spec.explanations):
                served.responses[(name, probe.label)] = self.server.predict(name, probe.request)
        return served

    def _registration_plan(self, spec: ModelSpec) -> dict[str, tuple[str, int, int]]:
        """{registration name: (url in the model store, batch size, max batch delay)}."""
        plan: dict[str, tuple[str, int, int]] = {}
        for fmt in ("default", "zip-store", "tgz", "no-archive"):
            archive = self._archive(self._ours, spec, fmt)
            if archive is not None:
                plan[archive.model_name] = (archive.url, 1, 100)
        default = self._archive(self._ours, spec, "default")
        if default is not None and spec.batch:
            plan[batch_registration(spec)] = (default.url, len(spec.batch), BATCH_DELAY_MS)
        formats: tuple[Format, ...] = ("default", *spec.refused)
        for fmt in formats:
            reference = self._archive(self._upstream, spec, fmt)
            if reference is None:
                continue
            name = upstream_registration(spec, reference.fmt)
            copy = self.server.model_store / (
                name + reference.path.name[len(reference.model_name) :]
            )
            if reference.path.is_dir():
                shutil.copytree(reference.path, copy, dirs_exist_ok=True)
            else:
                shutil.copyfile(reference.path, copy)
            plan[name] = (copy.name, 1, 100)
        return plan

    @staticmethod
    def _archive(builds: Builds, spec: ModelSpec, fmt: Format) -> Archive | None:
        result = builds.get((spec.name, fmt))
        return None if result is None or isinstance(result, BuildError) else result

    def _unregister_previous(self) -> None:
        for name in self._registered:
            self.server.unregister(name)
        self._registered = []
