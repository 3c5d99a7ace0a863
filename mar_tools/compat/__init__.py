"""Compatibility layers that let archives written for other tools run under mar-tools.

``compat/ts`` is a TorchServe-compatible ``ts`` package. The worker appends this directory
(``mar_tools/compat``) to the END of ``sys.path``, so a real ``torchserve`` installed in the
model's environment is found first and this one is only a fall-back. Inside ``ts`` every
import is relative, so the same files type-check as ``mar_tools.compat.ts`` and run as ``ts``.
"""
