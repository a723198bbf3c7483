"""Input no page or API call can use: refused at the door with a clear 400.

PostgreSQL cannot store a NUL character in text, and no person types one: a request that
carries one in its query string, form fields or JSON body is malformed (or hostile), and
letting it reach a query or an INSERT would turn it into a server error. Forms and
serializers already refuse it field by field; this catches the values read directly
(searches, notes, redirects) and every view added later.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL = "\x00"
MESSAGE = "The request contains a NUL character, which no field accepts."
USERNAME_MAX_LENGTH = 150  # Django's own limit for a username


def _carries_nul(request: HttpRequest) -> bool:
    if NUL in request.path:
        return True
    sources = [request.GET, request.POST] if request.method == "POST" else [request.GET]
    for values in sources:
        for key, items in values.lists():
            if NUL in key or any(NUL in item for item in items if isinstance(item, str)):
                return True
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("application/json"):
        # JSON spells NUL as the escape \u0000; raw NUL bytes are invalid JSON anyway.
        return b"\\u0000" in request.body or b"\x00" in request.body
    return False


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _carries_nul(request):
            if request.path.startswith("/fhir/"):
                outcome = {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "invalid", "diagnostics": MESSAGE}],
                }
                return JsonResponse(outcome, status=400, content_type="application/fhir+json")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MESSAGE}, status=400)
            return HttpResponseBadRequest(MESSAGE)
        return self.get_response(request)


def axes_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The username django-axes records for a sign-in attempt, cut to what a username can
    be: a 20,000-character "username" is a failed sign-in (and counted), not a server error
    from a column of 255 characters. ``AXES_USERNAME_CALLABLE`` points here."""
    field = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
    value = credentials.get(field) if credentials else request.POST.get(field)
    if value is None:
        return None
    return str(value)[:USERNAME_MAX_LENGTH]
