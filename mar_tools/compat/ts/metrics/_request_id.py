"""The request id a metric value belongs to (shared by the metrics cache and the store)."""

from __future__ import annotations

from typing import Any


def request_id_for(request_ids: Any, idx: Any) -> Any:
    """``request_ids[idx]`` when *idx* is one of the batch's indexes; otherwise every id
    of the batch joined by commas (or *request_ids* itself when it is not a dict)."""
    joined = ",".join(request_ids.values()) if isinstance(request_ids, dict) else request_ids
    if idx is None or request_ids is None or idx not in request_ids:
        return joined
    return request_ids[idx]
