"""What the OpenAPI schema (``/api/schema/``, OAS 3.0.3) says beyond what drf-spectacular
derives from the views: it must say what the server does, to a strict validator too
(tests/api/test_openapi_strict.py checks real answers against it).

- ``nullable_references``: a nullable nested object is written ``oneOf: [$ref, null]``.
  drf-spectacular writes ``allOf: [$ref]`` beside ``nullable: true``, which OAS 3.0.3
  ignores (``nullable`` only acts beside a ``type`` in the same schema object), so strict
  clients refused the nulls the server sends.
- ``transport_errors``: 406 (an ``Accept`` the API cannot answer) on every JSON
  operation, 415 (a body that is not JSON) on every operation with a body; 405 is a
  reusable response (OAS has no per-path answers; ``Allow`` lists a path's methods).
- ``OFFLINE_HEADERS``: the headers of a dose sent from a tablet's offline queue.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

# "null" in OAS 3.0.3: a nullable schema object whose only value is null.
NULL = {"type": "object", "nullable": True, "enum": [None]}
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
TRANSPORT_RESPONSES = {
    "MethodNotAllowed": "This path does not take this method; `Allow` lists the ones it "
    "takes (OPTIONS answers 204 with it).",
    "NotAcceptable": "The `Accept` header asks for something else than JSON.",
    "UnsupportedMediaType": "The body is not `application/json`.",
}


def nullable_references(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS)."""
    for component in result.get("components", {}).get("schemas", {}).values():
        properties = component.get("properties", {})
        for name, prop in properties.items():
            if prop.get("nullable") and len(prop.get("allOf", [])) == 1:
                rest = {
                    key: value for key, value in prop.items() if key not in ("allOf", "nullable")
                }
                properties[name] = {"oneOf": [prop["allOf"][0], NULL], **rest}
    return result


def _answers_json(operation: dict) -> bool:
    return any(
        "application/json" in response.get("content", {})
        for response in operation.get("responses", {}).values()
    )


def transport_errors(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS)."""
    responses = result.setdefault("components", {}).setdefault("responses", {})
    for name, description in TRANSPORT_RESPONSES.items():
        responses[name] = {"description": description, "content": ERROR}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            answers: dict[str, Any] = operation.setdefault("responses", {})
            if _answers_json(operation) and not any(
                "application/pdf" in response.get("content", {}) for response in answers.values()
            ):
                answers.setdefault("406", {"$ref": "#/components/responses/NotAcceptable"})
            if "requestBody" in operation:
                answers.setdefault("415", {"$ref": "#/components/responses/UnsupportedMediaType"})
    return result


OFFLINE_HEADERS = [
    OpenApiParameter(
        "X-Offline-Queued-At",
        OpenApiTypes.DATETIME,
        OpenApiParameter.HEADER,
        description="Only from a tablet's offline queue: when the dose was queued there "
        "(ISO 8601 with its offset). Marks the request as an offline entry: a conflict "
        "(already charted, order stopped) is answered 409/422 with `conflict` and "
        "`nurses_notified`, and the nurses are told; the record is marked `source: offline`.",
    ),
    OpenApiParameter(
        "X-Offline-Charted-By",
        OpenApiTypes.UUID,
        OpenApiParameter.HEADER,
        description="With X-Offline-Queued-At: the public id of who charted the dose on the "
        "tablet (the signed-in person, or a colleague who switched in by PIN offline).",
    ),
    OpenApiParameter(
        "X-Offline-Signature",
        {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
        OpenApiParameter.HEADER,
        description="For a colleague who switched in by PIN offline: HMAC-SHA256 in hex "
        "over `<Idempotency-Key>\\n<X-Offline-Charted-By>\\n<body>`, keyed with what their "
        "PIN derives (Argon2id; see the offline bundle's `staff[].pin`).",
    ),
    OpenApiParameter(
        "X-Offline-Order",
        OpenApiTypes.UUID,
        OpenApiParameter.HEADER,
        description="With X-Offline-Queued-At, for a scheduled dose: its order, so a dose "
        "that no longer exists (the order changed while offline) is answered as a "
        "conflict about that order.",
    ),
]
