"""The command-line plumbing both console scripts share: the error boundary (exceptions to
exit codes, in one place), the rich consoles, and the reporter that draws the library's
messages and progress on them. It sits above :mod:`mar_tools.core` and
below the two CLIs (``mar_tools.cli`` and ``torch_model_archiver.cli``)."""
