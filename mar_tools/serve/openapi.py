"""The API description ``OPTIONS /`` returns: an OpenAPI 3.0.1 document of each listener.

Written for mar serve (the texts are ours); the paths are TorchServe 0.12's, so tools that
discover the API from this document find the same endpoints.
"""

from __future__ import annotations

from typing import Any

_ERROR = {
    "description": "Error",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["code", "type", "message"],
                "properties": {
                    "code": {"type": "integer", "description": "HTTP status."},
                    "type": {"type": "string", "description": "Error class."},
                    "message": {"type": "string", "description": "What went wrong."},
                },
            }
        }
    },
}


def _operation(operation_id: str, description: str, *parameters: str) -> dict[str, Any]:
    return {
        "description": description,
        "operationId": operation_id,
        "parameters": [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in parameters
        ],
        "responses": {"200": {"description": "Success"}, "500": _ERROR},
    }


def _predictions(versioned: bool) -> dict[str, Any]:
    names = ("model_name", "model_version") if versioned else ("model_name",)
    return {"post": _operation("predictions", "Run the model on the request body.", *names)}


def api_description(version: str, listener: str = "inference") -> dict[str, Any]:
    """The document for the *listener* (``inference`` or ``management``)."""
    describe = {"options": _operation("apiDescription", "This API description.")}
    paths: dict[str, Any] = {"/": describe}
    if listener == "inference":
        paths.update(
            {
                "/ping": {"get": _operation("ping", "Server health.")},
                "/v1/models/{model_name}:predict": _predictions(False),
                "/v2/models/{model_name}/infer": _predictions(False),
                "/predictions/{model_name}": _predictions(False),
                "/predictions/{model_name}/{model_version}": _predictions(True),
            }
        )
    else:
        paths.update(
            {
                "/models": {
                    "get": _operation("listModels", "Registered models, paginated."),
                    "post": _operation("registerModel", "Register a model from the store."),
                },
                "/models/{model_name}": {
                    "get": _operation("describeModel", "Describe a model.", "model_name"),
                    "put": _operation("setAutoScale", "Scale its workers.", "model_name"),
                    "delete": _operation("unregisterModel", "Unregister it.", "model_name"),
                },
                "/models/{model_name}/{model_version}": {
                    "get": _operation("describeModel", "Describe a version.", "model_name"),
                    "put": _operation("setAutoScale", "Scale its workers.", "model_name"),
                    "delete": _operation("unregisterModel", "Unregister it.", "model_name"),
                },
                "/models/{model_name}/{model_version}/set-default": {
                    "put": _operation("setDefault", "Make it the default version.", "model_name")
                },
            }
        )
    paths["/api-description"] = {"get": _operation("api-description", "This API description.")}
    paths["/metrics"] = {"get": _operation("metrics", "Prometheus metrics.")}
    return {
        "openapi": "3.0.1",
        "info": {
            "title": "mar serve: TorchServe-compatible APIs",
            "description": "Serves TorchServe model archives with TorchServe 0.12's APIs.",
            "version": version,
        },
        "paths": paths,
    }
