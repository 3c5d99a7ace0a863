"""How TorchServe's settings map onto Ray Serve's deployment options, and how the nodes'
metrics merge: pure functions, no cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mar_tools.serve.config import ServerConfig
from mar_tools.serve.loading import LoadOptions
from mar_tools.serve.model_settings import ModelSettings
from mar_tools.serve.ray_engine.deployment import app_name, deployment_options
from mar_tools.serve.ray_engine.ray_metrics import merge_expositions
from mar_tools.serve.ray_engine.replica import ModelPlan

pytestmark = pytest.mark.ray


def _plan(**settings: object) -> ModelPlan:
    return ModelPlan(
        Path("/store/m.mar"),
        "m#1",
        "1.0",
        "handler.py",
        LoadOptions(),
        ModelSettings(**settings),  # type: ignore[arg-type]
    )


def test_equal_bounds_are_a_fixed_replica_count() -> None:
    options = deployment_options(_plan(batch_size=4), 2, 2, ServerConfig())
    assert options == {
        "name": "m_1",
        "max_ongoing_requests": 8,
        "ray_actor_options": {"num_cpus": 1.0, "num_gpus": 0},
        "num_replicas": 2,
    }


def test_different_bounds_are_autoscaling_bounds() -> None:
    config = ServerConfig(
        ray_autoscaling={"downscale_delay_s": 5},
        ray_deployment_options={"health_check_period_s": 2},
        ray_cpus_per_worker=0.5,
    )
    options = deployment_options(_plan(device_type="gpu"), 1, 3, config)
    assert options["autoscaling_config"] == {
        "min_replicas": 1,
        "max_replicas": 3,
        "initial_replicas": 1,
        "target_ongoing_requests": 1,
        "downscale_delay_s": 5,
    }
    assert "num_replicas" not in options
    assert options["ray_actor_options"] == {"num_cpus": 0.5, "num_gpus": 1}
    assert options["health_check_period_s"] == 2


def test_app_names_avoid_rays_reserved_character() -> None:
    assert app_name("a#b", "2.0") == "mar-a_b-2.0"


#: As Ray's nodes write them: a counter's family is named with its "_total".
NODE_A = """# HELP ray_x_total Things.
# TYPE ray_x_total counter
ray_x_total{NodeAddress="a"} 1.0
# HELP ray_y Level.
# TYPE ray_y gauge
ray_y{NodeAddress="a"} 5.0
"""
NODE_B = """# HELP ray_x_total Things.
# TYPE ray_x_total counter
ray_x_total{NodeAddress="b"} 2.0
"""


def test_node_metrics_merge_into_one_family_each() -> None:
    text = merge_expositions([NODE_A, NODE_B, "not metrics {"]).decode()
    assert text.count("# TYPE ray_x_total counter") == 1
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert sorted(s.value for s in families["ray_x"].samples) == [1.0, 2.0]
    only = merge_expositions([NODE_A, NODE_B], ["ray_x_total"]).decode()
    assert {f.name for f in text_string_to_metric_families(only)} == {"ray_x"}
    assert merge_expositions([], []) == b""
