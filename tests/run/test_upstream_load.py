"""Loading, through ``mar run`` and through upstream TorchServe 0.12's Python backend: an
archive that upstream cannot load must fail to load in ``mar run`` too, with the same error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.run.support import build_archive, manifest, published, run_mar, run_upstream

pytestmark = pytest.mark.compat


def test_base_handler_with_an_empty_model_config_fails_to_load_like_upstream(
    tmp_path: Path, cache: Path, upstream_python: Path, upstream_metrics_config: Path
) -> None:
    # An empty model-config.yaml is None to the handler; BaseHandler.initialize looks for
    # "pt2" in it and fails (TorchServe's frontend does not even register it: NPE). mar run
    # refuses it before loading, as a broken archive, with the message `mar validate` gives.
    from tests.run.models import linear_eager

    archive = build_archive(
        tmp_path / "linear",
        {**linear_eager(), "config.yaml": ""},
        manifest(
            "base_handler",
            serialized_file="weights.pth",
            model_file="model.py",
            config_file="config.yaml",
        ),
    )
    done = run_mar([archive, "--data", "[1, 2, 3]", "--format", "json"], cache=cache)
    upstream = run_upstream(
        upstream_python,
        published(cache / "extracted" / "v2")[0],
        handler="base_handler",
        requests=[],
        batch_size=1,
        metrics_config=upstream_metrics_config,
        work=tmp_path / "upstream",
    )
    assert upstream == "TypeError: argument of type 'NoneType' is not iterable"
    assert (done.returncode, done.stdout) == (3, b"")
    assert done.stderr.startswith(
        f"mar: error: {archive}: config.yaml is empty, not a mapping (TorchServe refuses to "
        "register the model).\n"
    )


def test_base_handler_with_a_model_config_mapping_loads_in_both(
    tmp_path: Path, cache: Path, upstream_python: Path, upstream_metrics_config: Path
) -> None:
    # The same archive with a config that is a mapping loads in both.
    from tests.run.models import linear_eager

    archive = build_archive(
        tmp_path / "linear",
        {**linear_eager(), "config.yaml": "handler: {}\n"},
        manifest(
            "base_handler",
            serialized_file="weights.pth",
            model_file="model.py",
            config_file="config.yaml",
        ),
    )
    done = run_mar([archive, "--format", "json"], cache=cache)
    assert done.returncode == 0, done.stderr
    upstream = run_upstream(
        upstream_python,
        Path(json.loads(done.stdout)["model"]["model_dir"]),
        handler="base_handler",
        requests=[],
        batch_size=1,
        metrics_config=upstream_metrics_config,
        work=tmp_path / "upstream",
    )
    assert upstream == []
