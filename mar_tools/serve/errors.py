"""Errors the HTTP APIs answer with, as TorchServe's frontend sends them.

An :class:`ApiError` carries the HTTP status, the Java exception's simple name (the
``type`` clients see) and the message; its body is ``{"code", "type", "message"}`` in Gson's
pretty format. The constructors below give the exact texts TorchServe 0.12 uses.
"""

from __future__ import annotations

from mar_tools.core.gson import gson_pretty

RESOURCE_NOT_FOUND = "Requested resource is not found, please refer to API document."
METHOD_NOT_ALLOWED = "Requested method is not allowed, please refer to API document."
INVALID_KEY = (
    "Token Authorization failed. Token either incorrect, expired, or not provided correctly"
)


class ApiError(Exception):
    """An error answer: HTTP *status*, exception *type* name and *message*."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message

    def body(self) -> bytes:
        """The JSON body TorchServe sends for this error."""
        return gson_pretty({"code": self.status, "type": self.error_type, "message": self.message})


def not_found() -> ApiError:
    return ApiError(404, "ResourceNotFoundException", RESOURCE_NOT_FOUND)


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowedException", METHOD_NOT_ALLOWED)


def invalid_key() -> ApiError:
    return ApiError(400, "InvalidKeyException", INVALID_KEY)


def model_not_found(name: str) -> ApiError:
    return ApiError(404, "ModelNotFoundException", f"Model not found: {name}")


def version_not_found(name: str, version: str) -> ApiError:
    return ApiError(
        404,
        "ModelVersionNotFoundException",
        f"Model version: {version} does not exist for model: {name}",
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequestException", message)


def internal(status: int, message: str) -> ApiError:
    """A backend or worker failure (413 becomes 507, as the frontend maps it)."""
    return ApiError(507 if status == 413 else status, "InternalServerException", message)


def no_worker(name: str, version: str | None) -> ApiError:
    """503 when the model has no worker or its job queue is full."""
    text = f'Model "{name}'
    if version is not None:
        text += f'" Version {version}'
    text += (
        '" has no worker to serve inference request. Please use scale workers API to add '
        "workers. If this is a sequence inference, please check if it is closed, or expired; "
        "or exceeds maxSequenceJobQueueSize"
    )
    return ApiError(503, "ServiceUnavailableException", text)
