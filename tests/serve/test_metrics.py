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
