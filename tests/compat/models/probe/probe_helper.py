"""Imported by ``probe_handler``: it must be importable from the extracted model's root."""

GREETING = "hello from the model directory"
