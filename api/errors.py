"""Django's own error answers (handler400/403/404/500) under /api/ and /fhir/: JSON there.

A client of the API or of FHIR never gets an HTML page, whatever failed: a path no URL
pattern matches (one with a newline in it, say), an ``Http404`` raised before DRF, a
refused host or a server error. Everything else keeps Django's pages.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

FHIR_JSON = "application/fhir+json; charset=utf-8"
# Status -> (OperationOutcome issue code, what to tell the client).
ANSWERS = {
    400: ("invalid", "The request is malformed."),
    403: ("forbidden", "You may not do this."),
    404: ("not-found", "No such endpoint."),
    500: ("exception", "Something went wrong on the server; nothing was changed by it."),
}


def _area(path: str) -> str | None:
    for area in ("api", "fhir"):
        if path == f"/{area}" or path.startswith(f"/{area}/"):
            return area
    return None


def error_response(request: HttpRequest, status: int) -> JsonResponse | None:
    """The JSON answer for ``status`` when ``request`` is under /api/ or /fhir/, else None."""
    area = _area(request.path)
    if area is None:
        return None
    code, detail = ANSWERS[status]
    if area == "fhir":
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": detail}],
        }
        return JsonResponse(outcome, status=status, content_type=FHIR_JSON)
    response = JsonResponse({"detail": detail}, status=status)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_response(request, 400) or defaults.bad_request(request, exception)


@csrf_exempt
def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_response(request, 403) or defaults.permission_denied(request, exception)


@csrf_exempt
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_response(request, 404) or defaults.page_not_found(request, exception)


@csrf_exempt
def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, 500) or defaults.server_error(request)
