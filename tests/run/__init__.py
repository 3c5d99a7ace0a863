"""Tests of ``mar run`` (parent side, worker, compatible ``ts`` package, CLI)."""
