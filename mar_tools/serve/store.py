"""Where a registration's ``url`` points: a model in the model store, or an allowed URL.

* A plain name (``resnet-18.mar``, ``my_model``, a ``.tar.gz`` or a directory) is looked up
  in the model store, as TorchServe does. Names with ``..`` or a path separator are refused:
  unlike TorchServe, ``mar serve`` never registers a directory outside the store.
* ``file://`` and ``http(s)://`` URLs must match one of the ``allowed_urls`` patterns
  (whole-string, case-insensitive regular expressions); otherwise 404 "Given URL ... does
  not match any allowed URL(s)". An allowed http(s) URL is downloaded into the model store
  under its file name (a name already there is a 500 "Model file already exists"); a failed
  download is a 400 ``DownloadArchiveException``.
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from mar_tools.serve.errors import ApiError

_URL = re.compile(r"^(file|https?)://", re.IGNORECASE)
#: Largest archive an http(s) registration may download.
MAX_DOWNLOAD = 16 * 1024**3


def _not_found(message: str) -> ApiError:
    return ApiError(404, "ModelNotFoundException", message)


def file_name(url: str) -> str:
    """The archive's file name in the store: the URL path's last component."""
    path = urllib.parse.urlsplit(url).path if _URL.match(url) else url
    return path.rstrip("/").rsplit("/", 1)[-1]


def resolve_url(url: str, store: Path | None, allowed: Sequence[str]) -> Path:
    """The local path of the archive *url* names (downloading an allowed http(s) URL).

    Raises :class:`ApiError` with TorchServe's status, type and message.
    """
    if store is None:
        raise _not_found("Model store has not been configured.")
    if not url:
        raise _not_found("empty url")
    if ".." in url:
        raise _not_found(f"Relative path is not allowed in url: {url}")
    if _URL.match(url):
        if not any(re.fullmatch(p, url, re.IGNORECASE) for p in allowed):
            raise _not_found(f"Given URL {url} does not match any allowed URL(s)")
        name = file_name(url)
        if url.lower().startswith("file://"):
            local = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
            if not local.exists():
                raise _not_found(f"Model not found at: {url}")
            return local
        target = store / name
        if target.exists():
            raise ApiError(500, "InternalServerException", f"Model file already exists {name}")
        _download(url, target)
        return target
    if "/" in url or "\\" in url:
        raise _not_found(f"Model not found at: {url}")
    candidate = store / url
    if not candidate.exists():
        raise _not_found(f"Model not found at: {url}")
    return candidate


def _download(url: str, target: Path) -> None:
    partial = target.with_name(f".{target.name}.part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as sink:
            copied = 0
            while chunk := response.read(1 << 20):
                copied += len(chunk)
                if copied > MAX_DOWNLOAD:
                    raise OSError("archive too large")
                sink.write(chunk)
        partial.replace(target)
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise ApiError(
            400, "DownloadArchiveException", f"Failed to download archive from: {url}"
        ) from exc


__all__ = ["file_name", "resolve_url"]
