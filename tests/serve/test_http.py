"""What every answer of the frontend shares: request ids."""

from __future__ import annotations

import uuid

from mar_tools.serve.http import new_request_id


def test_request_ids_are_random_uuids_written_as_uuid4_writes_them() -> None:
    ids = {new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
