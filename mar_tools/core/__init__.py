"""The ground every mar-tools command stands on: no click, no rich, no torch.

Errors with their exit codes (:mod:`.errors`), the manifest (:mod:`.manifest`), handler
references (:mod:`.handler_ref`), byte sizes for people (:mod:`.sizes`), cache paths
(:mod:`.cache`), atomic file writing (:mod:`.fs`), read-only archive views and safe
extraction (:mod:`.archive`, :mod:`.extraction`), the one way a model's manifest, config
and files are read (:mod:`.model_source`), and the :class:`~.reporter.Reporter` protocol
every library call reports its messages and progress through (:mod:`.reporter`).
``torch-model-archiver`` and every ``mar`` command import from here; nothing here imports
them.
"""
