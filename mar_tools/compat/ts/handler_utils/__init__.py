"""``ts.handler_utils``: helpers for handlers (timing, text utilities, streaming)."""
