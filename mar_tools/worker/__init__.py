"""The worker: code that runs inside the model's interpreter, not in the ``mar`` process.

Like pypa/pyproject-hooks' ``_in_process`` package, everything here uses only the standard
library (plus torch and the model's own packages, imported by the handler). ``entry.py`` is
started as a script by path; it loads this directory as the private package ``_mar_worker``
so that none of its module names can collide with the model's modules.

The parent process imports :mod:`mar_tools.worker.wire` (the framing both sides speak) and
:mod:`mar_tools.worker.inputs` (the requests of a batch and their message), never the rest.
"""
