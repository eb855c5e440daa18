"""The error answers of every operation, in the schema.

drf-spectacular documents only the success response. The API also answers with the one
error shape (``core.api.exceptions``) for a bad request, a missing or expired token, a
role without the permission, a record of another company (404), a record in use (409),
an oversized body (413), and so on; a client generated from the schema, and the fuzz
run (docs/security/fuzzing.md), must see them.
"""

from typing import Any

ERROR_COMPONENT = "Error"

ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error shape of the API.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Machine-readable: invalid, in_use..."},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "description": "Messages per field name (non_field_errors for the rest).",
                    "additionalProperties": True,
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

# status -> description; which ones an operation can answer depends on its method.
ERRORS = {
    "400": "Invalid input: the fields say which and why.",
    "401": "Not signed in, or the token is invalid or expired.",
    "403": "Signed in, but the role does not allow this.",
    "404": "Not found (a record of another company is not found either).",
    "406": "The Accept header names no format the API can answer with.",
    "409": "Conflicts with the current state (a record in use, a transition not allowed).",
    "413": "The request body is too large.",
    "415": "The request body's media type is not supported.",
    "422": "The Idempotency-Key was already used with another request body.",
    "429": "Too many requests: retry after the Retry-After header's seconds.",
}
_READ = ("400", "401", "403", "404", "406", "429")
_WRITE = (*_READ, "409", "413", "415", "422")
BY_METHOD = {
    "get": _READ,
    "head": _READ,
    "post": _WRITE,
    "put": _WRITE,
    "patch": _WRITE,
    # A service rule can refuse a delete (a line of a confirmed order): a 400.
    "delete": ("400", "401", "403", "404", "406", "409", "429"),
}


# DRF writes a time as ISO 8601 "09:00:00"; JSON Schema's "time" format is RFC 3339's
# full-time, which needs an offset ("09:00:00Z"), and OpenAPI 3.0 defines no "time"
# format at all. The schema says what the API sends and accepts: a pattern.
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


def describe_times(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: ``format: time`` becomes a pattern."""
    stack: list[Any] = [result]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("format") == "time" and node.get("type") == "string":
                del node["format"]
                node["pattern"] = TIME_PATTERN
                node.setdefault("example", "09:00:00")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return result


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error responses on every operation, each a
    reference to one shared response (``#/components/responses/Error404``)."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    shared = components.setdefault("responses", {})
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for status, description in ERRORS.items():
        shared[f"Error{status}"] = {
            "description": description,
            "content": {"application/json": {"schema": reference}},
        }
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for status in BY_METHOD.get(method, ()):
                responses.setdefault(status, {"$ref": f"#/components/responses/Error{status}"})
    return result
