"""What the API's views share: the base view (JSON in and out, never cached, paginated,
audited reads), the documented error answers, and the parsing of a chart request that
the online endpoint and the offline queue's alike hand to the charting service.

``api.views`` and ``api.offline`` both build on this module; it imports neither.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api import selectors
from api import serializers as s
from api.exceptions import ReferenceNotFound
from api.pagination import Pagination
from api.parsers import SafeJSONParser
from mar.services import administrations as charting
from medtech.core import permissions
from medtech.core.audit import audit_read
from staff.models import User

NOT_FOUND = OpenApiResponse(s.ErrorOut, description="Not found in your communities.")
ERRORS = {
    400: OpenApiResponse(s.ErrorOut, description="Bad input; `field` names the field."),
    401: OpenApiResponse(s.ErrorOut, description="No or wrong credentials."),
    403: OpenApiResponse(s.ErrorOut, description="Your role may not do this."),
    404: NOT_FOUND,
    409: OpenApiResponse(s.ErrorOut, description="Conflicts with the record's state."),
    422: OpenApiResponse(s.ErrorOut, description="Refused by a rule of the domain."),
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in codes}


def parse(serializer_class, data, **kwargs) -> dict[str, Any]:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# JSON in, JSON out; never cached (the answers hold health information). (A comment, not
# a docstring: drf-spectacular would print a docstring on every operation.)
class ApiView(GenericAPIView):
    parser_classes = [SafeJSONParser]
    renderer_classes = [JSONRenderer]
    pagination_class = Pagination
    metadata_class = None  # the schema at /api/schema/ describes everything

    def options(self, request: Request, *args, **kwargs) -> Response:
        """204 with ``Allow`` (added by DRF): the methods this path takes."""
        return Response(status=status.HTTP_204_NO_CONTENT)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response

    def query(self, serializer_class) -> dict[str, Any]:
        # A plain dict, not the QueryDict: DRF reads "?to=" from a QueryDict as if it were
        # not there (an HTML form's blank field); here it is a value, and a wrong one.
        return parse(serializer_class, self.request.query_params.dict())

    def body(self, serializer_class) -> dict[str, Any]:
        return parse(serializer_class, self.request.data)

    def page(self, queryset, serializer_class, *, one_resident: bool = False) -> Response:
        """``one_resident``: the list is filtered to one resident, so a page with rows is a
        read of that resident's record (the rows carry their resident)."""
        rows = self.paginate_queryset(queryset)
        if one_resident and rows:
            self.audit_read(rows[0].resident)
        return self.get_paginated_response(serializer_class(rows, many=True).data)

    def audit_read(self, resident) -> None:
        request_audit_read(self.request, resident)


def request_audit_read(request: Request, resident) -> None:
    """One audit row per request that shows a resident's record (REST and FHIR alike)."""
    match = request.resolver_match
    audit_read(
        actor=request.user,
        resident=resident,
        view=match.view_name if match else request.path,
        request=request,
        now=timezone.now(),
    )


def require_role(user: User, area: permissions.Area, message: str) -> None:
    """403 with ``message`` unless the permission matrix lets the user's role into ``area``."""
    permissions.require(user, area, error=exceptions.PermissionDenied, message=message)


def record_out(request: Request, result: charting.ChartResult) -> dict:
    if result.created:  # everything it shows was loaded by the service
        return s.AdministrationOut(result.administration, context={"is_new": True}).data
    public_id = result.administration.public_id
    return s.AdministrationOut(
        selectors.administration_for_user(user=request.user, public_id=public_id)
    ).data


def dose_or_prn_order(*, user, data: dict[str, Any]) -> tuple[Any, Any]:
    """The scheduled dose or the PRN order a body names, in the caller's communities."""
    if data["scheduled_dose"]:
        dose = selectors.dose_for_charting(user=user, public_id=data["scheduled_dose"])
        if dose is None:
            raise ReferenceNotFound(field="scheduled_dose", what="scheduled dose")
        return dose, None
    order = selectors.prn_order_for_charting(user=user, public_id=data["order"])
    if order is None:
        raise ReferenceNotFound(field="order", what="order")
    return None, order


def chart_entry(
    *, user, data: dict[str, Any], scheduled_dose=None, order=None
) -> charting.ChartEntry:
    """The charting request a chart body (online or from the offline queue) describes:
    the people it names resolved in the caller's communities, and the claims the service
    checks against the record."""
    people = {}
    for field, what in (("witness", "colleague"), ("override_by", "nurse")):
        people[field] = None
        if data[field]:
            people[field] = selectors.colleague_for_user(user=user, public_id=data[field])
            if people[field] is None:
                raise ReferenceNotFound(field=field, what=what)
    return charting.ChartEntry(
        scheduled_dose=scheduled_dose,
        order=order,
        status=data["status"],
        administered_at=data["administered_at"],
        reason=data["reason"],
        note=data["note"],
        vitals=data["vitals"],
        prn_reason=data["prn_reason"],
        scanned_code=data["scanned_code"],
        scan_skipped=data["scan_skipped"],
        override_secret=data["override_secret"],
        override_reason=data["override_reason"],
        claims=charting.Claims(
            resident=data["resident"],
            medication=data["medication"],
            dose_amount=data["dose_amount"],
            dose_unit=data["dose_unit"],
            route=data["route"],
        ),
        **people,
    )
