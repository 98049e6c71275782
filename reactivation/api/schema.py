"""What the OpenAPI schema says beyond the views: how a key is sent, and the error shape with
the statuses every operation may answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message", "errors"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "id", "field", "message"],
                "properties": {
                    "index": {
                        "type": "integer",
                        "nullable": True,
                        "description": "0-based, in a batch",
                    },
                    "id": {"type": "string", "nullable": True},
                    "field": {"type": "string", "nullable": True},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
ERRORS = {
    "400": "Invalid input: see errors (index, id, field, message)",
    "401": "No valid API key",
    "403": "The key's role may not do this",
    "404": "Not found, or not visible to this key",
    "409": "A conflict with the current state",
    "415": "Not JSON",
    "429": "Rate limited: retry after the Retry-After seconds",
}
# Reads answer neither 409 nor 415.
READ_ERRORS = ("400", "401", "403", "404", "429")


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "reactivation.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`",
        }


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: the Error component and its answers everywhere."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for route, path in result.get("paths", {}).items():
        for method, operation in path.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            # Grouped on the docs page by what they are about: clients, transactions, offers, cases.
            operation["tags"] = [route.split("/")[3]]
            codes = READ_ERRORS if method == "get" else tuple(ERRORS)
            responses = operation.setdefault("responses", {})
            for code in codes:
                entry = responses.setdefault(code, {"description": ERRORS[code]})
                entry.setdefault("content", reference)
                if code == "429":
                    entry["headers"] = {
                        "Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}
                    }
    return result
