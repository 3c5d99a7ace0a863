"""Metric lines from workers and the Prometheus text of the metrics API."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from mar_tools.serve.metrics import MetricsStore

DOCUMENT = {
    "model_metrics": {
        "gauge": [{"name": "HandlerTime", "unit": "ms", "dimensions": ["ModelName", "Level"]}]
    }
}


def test_backend_lines_and_exposition() -> None:
    store = MetricsStore(DOCUMENT, enabled=True, auto_detect=False)
    store.hostname = "host"
    store.backend_lines(
        [
            "[METRICS]HandlerTime.ms:1.5|#ModelName:m,Level:Model|#type:GAUGE|#hostname:h,1,req",
            "[METRICS]Custom.count:2|#ModelName:m|#type:COUNTER|#hostname:h,1,req",
            "not a metric",
        ]
    )
    store.count("ts_inference_requests_total", ("m", "default", "host"))
    store.status(200)
    store.status(404)
    text = store.exposition().decode()
    assert 'HandlerTime{ModelName="m",Level="Model",Hostname="host",} 1.5' in text
    assert "Custom" not in text  # not declared, and auto-detection is off
    assert "# TYPE Requests2XX counter\nRequests2XX{" in text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["ts_inference_requests"].samples[0].value == 1.0
    assert families["Requests4XX"].samples[0].value == 1.0


def test_auto_detect_and_filters_and_log_mode() -> None:
    store = MetricsStore(DOCUMENT, enabled=True, auto_detect=True)
    store.backend_lines(["[METRICS]Custom.count:2|#ModelName:m|#type:COUNTER|#hostname:h,1"])
    store.backend_lines(["[METRICS]Custom.count:3|#ModelName:m|#type:COUNTER|#hostname:h,1"])
    text = store.exposition(["Custom"]).decode()
    assert text.startswith("# HELP Custom Torchserve prometheus counter metric with unit: count")
    assert 'Custom{ModelName="m",Hostname=' in text and "} 5.0" in text
    assert MetricsStore(DOCUMENT, enabled=False, auto_detect=False).exposition() == b""


def _reference(lines: list[str], declared: set[str], auto_detect: bool) -> dict[str, float]:
    """What each family ends with, read line by line with the whole-line pattern."""
    import re

    pattern = re.compile(
        r"^\[METRICS\](?P<name>[^.:|]+)\.(?P<unit>[^:|]*):(?P<value>[^|]+)"
        r"\|#(?P<dims>[^|]*)\|#type:(?P<type>[A-Z]+)\|"
    )
    values: dict[str, float] = {}
    for line in lines:
        match = pattern.match(line)
        if match is None:
            continue
        try:
            value = float(match["value"])
        except ValueError:
            continue
        name = match["name"]
        if name not in declared and not auto_detect:
            continue
        counter = match["type"] == "COUNTER" and name not in declared
        values[name] = values.get(name, 0.0) + value if counter else value
    return values


def test_lines_of_one_shape_are_read_like_the_first() -> None:
    shape = "|#ModelName:m,Level:Model|#type:GAUGE|"
    lines = [
        f"[METRICS]HandlerTime.ms:1.5{shape}#hostname:h,1,req-1",
        f"[METRICS]HandlerTime.ms:{shape}#hostname:h,1,req-2",  # no value
        f"[METRICS]HandlerTime.ms:fast{shape}#hostname:h,1,req-3",  # not a number
        "[METRICS]HandlerTime.ms:2.5|#ModelName:m,Level:Model|#type:GAUGE",  # no end
        "[METRICS]Custom.count:|#ModelName:m|#type:COUNTER|#hostname:h,1",  # first: no value
        "[METRICS]Custom.count:2|#ModelName:m|#type:COUNTER|#hostname:h,1",
        "[METRICS]Custom.count:3e0|#ModelName:m|#type:COUNTER|#hostname:h,2",
        "[METRICS]Other.ms:7|#ModelName:m|#type:gauge|#hostname:h,1",  # type not upper case
        "[METRICS]Bad|name.ms:7|#ModelName:m|#type:GAUGE|#hostname:h,1",
        f"[METRICS]HandlerTime.ms:3.5{shape}",
    ]
    for auto_detect in (False, True):
        store = MetricsStore(DOCUMENT, enabled=True, auto_detect=auto_detect)
        store.backend_lines(lines)
        found = {
            name: value
            for name, family in store.backend.items()
            for value in family.values.values()
        }
        assert found == _reference(lines, {"HandlerTime"}, auto_detect)
    assert found == {"HandlerTime": 3.5, "Custom": 5.0}
