"""The upstream torch-model-archiver version whose archives we write (and report as ours).

``torch_model_archiver.__version__`` and the manifest's ``archiverVersion`` say ``0.12.0``
because the archives are byte-for-byte what upstream 0.12.0 writes (manifest, names,
layout). The mar-tools release is ``mar_tools.__version__`` (``--tool-version`` prints both).
"""

__version__ = "0.12.0"
