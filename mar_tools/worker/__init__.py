"""The worker: code that runs inside the model's interpreter, not in the ``mar`` process.

Like pypa/pyproject-hooks' ``_in_process`` package, everything here uses only the standard
library (plus torch and the model's own packages, imported by the handler). ``entry.py`` is
started as a script by path; it loads this directory as the private package ``_mar_worker``
so that none of its module names can collide with the model's modules.

The parent process imports :mod:`mar_tools.worker.messages` (the typed messages both sides
speak, with what they carry: requests, response frames, failures) and
:mod:`mar_tools.worker.wire` (their framing), never the rest.
"""
