"""The API's part of the offline med pass (see mar/services/offline.py for the rules).

- ``GET /api/v1/offline/carts/{id}/``: the cart's offline bundle (mar/selectors_offline.py).
- ``POST /api/v1/administrations/`` with ``X-Offline-Queued-At``: a dose from a tablet's
  offline queue; ``AdministrationListView.post`` hands such requests to
  ``administration_post_offline`` here.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api import selectors
from api import serializers as s
from api.base import ApiView, chart_entry, errors, record_out
from api.exceptions import ReferenceNotFound, api_exception_handler
from api.offline_schema import OfflineBundleOut
from inventory.selectors import cart_for_user
from mar import selectors_offline
from mar.models import Order
from mar.services import offline
from medtech.core.audit import request_origin
from medtech.models import AuditEvent
from residents.models import Resident

QUEUED_AT = "X-Offline-Queued-At"
CHARTED_BY = "X-Offline-Charted-By"
SIGNATURE = "X-Offline-Signature"
ORDER = "X-Offline-Order"  # a scheduled dose's order: its dose may be gone (discontinued)


def is_offline_request(request: Request) -> bool:
    return bool(request.headers.get(QUEUED_AT))


def _header_error(header: str, message: str) -> ValidationError:
    return ValidationError({header: [message]})


def offline_claim(request: Request, *, idempotency_key: str) -> offline.OfflineClaim:
    """Parse the offline headers. Reads the raw body before DRF parses it (the signature
    covers the body exactly as the tablet sent it)."""
    body = request._request.body  # cached by Django; DRF's parser reads it again
    queued_at = parse_datetime(request.headers.get(QUEUED_AT, "").strip())
    if queued_at is None or timezone.is_naive(queued_at):
        raise _header_error(QUEUED_AT, "An ISO 8601 time with its offset, e.g. ...Z.")
    try:
        charted_by = uuid.UUID(request.headers.get(CHARTED_BY, "").strip())
    except ValueError:
        raise _header_error(CHARTED_BY, "The public id of who charted the dose.") from None
    signature = request.headers.get(SIGNATURE, "").strip()
    if len(signature) > 128:
        raise _header_error(SIGNATURE, "An HMAC-SHA256 in hex.")
    return offline.OfflineClaim(
        queued_at=queued_at.astimezone(dt.UTC),
        charted_by=charted_by,
        signature=signature,
        idempotency_key=idempotency_key,
        body=body,
    )


def _order_of_lost_dose(request: Request) -> Order | None:
    try:
        public_id = uuid.UUID(request.headers.get(ORDER, "").strip())
    except ValueError:
        return None
    return selectors.prn_order_for_charting(user=request.user, public_id=public_id)


def administration_post_offline(
    view: ApiView, request: Request, *, idempotency_key: str
) -> Response:
    """Record one queued dose: 201 new, 200 a replay of the same key; 409 charted by
    someone else meanwhile and 422 an order stopped or held (the nurses are told)."""
    claim = offline_claim(request, idempotency_key=idempotency_key)
    data = view.body(s.AdministrationIn)
    user = request.user
    dose = order = lost_dose_order = None
    if data["scheduled_dose"]:
        dose = selectors.dose_for_charting(user=user, public_id=data["scheduled_dose"])
        if dose is None:
            lost_dose_order = _order_of_lost_dose(request)
            if lost_dose_order is None:
                raise ReferenceNotFound(field="scheduled_dose", what="scheduled dose")
    else:
        order = selectors.prn_order_for_charting(user=user, public_id=data["order"])
        if order is None:
            raise ReferenceNotFound(field="order", what="order")
    try:
        result = offline.administration_record_offline(
            session_user=user,
            claim=claim,
            now=timezone.now(),
            entry=chart_entry(user=user, data=data, scheduled_dose=dose, order=order),
            lost_dose_order=lost_dose_order,
        )
    except offline.CONFLICTS as error:
        # The usual 409/422 answer, saying that the nurses were told of it.
        response = api_exception_handler(error, {})
        response.data["conflict"] = True
        response.data["nurses_notified"] = True
        return response
    return Response(
        record_out(request, result),
        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
    )


class CartOfflineBundleView(ApiView):
    @extend_schema(
        operation_id="offline_bundle",
        responses={200: OfflineBundleOut, **errors(401, 403, 404)},
        description="What a cart's tablet keeps for charting offline: residents with "
        "photos and allergies, the doses of this pass and the next, PRN orders with "
        "their limits and last 24 hours of doses, and the Argon2id PIN verifiers of the "
        "staff on duty for this cart, for the offline switch (never PINs or password "
        "hashes). Only for someone who has taken this cart (403 otherwise).",
    )
    def get(self, request: Request, id: uuid.UUID) -> Response:
        now = timezone.now()
        cart = cart_for_user(user=request.user, public_id=id)
        if not selectors_offline.cart_is_taken_by(user=request.user, cart=cart):
            raise PermissionDenied(
                "Take this cart on the med pass first: its offline copy (residents, doses "
                "and the PIN switch) goes only to the tablet of someone who has the cart."
            )
        bundle = selectors_offline.offline_bundle_for_cart(cart=cart, now=now)
        _audit_bundle_read(request, cart=cart, bundle=bundle, now=now)
        response = Response(bundle)
        response["Cache-Control"] = "no-store"
        return response


def _audit_bundle_read(request: Request, *, cart, bundle: dict, now) -> None:
    """The bundle shows every resident of the cart: one audit row each (as
    ``medtech.core.audit.audit_read`` writes them), in one insert."""
    ip, device = request_origin(request._request)
    resident_ids = Resident.objects.filter(
        public_id__in=[r["id"] for r in bundle["residents"]], facility_id=cart.facility_id
    ).values_list("pk", flat=True)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            occurred_at=now,
            kind=AuditEvent.Kind.READ,
            action="resident.read",
            actor=request.user,
            actor_username=request.user.get_username(),
            target_type="residents.resident",
            target_id=str(resident_id),
            resident_id=resident_id,
            facility_id=cart.facility_id,
            view="api:offline_bundle",
            ip_address=ip,
            device=device,
        )
        for resident_id in resident_ids.order_by("pk")
    )
