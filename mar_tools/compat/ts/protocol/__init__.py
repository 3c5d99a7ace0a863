"""``ts.protocol``: how the backend frames responses (used here for streamed responses)."""
