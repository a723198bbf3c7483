"""Every refusal as JSON, in one place.

The body is always ``{"detail": "<what happened and what to do>"}``; validation errors
add ``"field"`` (the first field at fault, dotted for nested ones, null when the error is
about the request as a whole) and ``"errors"`` (all of them, by field). A dose already
charted (409) adds ``"existing"``; a PRN limit (422) ``"allowed_at"``; a hold parameter
(422) ``"reasons"``.

Domain exceptions map to status codes here, so views just call the service:
bad input 400, not allowed 403, not found or outside the caller's communities 404,
a conflict with the record's state 409, a rule of the domain refusing the request 422.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DataError, IntegrityError
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api.serializers import AdministrationSummaryOut
from mar.services import administrations as charting
from medtech.core.errors import DomainError, http_status

logger = logging.getLogger(__name__)


class ReferenceNotFound(drf.NotFound):
    """A field of the request body names something the caller cannot see: 404, with the
    field, and the same answer whether it exists in another community or nowhere."""

    def __init__(self, *, field: str, what: str) -> None:
        super().__init__(f"No {what} with this id in your communities.")
        self.field = field


class IdempotencyKeyMissing(drf.ValidationError):
    def __init__(self, message: str) -> None:
        super().__init__({"Idempotency-Key": [message]})


def existing_summary(record) -> dict[str, Any]:
    """What a tablet shows when someone else charted the dose first."""
    return AdministrationSummaryOut(record).data


def _domain_body(error: DomainError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": str(error)}
    if error.field:
        body["field"] = error.field
    if isinstance(error, charting.DoseAlreadyCharted):
        body["existing"] = existing_summary(error.existing)
    if isinstance(error, charting.PrnLimitReached):
        body["allowed_at"] = error.allowed_at.isoformat().replace("+00:00", "Z")
    if isinstance(error, charting.HoldParameterMet):
        body["reasons"] = error.reasons
    return body


def _constraint_name(error: Exception) -> str:
    """What a log may say about a database refusal: the constraint or the error code,
    never the message, which quotes the values (a resident's name, a note)."""
    diag = getattr(getattr(error, "__cause__", None), "diag", None)
    return (
        getattr(diag, "constraint_name", None)
        or getattr(diag, "sqlstate", None)
        or type(error).__name__
    )


def _domain_problem(error: Exception) -> tuple[int, dict] | None:
    if isinstance(error, DomainError):
        return http_status(error), _domain_body(error)
    if isinstance(error, IntegrityError):
        # The services check what they can first; the database's own refusal is the backstop.
        # The constraint's name only: PostgreSQL's message quotes the failing row (PHI).
        logger.warning("Refused by a database constraint: %s", _constraint_name(error))
        return 409, {"detail": "The record refused this change (it conflicts with its state)."}
    if isinstance(error, DataError):
        logger.warning("Refused by the database: %s", _constraint_name(error))
        return 400, {"detail": "A value is out of range for the record."}
    return None


def _first_error(detail: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str] | None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            if found := _first_error(value, (*path, str(key))):
                return found
        return None
    if isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, str):
                return path, str(item)
            if found := _first_error(item, (*path, str(index))):
                return found
        return None
    return path, str(detail)


def validation_body(detail: Any) -> dict[str, Any]:
    found = _first_error(detail)
    path, message = found if found else ((), "The request is not valid.")
    field = ".".join(path) if path and path != ("non_field_errors",) else None
    return {"detail": message, "field": field, "errors": detail}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if problem := _domain_problem(exc):
        status_code, body = problem
        return Response(body, status=status_code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: let it be a 500 and be seen
    if isinstance(exc, drf.ValidationError):
        response.data = validation_body(response.data)
    elif isinstance(exc, ReferenceNotFound):
        response.data = {"detail": str(exc.detail), "field": exc.field}
    elif not isinstance(response.data, dict) or "detail" not in response.data:
        response.data = {"detail": str(response.data)}
    return response
