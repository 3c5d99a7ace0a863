"""``mar run`` end to end: a real subprocess, real archives, whole outputs compared.

The handlers here do not import torch, so each run costs a fraction of a second.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from mar_tools.run.response import error_body
from tests.run.support import build_archive, extraction_name, manifest, run_mar, source

ECHO = source(
    """
    import json


    def handle(data, context):
        if data is None:
            return None
        out = []
        for index, row in enumerate(data):
            value = row.get("data") or row.get("body")
            if isinstance(value, (bytes, bytearray)) and value[:1] in (b"\\x00", b"\\xff"):
                out.append(bytes(value))
            elif isinstance(value, (bytes, bytearray)):
                out.append(value.decode() + "!")
            else:
                out.append({"value": value, "explain": context.get_request_header(index, "explain"),
                            "model": context.model_name, "rows": len(data)})
        return out
    """
)


def _archive(tmp_path: Path, files: dict[str, str | bytes], handler: str, **kw: str) -> Path:
    return build_archive(tmp_path / "model", files, manifest(handler, **kw))


def _model_dir(cache: Path, archive: Path) -> Path:
    return cache / "extracted" / "v2" / extraction_name(archive)


def test_one_input_prints_exactly_the_body(tmp_path: Path, cache: Path) -> None:
    archive = _archive(tmp_path, {"echo.py": ECHO}, "echo.py")
    done = run_mar([archive, "--data", "hello"], cache=cache)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"hello!", "")
    binary = run_mar([archive, "--input", "-"], cache=cache, stdin=b"\x00\xff\x01")
    assert (binary.returncode, binary.stdout, binary.stderr) == (0, b"\x00\xff\x01", "")


def test_several_inputs_print_a_json_array(tmp_path: Path, cache: Path) -> None:
    archive = _archive(tmp_path, {"echo.py": ECHO}, "echo.py")
    (tmp_path / "blob.bin").write_bytes(b"\xff\x00")
    done = run_mar(
        [archive, "--input", tmp_path / "blob.bin", "--data", "text", "--data", '{"n": [1]}',
         "--content-type", "application/json"],
        cache=cache,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.text == (
        "[\n"
        '  {\n    "content_type": null,\n    "base64": "/wA="\n  },\n'
        '  "text!",\n'
        '  {\n    "value": {\n      "n": [\n        1\n      ]\n    },\n'
        '    "explain": "False",\n    "model": "m",\n    "rows": 1\n  }\n'
        "]\n"
    )


def test_batch_size_comes_from_model_config_unless_given(tmp_path: Path, cache: Path) -> None:
    archive = _archive(
        tmp_path,
        {"echo.py": ECHO, "cfg.yaml": "batchSize: 2\nmaxBatchDelay: 50\n"},
        "echo.py",
        config_file="cfg.yaml",
    )
    args: list[str | Path] = [archive, "--content-type", "application/json"]
    args += ["-d", "1", "-d", "2", "-d", "3"]
    rows = [item["rows"] for item in json.loads(run_mar(args, cache=cache).stdout)]
    assert rows == [2, 2, 1]
    rows = [
        item["rows"]
        for item in json.loads(run_mar([*args, "--batch-size", "3"], cache=cache).stdout)
    ]
    assert rows == [3, 3, 3]


def test_explain_and_model_name(tmp_path: Path, cache: Path) -> None:
    archive = _archive(tmp_path, {"echo.py": ECHO}, "echo.py")
    done = run_mar(
        [archive, "--explain", "--model-name", "renamed", "--content-type", "application/json",
         "--data", "7"],
        cache=cache,
    )  # fmt: skip
    assert done.json() == {"value": 7, "explain": "True", "model": "renamed", "rows": 1}


def test_failed_request_prints_the_error_body_and_the_handlers_traceback(
    tmp_path: Path, cache: Path
) -> None:
    handler = "def handle(data, context):\n    if data:\n        raise ValueError('bad input')\n"
    archive = _archive(tmp_path, {"fails.py": handler}, "fails.py")
    done = run_mar([archive, "--data", "x"], cache=cache)
    path = archive / "fails.py"  # the archive's name, not the cache's path
    assert done.returncode == 1
    assert done.stdout == error_body(503, "Prediction failed")
    assert done.stderr == (
        "Traceback (most recent call last):\n"
        f'  File "{path}", line 3, in handle\n'
        "    raise ValueError('bad input')\n"
        "ValueError: bad input\n"
        "mar: error: request '--data #1' failed: 503 Prediction failed\n"
    )


def test_a_status_the_handler_sets_is_kept_and_fails_the_run(tmp_path: Path, cache: Path) -> None:
    handler = source(
        """
        def handle(data, context):
            if data:
                context.set_response_status(404, "No Such Thing")
                return ["not here"]
        """
    )
    archive = _archive(tmp_path, {"nf.py": handler}, "nf.py")
    done = run_mar([archive, "--data", "x"], cache=cache)
    assert (done.returncode, done.stdout) == (1, b"not here")
    assert done.stderr == "mar: error: request '--data #1' failed: 404 No Such Thing\n"


def test_load_failure_shows_the_real_import_error(tmp_path: Path, cache: Path) -> None:
    handler = "import json\nimport missing_dependency_xyz\n\n\ndef handle(d, c):\n    return d\n"
    archive = _archive(tmp_path, {"needs.py": handler}, "needs.py")
    done = run_mar([archive, "--data", "x"], cache=cache)
    path = archive / "needs.py"  # the archive's name, not the cache's path
    assert (done.returncode, done.stdout) == (4, b"")
    assert done.stderr == (
        "Traceback (most recent call last):\n"
        f'  File "{path}", line 2, in <module>\n'
        "    import missing_dependency_xyz\n"
        "ModuleNotFoundError: No module named 'missing_dependency_xyz'\n"
        "mar: error: the model failed to load: ModuleNotFoundError: No module named "
        "'missing_dependency_xyz'\n"
    )


def test_load_failure_of_a_syntax_error(tmp_path: Path, cache: Path) -> None:
    archive = _archive(tmp_path, {"syn.py": "def handle(data, context)\n    return data\n"}, "syn")
    done = run_mar([archive], cache=cache)
    path = archive / "syn.py"  # the archive's name, not the cache's path
    assert done.returncode == 4
    # Only importlib's frames lead to a syntax error: no "Traceback" header remains.
    assert done.stderr == (
        f'  File "{path}", line 1\n'
        "    def handle(data, context)\n"
        "                             ^\n"
        "SyntaxError: expected ':'\n"
        "mar: error: the model failed to load: SyntaxError: expected ':' (syn.py, line 1)\n"
    )


def test_unknown_handler_module(tmp_path: Path, cache: Path) -> None:
    archive = _archive(tmp_path, {}, "my_handler.py")
    done = run_mar([archive], cache=cache)
    assert done.returncode == 4
    assert done.stderr == (
        "mar: error: the model failed to load: handler module 'my_handler' is neither in the "
        "model directory nor a TorchServe built-in handler.\n"
        "hint: add my_handler.py to the archive (torch-model-archiver --handler "
        "my_handler.py), or use a built-in name such as image_classifier.\n"
    )


def test_initialize_failure(tmp_path: Path, cache: Path) -> None:
    handler = source(
        """
        class Handler:
            def initialize(self, context):
                raise FileNotFoundError("weights.pt is not in the archive")

            def handle(self, data, context):
                return data
        """
    )
    archive = _archive(tmp_path, {"h.py": handler}, "h.py")
    done = run_mar([archive], cache=cache)
    path = archive / "h.py"  # the archive's name, not the cache's path
    assert done.returncode == 4
    assert done.stderr == (
        "Traceback (most recent call last):\n"
        f'  File "{path}", line 3, in initialize\n'
        '    raise FileNotFoundError("weights.pt is not in the archive")\n'
        "FileNotFoundError: weights.pt is not in the archive\n"
        "mar: error: the model failed to load: FileNotFoundError: weights.pt is not in the "
        "archive\n"
    )


def test_several_classes_work_with_a_warning(tmp_path: Path, cache: Path) -> None:
    handler = source(
        """
        class Options:
            pass


        class Handler:
            def initialize(self, context):
                pass

            def handle(self, data, context):
                return ["ok"] * len(data)
        """
    )
    archive = _archive(tmp_path, {"two.py": handler}, "two.py")
    done = run_mar([archive, "--data", "x"], cache=cache)
    assert (done.returncode, done.stdout) == (0, b"ok")
    assert done.stderr == (
        "mar: warning: two defines 2 classes (Handler, Options); TorchServe 0.12 refuses such "
        'a module ("Expected only one class in custom service code or a function entry '
        'point"). mar run uses Handler, the only one with a handle method.\n'
    )


@pytest.mark.parametrize(
    ("files", "runtime", "message"),
    [
        ({"h.py": ""}, None, "{archive}: MAR-INF/MANIFEST.json is not in the archive.\n"
         "hint: rebuild the archive with torch-model-archiver; `mar validate` lists every "
         "problem.\n"),
        ({"h.py": ""}, "LSP", "{archive}: runtime LSP (TorchServe's C++ backend) is not "
         "supported by mar run.\n"),
    ],
)  # fmt: skip
def test_archives_mar_run_cannot_load(
    tmp_path: Path, cache: Path, files: dict[str, str], runtime: str | None, message: str
) -> None:
    text = manifest("h.py", runtime=runtime) if runtime else None
    archive = build_archive(tmp_path / "model", files, text)
    done = run_mar([archive], cache=cache)
    assert done.returncode == 3
    assert done.stderr == "mar: error: " + message.format(archive=archive)


def test_missing_and_broken_archives(tmp_path: Path, cache: Path) -> None:
    done = run_mar([tmp_path / "nope.mar"], cache=cache)
    assert (done.returncode, done.stderr) == (
        3, f"mar: error: {tmp_path / 'nope.mar'}: no such file or directory.\n"
    )  # fmt: skip
    (tmp_path / "junk.mar").write_bytes(b"PK\x03\x04 truncated")
    done = run_mar([tmp_path / "junk.mar"], cache=cache)
    assert done.returncode == 3
    assert done.stderr.startswith(f"mar: error: {tmp_path / 'junk.mar'}: not a readable zip")


def test_invalid_model_config_is_a_broken_archive(tmp_path: Path, cache: Path) -> None:
    archive = _archive(
        tmp_path,
        {"echo.py": ECHO, "cfg.yaml": "batchSize: [1\n"},
        "echo.py",
        config_file="cfg.yaml",
    )
    done = run_mar([archive], cache=cache)
    assert done.returncode == 3
    assert done.stderr.startswith(f"mar: error: {archive}: cfg.yaml is not valid YAML: ")
    assert "(line 2, column 1).\n" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "missing.jpg"], "mar: error: --input missing.jpg: no such file.\n"),
        (["--gpu", "0", "--device", "cpu"],
         "mar: error: give either --gpu or --device, not both.\n"),
        (["--device", "tpu"], "mar: error: --device 'tpu' is not a device.\nhint: use cpu, cuda, "
         "cuda:N or mps.\n"),
        (["--metrics-config", "none.yaml"], "mar: error: --metrics-config none.yaml: the metrics "
         "config file does not exist.\n"),
        (["-H", "NoColon"], "mar: error: --header 'NoColon' is not of the form 'Name: value'.\n"
         "hint: for example --header 'X-Request-Source: cli'\n"),
        (["--data", "x", "--output", "nowhere/out.txt"], "mar: error: --output nowhere/out.txt: "
         "the directory nowhere does not exist.\n"),
    ],
)  # fmt: skip
def test_usage_errors(tmp_path: Path, cache: Path, args: list[str], message: str) -> None:
    archive = _archive(tmp_path, {"echo.py": ECHO}, "echo.py")
    done = run_mar([archive, *args], cache=cache, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (2, b"", message)


def test_metrics_config_without_model_metrics(tmp_path: Path, cache: Path) -> None:
    archive = _archive(tmp_path, {"echo.py": ECHO}, "echo.py")
    (tmp_path / "metrics.yaml").write_text("ts_metrics:\n  counter: []\n")
    done = run_mar([archive, "--metrics-config", "metrics.yaml"], cache=cache, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "mar: error: --metrics-config metrics.yaml: MetricsCacheKeyError: \"'model_metrics' key "
        "not found in yaml file: 'model_metrics'\"\n"
        "hint: TorchServe's worker would not start with this file either.\n"
    )


def test_gpu_without_cuda_is_an_error(tmp_path: Path, cache: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    archive = _archive(tmp_path, {"echo.py": ECHO}, "echo.py")
    done = run_mar([archive, "--gpu", "0", "--data", "x"], cache=cache)
    assert (done.returncode, done.stdout) == (6, b"")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    narrowed = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
    assert done.stderr == (
        f"mar: error: --gpu 0: no CUDA device is available to torch {torch.__version__} "
        f"(a CPU-only build){narrowed}.\n"
        "hint: run on the CPU with --device cpu, or install a CUDA build of torch in the "
        "model's environment on a machine with an NVIDIA GPU.\n"
    )


def test_mps_where_there_is_none(tmp_path: Path, cache: Path) -> None:
    import torch

    if torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    archive = _archive(tmp_path, {"echo.py": ECHO}, "echo.py")
    done = run_mar([archive, "--device", "mps"], cache=cache)
    build = (
        "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
    )
    assert (done.returncode, done.stderr) == (
        6,
        f"mar: error: --device mps: MPS is not available to torch {torch.__version__} ({build}).\n"
        "hint: MPS needs Apple silicon and a torch build with MPS; use --device cpu.\n",
    )


def test_output_file_and_stdin(tmp_path: Path, cache: Path) -> None:
    archive = _archive(tmp_path, {"echo.py": ECHO}, "echo.py")
    target = tmp_path / "out.txt"
    target.write_text("previous")
    done = run_mar([archive, "--input", "data=@-", "--output", target], cache=cache, stdin=b"in")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", "")
    assert target.read_bytes() == b"in!"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "model.mar", "out.txt"]


def test_output_is_untouched_when_the_model_fails_to_load(tmp_path: Path, cache: Path) -> None:
    archive = _archive(tmp_path, {"bad.py": "raise ImportError('nope')\n"}, "bad.py")
    target = tmp_path / "out.txt"
    target.write_text("previous")
    done = run_mar([archive, "--data", "x", "--output", target, "--quiet"], cache=cache)
    assert (done.returncode, target.read_text()) == (4, "previous")
    assert done.stderr == "mar: error: the model failed to load: ImportError: nope\n"


def test_repeat_reports_percentiles(tmp_path: Path, cache: Path) -> None:
    archive = _archive(tmp_path, {"echo.py": ECHO}, "echo.py")
    done = run_mar([archive, "--data", "a", "--data", "b", "--repeat", "3"], cache=cache)
    assert done.returncode == 0
    assert json.loads(done.stdout) == ["a!", "b!"]
    number = r"\d+(\.\d)?"
    assert re.fullmatch(
        rf"mar: model ready in \d+ ms \(handler import and initialize: \d+ ms\)\n"
        rf"mar: 6 batches: p50 {number} ms, p90 {number} ms, p99 {number} ms "
        rf"\(min {number}, max {number}\)\n",
        done.stderr,
    ), done.stderr
    quiet = run_mar([archive, "-q"], cache=cache)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, b"", "")


def test_json_format(tmp_path: Path, cache: Path) -> None:
    handler = source(
        """
        def handle(data, context):
            if data:
                context.set_response_content_type(0, "text/plain")
                context.metrics.add_counter("Calls", 1)
                return ["\\u00e9t\\u00e9"]
        """
    )
    archive = _archive(tmp_path, {"j.py": handler}, "j.py", name="jay")
    done = run_mar([archive, "--format", "json", "--data", "x", "-H", "X-A: 1"], cache=cache)
    assert done.returncode == 0, done.stderr
    document = done.json()
    [response] = document["responses"]
    timings = document.pop("timings")
    metrics = document.pop("metrics")
    assert re.fullmatch(r"[0-9a-f-]{36}", response.pop("request_id"))
    assert document == {
        "model": {
            "archive": str(archive),
            "name": "jay",
            "handler": "j.py",
            "entry_point": "function j.handle",
            "model_dir": str(_model_dir(cache, archive)),
            "extraction": "extracted",
            "interpreter": document["model"]["interpreter"],
            "ts_package": str(Path(__file__).parents[2] / "mar_tools" / "compat" / "ts"),
        },
        "device": {"kind": "cpu", "gpu_id": None},
        "batch_size": 1,
        "responses": [
            {
                "input": "--data #1",
                "batch": 0,
                "status": 200,
                "phrase": "",
                "content_type": "text/plain",
                "headers": {"content-type": "text/plain"},
                "body": "\u00e9t\u00e9",
                "body_encoding": "utf-8",
                "chunks": 1,
                "request": {
                    # java.util.HashMap order (see test_headers.py)
                    "headers": [["explain", "False"], ["X-A", "1"], ["url_path", ""]],
                    "parameters": [{"name": "body", "content_type": "", "size": 1}],
                },
            }
        ],
        "warnings": [],
    }
    assert set(timings) == {"startup_ms", "load_ms", "batches", "batch_ms"}
    assert timings["batches"] == 1 and timings["startup_ms"] >= timings["load_ms"] > 0
    assert [re.sub(r"hostname:[^,]+,\d+,[0-9a-f-]{36}$", "H", line) for line in metrics] == [
        "[METRICS]Calls.Count:1|#ModelName:jay,Level:Model|#type:COUNTER|#H",
        "[METRICS]PredictionTime.Milliseconds:"
        + metrics[1].split(":")[1].split("|")[0]
        + "|#ModelName:jay,Level:Model|#type:GAUGE|#H",
    ]


def test_a_handler_watching_the_log_sees_the_metric_lines_mar_run_reports(
    tmp_path: Path, cache: Path
) -> None:
    # As in TorchServe, metric lines are logged: a handler's own log handler sees them.
    handler = source(
        """
        import logging

        seen = []

        class Watch(logging.Handler):
            def emit(self, record):
                if record.getMessage().startswith("[METRICS]"):
                    seen.append(record.getMessage())

        def handle(data, context):
            if data is None:
                return None
            if not seen:
                logging.getLogger().addHandler(Watch())
            context.metrics.add_counter("Calls", 1)
            return [str(len(seen))]
        """
    )
    archive = _archive(tmp_path, {"w.py": handler}, "w.py", name="watch")
    done = run_mar([archive, "--format", "json", "--data", "x", "--data", "y"], cache=cache)
    assert done.returncode == 0, done.stderr
    document = done.json()
    # Its own handler saw every metric line from the moment it was added (the worker did not
    # keep them quietly: 1 in the first batch, then 2 more and 1 in the second), and the
    # worker's capture still reported every line of both batches.
    assert [response["body"] for response in document["responses"]] == ["1", "3"]
    names = [line.split(".", 1)[0] for line in document["metrics"]]
    assert names == ["[METRICS]Calls", "[METRICS]PredictionTime"] * 2


def test_handler_output_goes_to_stderr_and_quiet_hides_it(tmp_path: Path, cache: Path) -> None:
    handler = source(
        """
        import logging
        import sys


        def handle(data, context):
            print("print from the handler")
            logging.getLogger("handler").info("log from the handler")
            sys.stderr.write("stderr from the handler\\n")
            return None if data is None else ["answer"]
        """
    )
    archive = _archive(tmp_path, {"noisy.py": handler}, "noisy.py")
    done = run_mar([archive, "--data", "x"], cache=cache)
    assert (done.returncode, done.stdout) == (0, b"answer")
    lines = ["print from the handler", "log from the handler", "stderr from the handler"]
    assert done.stderr.splitlines() == lines * 2  # initialize, then the batch
    quiet = run_mar([archive, "--data", "x", "--quiet"], cache=cache)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, b"answer", "")


def test_a_broken_log_call_in_the_handler_is_reported_not_raised(
    tmp_path: Path, cache: Path
) -> None:
    handler = source(
        """
        import logging


        def handle(data, context):
            logging.getLogger(__name__).info("shape %d", (1, 2))  # wrong format, as upstream's
            return None if data is None else ["still answered"]
        """
    )
    archive = _archive(tmp_path, {"badlog.py": handler}, "badlog.py")
    done = run_mar([archive, "--data", "x"], cache=cache)
    assert (done.returncode, done.stdout) == (0, b"still answered")
    assert done.stderr.count("--- Logging error ---") == 2  # initialize, then the batch


def test_model_dir_is_the_cwd_and_shadows_the_standard_library(tmp_path: Path, cache: Path) -> None:
    handler = source(
        """
        import os

        import calendar


        def handle(data, context):
            return [{"cwd": os.getcwd(), "calendar": calendar.SHADOWED}]
        """
    )
    files = {"where.py": handler, "calendar.py": "SHADOWED = True\n"}
    for fmt in ("zip", "tgz", "dir"):
        archive = build_archive(tmp_path / f"m-{fmt}", files, manifest("where.py"), fmt)
        done = run_mar([archive, "--data", "x"], cache=cache)
        expected = archive if fmt == "dir" else _model_dir(cache, archive)
        assert done.json() == {"cwd": str(expected), "calendar": True}, done.stderr


def test_no_cache_removes_its_temporary_extraction(tmp_path: Path, cache: Path) -> None:
    handler = "def handle(data, context):\n    return [context.system_properties['model_dir']]\n"
    archive = _archive(tmp_path, {"d.py": handler}, "d.py")
    done = run_mar([archive, "--no-cache", "--data", "x"], cache=cache)
    used = Path(done.text)
    assert done.returncode == 0 and used.name.startswith(".mar-run.mar-")
    assert not used.exists() and not cache.exists()


def test_no_inputs_only_loads_the_model(tmp_path: Path, cache: Path) -> None:
    handler = "def handle(data, context):\n    print('loaded', data)\n"
    archive = _archive(tmp_path, {"l.py": handler}, "l.py")
    done = run_mar([archive], cache=cache)
    assert (done.returncode, done.stdout) == (0, b"")
    assert re.fullmatch(
        rf"loaded None\nmar: {re.escape(str(archive))}: loaded in \d+ ms; no inputs given "
        r"\(--input FILE or --data TEXT sends a request\)\.\n",
        done.stderr,
    ), done.stderr


def test_worker_death_is_reported(tmp_path: Path, cache: Path) -> None:
    handler = "import os\n\n\ndef handle(data, context):\n    if data:\n        os._exit(3)\n"
    archive = _archive(tmp_path, {"die.py": handler}, "die.py")
    done = run_mar([archive, "--data", "x"], cache=cache)
    assert (done.returncode, done.stdout) == (7, b"")
    assert done.stderr == (
        "mar: error: the worker process died while handling batch 1 (it exited with status 3).\n"
        "hint: run without --quiet to see its output.\n"
    )


def test_sys_exit_in_a_handler_is_reported(tmp_path: Path, cache: Path) -> None:
    handler = "import sys\n\n\ndef handle(data, context):\n    if data:\n        sys.exit(5)\n"
    archive = _archive(tmp_path, {"ex.py": handler}, "ex.py")
    done = run_mar([archive, "--data", "x"], cache=cache)
    path = archive / "ex.py"  # the archive's name, not the cache's path
    assert (done.returncode, done.stdout) == (7, b"")
    assert done.stderr == (
        "Traceback (most recent call last):\n"
        f'  File "{path}", line 6, in handle\n'
        "    sys.exit(5)\n"
        "SystemExit: 5\n"
        "mar: error: the handler called sys.exit(5) while handling batch 1: SystemExit: 5\n"
    )


LINGERING = source(
    """
    import subprocess
    import threading
    import time


    def spin():
        while True:
            time.sleep(0.1)


    def handle(data, context):
        if data is None:
            threading.Thread(target=spin, daemon=False).start()
            return None
        child = subprocess.Popen(["sleep", "300"])
        with open(data[0]["body"].decode(), "w") as handle:
            handle.write(str(child.pid))
        return ["done"]
    """
)


def test_threads_and_processes_left_running_do_not_hang_the_run(
    tmp_path: Path, cache: Path
) -> None:
    archive = _archive(tmp_path, {"linger.py": LINGERING}, "linger.py")
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    done = run_mar([archive, "--data", str(pid_file)], cache=cache, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"done", "")
    assert time.monotonic() - started < 30
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the handler's child process {child} is still running")


def test_ctrl_c_stops_the_worker_and_exits_130(tmp_path: Path, cache: Path) -> None:
    import signal
    import subprocess
    import sys

    from tests.run.support import mar_env

    handler = source(
        """
        import os
        import time


        def handle(data, context):
            if data:
                with open(data[0]["body"].decode(), "w") as handle:
                    handle.write(str(os.getpid()))
                time.sleep(300)
        """
    )
    archive = _archive(tmp_path, {"slow.py": handler}, "slow.py")
    marker = tmp_path / "worker.pid"
    process = subprocess.Popen(
        [sys.executable, "-m", "mar_tools", "run", str(archive), "--data", str(marker)],
        env=mar_env(cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline, "the handler never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    # click starts a new line after the ^C a terminal would show.
    assert (process.returncode, stdout, stderr.decode()) == (
        130,
        b"",
        "\nmar: error: interrupted.\n",
    )
    with pytest.raises(ProcessLookupError):
        os.kill(int(marker.read_text()), 0)
