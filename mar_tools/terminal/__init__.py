"""The command-line plumbing both console scripts share: the error boundary (exceptions to
exit codes, in one place) and the rich consoles. It sits above :mod:`mar_tools.core` and
below the two CLIs (``mar_tools.cli`` and ``torch_model_archiver.cli``)."""
