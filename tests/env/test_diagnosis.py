# ruff: noqa: E501  (installer output is quoted verbatim, long lines included)
"""Installer output is reduced to one sentence naming the requirement.

The outputs below are what pip 26 and uv 0.13 printed for these failures on this project's
machines (paths shortened); the integration tests check the same against live runs.
"""

from __future__ import annotations

import pytest

from mar_tools.env.diagnosis import Diagnosis, diagnose, tail

PIP_NOT_FOUND = """\
Looking in links: /opt/wheels
ERROR: Could not find a version that satisfies the requirement no-such-package==9.9 (from versions: none)
ERROR: No matching distribution found for no-such-package==9.9
"""
PIP_CONFLICT = """\
Processing ./wants_new_torch-1.0-py3-none-any.whl (from -r requirements.txt (line 1))
ERROR: Cannot install -r requirements.txt (line 1) because these package versions have conflicting dependencies.

The conflict is caused by:
    wants-new-torch 1.0 depends on torch>=99
    The user requested (constraint) torch==2.13.0+cpu

To fix this you could try to:
"""
PIP_BUILD = """\
Processing ./broken-1.0.tar.gz
  error: backend-unavailable
ERROR: Failed to build 'file:///m/broken-1.0.tar.gz' when calling build backend hook get_requires_for_build_wheel
"""
PIP_MISSING_FILE = """\
WARNING: Requirement './nothere-1.0-py3-none-any.whl' looks like a filename, but the file does not exist
ERROR: Could not install packages due to an OSError: [Errno 2] No such file or directory: '/m/nothere-1.0-py3-none-any.whl'
"""
UV_NOT_FOUND = """\
Using Python 3.11.7 environment at: /cache/envs/.build-0123-4567
error: No solution found when resolving dependencies
  cause: Because no-such-package was not found in the provided package locations and you require no-such-package==9.9, we can conclude that your requirements are unsatisfiable.
"""
UV_BUILD = """\
error: Failed to build `broken @ file:///m/broken-1.0.tar.gz`
  cause: The build backend returned an error
"""


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            PIP_NOT_FOUND,
            Diagnosis("no version of no-such-package==9.9 could be found", "no-such-package==9.9"),
        ),
        (
            PIP_CONFLICT,
            Diagnosis(
                "conflicting requirements: wants-new-torch 1.0 depends on torch>=99",
                "wants-new-torch 1.0 depends on torch>=99",
            ),
        ),
        (
            PIP_BUILD,
            Diagnosis("failed to build file:///m/broken-1.0.tar.gz", "file:///m/broken-1.0.tar.gz"),
        ),
        (
            PIP_MISSING_FILE,
            Diagnosis(
                "'./nothere-1.0-py3-none-any.whl' looks like a file name, but the file does not exist",
                "./nothere-1.0-py3-none-any.whl",
            ),
        ),
        (
            UV_NOT_FOUND,
            Diagnosis("no version of no-such-package==9.9 could be found", "no-such-package==9.9"),
        ),
        (
            UV_BUILD,
            Diagnosis(
                "failed to build broken @ file:///m/broken-1.0.tar.gz",
                "broken @ file:///m/broken-1.0.tar.gz",
            ),
        ),
        ("something\nERROR: the disk is full\n", Diagnosis("the disk is full")),
        ("", Diagnosis("the installer failed without an error message")),
    ],
)
def test_diagnose(output: str, expected: Diagnosis) -> None:
    assert diagnose(output) == expected


def test_tail_keeps_the_last_lines_without_uvs_build_directory_line() -> None:
    assert tail(UV_NOT_FOUND, 2) == (
        "error: No solution found when resolving dependencies\n"
        "  cause: Because no-such-package was not found in the provided package locations and "
        "you require no-such-package==9.9, we can conclude that your requirements are unsatisfiable."
    )
    assert tail("a\n\nb\nc\n", 2) == "b\nc"
