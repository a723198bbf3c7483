"""The REST API's views: parse, call one selector or service, render.

Role rules are the services' (a med tech cannot enter or change orders, a nurse verifies,
holds, resumes, discontinues and amends, an administrator reads); a view only looks the
subject up within the caller's communities first, so another community's id answers 404
before any rule is asked. Refusals become JSON in ``api.exceptions``.
"""

from __future__ import annotations

import re
import uuid

from django.contrib.auth import authenticate
from django.http import FileResponse, HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api import offline, openapi, selectors
from api import serializers as s
from api.base import (
    ERRORS,
    ApiView,
    chart_entry,
    dose_or_prn_order,
    errors,
    parse,
    record_out,
    require_role,
)
from api.exceptions import IdempotencyKeyMissing, ReferenceNotFound
from inventory import services as stock
from mar.models import Administration, Amendment, Medication
from mar.services import administrations as charting
from mar.services import orders as order_services
from mar.services import reviews
from medtech import security
from medtech.core.permissions import Area
from printing import services as printing
from printing.selectors import Month, can_print_records
from staff import tokens
from staff.models import User

# --- Authentication ------------------------------------------------------------------------


class SignInPaused(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "sign_in_paused"

    def __init__(self, *, request: HttpRequest, username: str) -> None:
        now = timezone.now()
        until = security.sign_in_paused_until(
            username=username, ip_address=request.META.get("REMOTE_ADDR"), now=now
        )
        self.wait = max(1, int(((until or now) - now).total_seconds()))
        super().__init__(security.paused_message(request=request, username=username))


class TokenView(ApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_token",
        description="Exchange a username and password for a new API token for this device, "
        "sent as `Authorization: Token <token>`. Only its digest is kept: it is shown once. "
        "It expires after the pages' idle limit without use (each use renews it) and 12 "
        "hours after it was issued, and ends at logout, at a password change and when the "
        "account is deactivated.",
        request=s.TokenIn,
        responses={
            200: s.TokenOut,
            **errors(400, 401),
            429: OpenApiResponse(
                s.ErrorOut,
                description="5 failed sign-ins for this username from this address: paused "
                "for 15 minutes (`Retry-After` says how many seconds are left).",
            ),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = self.body(s.TokenIn)
        # The Django request, which django-axes marks when this username is paused here.
        http_request = request._request
        user = authenticate(http_request, username=data["username"], password=data["password"])
        if getattr(http_request, "axes_locked_out", False):
            raise SignInPaused(request=http_request, username=data["username"])
        if user is None:
            raise exceptions.AuthenticationFailed("Wrong username or password.")
        token, key = tokens.api_token_issue(user=user, now=timezone.now(), request=http_request)
        return Response(s.TokenOut({"token": key, "expiry": token.expiry}).data)

    def get_authenticate_header(self, request) -> str:
        return "Token"


class LogoutView(ApiView):
    authentication_classes = [tokens.TokenAuthentication]

    @extend_schema(
        operation_id="auth_logout",
        request=None,
        responses={204: OpenApiResponse(description="This token no longer works."), **errors(401)},
        description="End the token this request is sent with (this device signs out).",
    )
    def post(self, request: Request) -> Response:
        tokens.api_token_revoke(token=request.auth, now=timezone.now(), request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(ApiView):
    @extend_schema(
        operation_id="auth_logout_all",
        request=None,
        responses={
            204: OpenApiResponse(description="None of your tokens works any more."),
            **errors(401, 403),
        },
        description="End every API token of the signed-in person, on every device.",
    )
    def post(self, request: Request) -> Response:
        tokens.api_tokens_revoke_all(
            user=request.user, now=timezone.now(), request=request._request, reason="logout-all"
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Residents -----------------------------------------------------------------------------


class ResidentListView(ApiView):
    @extend_schema(
        operation_id="residents_list",
        parameters=[s.ResidentFilter],
        responses={200: s.ResidentOut(many=True), **errors(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        residents = selectors.residents_for_user(user=request.user, **self.query(s.ResidentFilter))
        return self.page(residents, s.ResidentOut)


class ResidentDetailView(ApiView):
    @extend_schema(
        operation_id="residents_retrieve",
        responses={200: s.ResidentOut, **errors(401, 403, 404)},
    )
    def get(self, request: Request, id: uuid.UUID) -> Response:
        resident = selectors.resident_for_user(user=request.user, public_id=id)
        self.audit_read(resident)
        return Response(s.ResidentOut(resident).data)


class PdfRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class PdfOnly(BaseContentNegotiation):
    """The document is a PDF whatever the Accept header says; its errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# One resident's monthly MAR as a PDF: the printed record, from ``printing.services``.
class ResidentMarView(ApiView):
    renderer_classes = [PdfRenderer]
    content_negotiation_class = PdfOnly

    @extend_schema(
        operation_id="residents_mar_pdf",
        parameters=[s.MarMonthFilter],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            **{(code, "application/json"): ERRORS[code] for code in (400, 401, 403, 404)},
        },
        description="The monthly MAR of one resident (nurses and administrators), the month "
        "in the community's time zone; the current month when none is given.",
    )
    def get(self, request: Request, id: uuid.UUID) -> FileResponse:
        resident = selectors.resident_for_user(user=request.user, public_id=id)
        if not can_print_records(user=request.user):
            raise exceptions.PermissionDenied("Only administrators and nurses print the MAR.")
        now = timezone.now()
        key = self.query(s.MarMonthFilter).get("month")
        month = Month.parse(key) if key else Month.containing(now, resident.facility.zone)
        job = printing.resident_month_document(
            resident=resident, month=month, now=now, requested_by=request.user
        )
        self.audit_read(resident)
        name = slugify(f"MAR {month.key} {resident.last_name} {resident.first_name}")
        response = FileResponse(
            job.file.open("rb"), content_type="application/pdf", filename=f"{name}.pdf"
        )
        response["Cache-Control"] = "private, no-store"
        return response

    def handle_exception(self, exc):
        # Errors are JSON even when the client asked for the PDF.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


# --- Orders --------------------------------------------------------------------------------


class OrderListView(ApiView):
    @extend_schema(
        operation_id="orders_list",
        parameters=[s.OrderFilter],
        responses={200: s.OrderOut(many=True), **errors(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        filters = self.query(s.OrderFilter)
        orders = selectors.orders_for_user(user=request.user, **filters)
        return self.page(orders, s.OrderOut, one_resident=bool(filters.get("resident")))

    @extend_schema(
        operation_id="orders_create",
        request=s.OrderIn,
        responses={201: s.OrderOut, **errors(400, 401, 403, 404, 409)},
        description="Nurses enter orders. An order waits for a second nurse's verification "
        "unless the community turned that off.",
    )
    def post(self, request: Request) -> Response:
        require_role(request.user, Area.ORDER_ENTER, "Only a nurse can enter an order.")
        data = self.body(s.OrderIn)
        resident = selectors.residents_for_user(user=request.user).filter(
            public_id=data.pop("resident")
        )
        if not (resident := resident.first()):
            raise ReferenceNotFound(field="resident", what="resident")
        if not (medication := Medication.objects.filter(public_id=data.pop("medication")).first()):
            raise ReferenceNotFound(field="medication", what="medication")
        order = order_services.order_create(
            resident=resident,
            medication=medication,
            entered_by=request.user,
            now=timezone.now(),
            **data,
        )
        order = selectors.orders_for_user(user=request.user).get(pk=order.pk)
        return Response(s.OrderOut(order).data, status=status.HTTP_201_CREATED)


class OrderDetailView(ApiView):
    @extend_schema(
        operation_id="orders_retrieve", responses={200: s.OrderOut, **errors(401, 403, 404)}
    )
    def get(self, request: Request, id: uuid.UUID) -> Response:
        order = selectors.order_for_user(user=request.user, public_id=id)
        self.audit_read(order.resident)
        return Response(s.OrderOut(order).data)


def _order_action(request: Request, id: uuid.UUID, action: str) -> Response:
    """verify, hold, resume, discontinue: a nurse, on an order of their community."""
    order = selectors.order_for_user(user=request.user, public_id=id)
    what = "review the allergy of" if action == "allergy_review" else action
    require_role(request.user, Area.ORDER_ENTER, f"Only a nurse can {what} an order.")
    now = timezone.now()
    if action == "verify":
        answers = parse(s.VerifyIn, request.data)
        order_services.order_verify(order=order, verified_by=request.user, now=now, **answers)
    elif action == "allergy_review":
        data = parse(s.AllergyReviewIn, request.data)
        order_services.order_allergy_review(
            order=order,
            by=request.user,
            now=now,
            acknowledged=data["allergy_acknowledged"],
            reason_code=data["reason_code"],
            reason=data["reason"],
        )
    elif action == "resume":
        order_services.order_resume(order=order, by=request.user, now=now)
    else:
        reason = parse(s.ReasonIn, request.data)["reason"]
        change = {
            "hold": order_services.order_hold,
            "discontinue": order_services.order_discontinue,
        }
        change[action](order=order, by=request.user, reason=reason, now=now)
    return Response(s.OrderOut(selectors.order_for_user(user=request.user, public_id=id)).data)


def _order_action_schema(action: str, *, reason: bool, description: str, request=None):
    return extend_schema(
        operation_id=f"orders_{action}",
        request=request or (s.ReasonIn if reason else None),
        responses={200: s.OrderOut, **errors(400, 401, 403, 404, 409)},
        description=description,
    )


class OrderVerifyView(ApiView):
    @_order_action_schema(
        "verify",
        reason=False,
        request=s.VerifyIn,
        description="The second check, by another nurse than the one who entered the order. "
        "An allergy match needs `allergy_acknowledged`, a dose above the usual range "
        "`dose_warnings_acknowledged`.",
    )
    def post(self, request: Request, id: uuid.UUID) -> Response:
        return _order_action(request, id, "verify")


class OrderAllergyReviewView(ApiView):
    @_order_action_schema(
        "allergy_review",
        reason=False,
        request=s.AllergyReviewIn,
        description="Keep an order that an allergy recorded after it matches (its doses "
        "are stopped until then), with a coded reason or a sentence. To stop it instead, "
        "discontinue it.",
    )
    def post(self, request: Request, id: uuid.UUID) -> Response:
        return _order_action(request, id, "allergy_review")


class OrderHoldView(ApiView):
    @_order_action_schema("hold", reason=True, description="Hold an active order, saying why.")
    def post(self, request: Request, id: uuid.UUID) -> Response:
        return _order_action(request, id, "hold")


class OrderResumeView(ApiView):
    @_order_action_schema("resume", reason=False, description="Resume an order on hold.")
    def post(self, request: Request, id: uuid.UUID) -> Response:
        return _order_action(request, id, "resume")


class OrderDiscontinueView(ApiView):
    @_order_action_schema("discontinue", reason=True, description="Discontinue, saying why.")
    def post(self, request: Request, id: uuid.UUID) -> Response:
        return _order_action(request, id, "discontinue")


# --- Doses ---------------------------------------------------------------------------------


class DoseListView(ApiView):
    @extend_schema(
        operation_id="doses_list",
        parameters=[s.DoseFilter],
        responses={200: s.DoseOut(many=True), **errors(400, 401, 403)},
        description="Scheduled doses, by scheduled time. `status` is the dose's state now: "
        "upcoming (window not open), due, late (window closed, still chartable), missed, "
        "away, charted.",
    )
    def get(self, request: Request) -> Response:
        filters = self.query(s.DoseFilter)
        doses = selectors.doses_for_user(
            user=request.user,
            now=timezone.now(),
            cart=filters.get("cart"),
            resident=filters.get("resident"),
            status=filters.get("status"),
            since=filters.get("from"),
            until=filters.get("to"),
        )
        return self.page(doses, s.DoseOut, one_resident=bool(filters.get("resident")))


# --- Administrations -----------------------------------------------------------------------

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,99}$")
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 100, "pattern": IDEMPOTENCY_KEY.pattern},
    OpenApiParameter.HEADER,
    required=True,
    description="One key per charting attempt (e.g. a UUID made on the tablet). A retry "
    "with the same key and body answers 200 with the first record; the same key with "
    "another body answers 422.",
)


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        raise IdempotencyKeyMissing("Send an Idempotency-Key header (e.g. a new UUID).")
    if not IDEMPOTENCY_KEY.fullmatch(key) or not key.strip():
        raise IdempotencyKeyMissing("An Idempotency-Key is 1-100 printable ASCII characters.")
    return key.strip()


class AdministrationListView(ApiView):
    @extend_schema(
        operation_id="administrations_list",
        parameters=[s.AdministrationFilter],
        responses={200: s.AdministrationOut(many=True), **errors(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        filters = self.query(s.AdministrationFilter)
        records = selectors.administrations_for_user(
            user=request.user,
            resident=filters.get("resident"),
            order=filters.get("order"),
            status=filters.get("status"),
            since=filters.get("from"),
            until=filters.get("to"),
        )
        return self.page(records, s.AdministrationOut, one_resident=bool(filters.get("resident")))

    @extend_schema(
        operation_id="administrations_create",
        parameters=[IDEMPOTENCY_HEADER, *openapi.OFFLINE_HEADERS],
        request=s.AdministrationIn,
        responses={
            201: OpenApiResponse(s.AdministrationOut, description="Charted."),
            200: OpenApiResponse(
                s.AdministrationOut, description="A retry: the record the key made first."
            ),
            **errors(400, 401, 403, 404),
            409: OpenApiResponse(
                s.ErrorOut, description="Already charted; `existing` is that record."
            ),
            422: OpenApiResponse(
                s.ErrorOut,
                description="The key was used for another request, or a rule refused it "
                "(too early, PRN limit, hold parameter, no stock, order not chartable).",
            ),
        },
        description="Chart a dose: given or not given (with its reason). Every safety "
        "gate of the med pass applies.",
    )
    def post(self, request: Request) -> Response:
        key = _idempotency_key(request)
        if offline.is_offline_request(request):  # a dose from a tablet's offline queue
            return offline.administration_post_offline(self, request, idempotency_key=key)
        data = self.body(s.AdministrationIn)
        user = request.user
        dose, order = dose_or_prn_order(user=user, data=data)
        result = charting.administration_record(
            user=user,
            idempotency_key=key,
            now=timezone.now(),
            entry=chart_entry(user=user, data=data, scheduled_dose=dose, order=order),
            source=Administration.Source.API,
        )
        return Response(
            record_out(request, result),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class DoseOverrideView(ApiView):
    @extend_schema(
        operation_id="overrides_create",
        request=s.DoseOverrideIn,
        responses={201: s.DoseOverrideOut, **errors(400, 401, 403, 404, 422)},
        description="A nurse lets one dose be charted past a rule that stops it (before its "
        "window, too close to another dose, a hold parameter crossed) within the next hour; "
        "the record that uses it keeps who, when and why.",
    )
    def post(self, request: Request) -> Response:
        require_role(request.user, Area.NURSE_OVERRIDE, "Only a nurse overrides a dose.")
        data = self.body(s.DoseOverrideIn)
        dose, order = dose_or_prn_order(user=request.user, data=data)
        override = charting.dose_override_grant(
            nurse=request.user,
            reason=data["reason"],
            now=timezone.now(),
            scheduled_dose=dose,
            order=order,
        )
        return Response(s.DoseOverrideOut(override).data, status=status.HTTP_201_CREATED)


class AdministrationDetailView(ApiView):
    @extend_schema(
        operation_id="administrations_retrieve",
        responses={200: s.AdministrationOut, **errors(401, 403, 404)},
    )
    def get(self, request: Request, id: uuid.UUID) -> Response:
        record = selectors.administration_for_user(user=request.user, public_id=id)
        self.audit_read(record.resident)
        return Response(s.AdministrationOut(record).data)


class AmendmentView(ApiView):
    @extend_schema(
        operation_id="administrations_amend",
        request=s.AmendmentIn,
        responses={201: s.AmendmentOut, **errors(400, 401, 403, 404)},
        description="Correct a record; the old value is kept. Nurses amend; "
        "`entered_in_error` is also open to the person who charted it, within 2 minutes.",
    )
    def post(self, request: Request, id: uuid.UUID) -> Response:
        record = selectors.administration_for_user(user=request.user, public_id=id)
        # A nurse amends; the one who charted it may still mark it entered in error at once
        # (the service tells the two apart). Administrators do neither.
        require_role(request.user, Area.CHART, "Only a nurse corrects a record, by amendment.")
        data = self.body(s.AmendmentIn)
        now = timezone.now()
        if data["field"] == Amendment.Field.ENTERED_IN_ERROR:
            amendment = charting.administration_mark_entered_in_error(
                administration=record, user=request.user, reason=data["reason"], now=now
            )
        else:
            amendment = charting.administration_amend(
                administration=record,
                user=request.user,
                field=data["field"],
                new_value=data["new_value"],
                reason=data["reason"],
                now=now,
            )
        return Response(s.AmendmentOut(amendment).data, status=status.HTTP_201_CREATED)


class EffectivenessView(ApiView):
    @extend_schema(
        operation_id="administrations_effectiveness",
        request=s.EffectivenessIn,
        responses={201: s.EffectivenessOut, **errors(400, 401, 403, 404)},
        description="The follow-up of a PRN dose that was given: did it work?",
    )
    def post(self, request: Request, id: uuid.UUID) -> Response:
        record = selectors.administration_for_user(user=request.user, public_id=id)
        require_role(request.user, Area.CHART, "Only med techs and nurses follow up PRN doses.")
        data = self.body(s.EffectivenessIn)
        check = charting.administration_record_effectiveness(
            administration=record,
            user=request.user,
            result=data["result"],
            note=data["note"],
            now=timezone.now(),
        )
        return Response(s.EffectivenessOut(check).data, status=status.HTTP_201_CREATED)


# --- Exceptions ----------------------------------------------------------------------------


class ExceptionListView(ApiView):
    @extend_schema(
        operation_id="exceptions_list",
        parameters=[s.ExceptionFilter],
        responses={200: s.ExceptionOut(many=True), **errors(400, 401, 403)},
        description="Missed, late, refused, held, not available and away doses, and "
        "concern reports, newest first; open ones unless `status` says otherwise. For "
        "nurses and administrators.",
    )
    def get(self, request: Request) -> Response:
        require_role(
            request.user, Area.EXCEPTIONS_READ, "Exceptions are for nurses and administrators."
        )
        filters = self.query(s.ExceptionFilter)
        rows = selectors.exceptions_for_user(
            user=request.user,
            now=timezone.now(),
            status=filters["status"],
            kind=filters.get("kind"),
            resident=filters.get("resident"),
            facility=filters.get("facility"),
            since=filters.get("from"),
            until=filters.get("to"),
        )
        page = self.paginate_queryset(rows)
        found = selectors.exception_rows(page)
        if filters.get("resident") and found:
            self.audit_read(found[0].instance.resident)
        data = s.ExceptionOut(found, many=True).data
        return self.get_paginated_response(data)


class ExceptionAcknowledgeView(ApiView):
    @extend_schema(
        operation_id="exceptions_acknowledge",
        request=s.AcknowledgeIn,
        responses={201: s.ExceptionOut, **errors(400, 401, 403, 404, 409)},
        description="A nurse acknowledges an exception with a follow-up note.",
    )
    def post(self, request: Request, id: uuid.UUID) -> Response:
        now = timezone.now()
        found = list(
            selectors.exceptions_for_user(user=request.user, now=now, status="all", public_id=id)
        )
        if not found:
            raise exceptions.NotFound("No exception with this id in your communities.")
        require_role(request.user, Area.EXCEPTION_ACK, "Only a nurse acknowledges an exception.")
        data = self.body(s.AcknowledgeIn)
        (row,) = selectors.exception_rows(found[:1])
        subject = {
            selectors.DOSE: "scheduled_dose",
            selectors.RECORD: "administration",
            selectors.CONCERN: "concern",
        }[row.subject]
        reviews.exception_acknowledge(
            user=request.user,
            note=data["note"],
            now=now,
            physician_notified=data["physician_notified"],
            family_notified=data["family_notified"],
            **{subject: row.instance},
        )
        refreshed = selectors.exceptions_for_user(
            user=request.user, now=now, status="all", public_id=id
        )
        (row,) = selectors.exception_rows(list(refreshed[:1]))
        return Response(s.ExceptionOut(row).data, status=status.HTTP_201_CREATED)


# --- Stock ---------------------------------------------------------------------------------


class StockListView(ApiView):
    @extend_schema(
        operation_id="stock_list",
        parameters=[s.StockFilter],
        responses={200: s.StockItemOut(many=True), **errors(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        items = selectors.stock_for_user(user=request.user, **self.query(s.StockFilter))
        return self.page(items, s.StockItemOut)


class StockDetailView(ApiView):
    @extend_schema(
        operation_id="stock_retrieve", responses={200: s.StockItemOut, **errors(401, 403, 404)}
    )
    def get(self, request: Request, id: uuid.UUID) -> Response:
        item = selectors.stock_item_for_user(user=request.user, public_id=id)
        return Response(s.StockItemOut(item).data)


class StockTransactionView(ApiView):
    @extend_schema(
        operation_id="stock_transactions_create",
        request=s.StockTransactionIn,
        responses={201: s.StockTransactionOut, **errors(400, 401, 403, 404, 409, 422)},
        description="Receive, waste, return, adjust or transfer stock: one new row of the "
        "append-only ledger (for a transfer, the row that takes it off this package).",
    )
    def post(self, request: Request, id: uuid.UUID) -> Response:
        item = selectors.stock_item_for_user(user=request.user, public_id=id)
        data = self.body(s.StockTransactionIn)
        witness = to_cart = None
        if data["witness"]:
            witness = selectors.colleague_for_user(user=request.user, public_id=data["witness"])
            if witness is None:
                raise ReferenceNotFound(field="witness", what="colleague")
        if data["to_cart"]:
            to_cart = selectors.cart_for_user(user=request.user, public_id=data["to_cart"])
            if to_cart is None:
                raise ReferenceNotFound(field="to_cart", what="cart")
        row = stock_movement(
            item=item,
            by=request.user,
            now=timezone.now(),
            witness=witness,
            to_cart=to_cart,
            **{
                key: data[key]
                for key in ("kind", "quantity", "counted", "reason", "witness_secret")
            },
        )
        row = selectors.stock_transaction(pk=row.pk)
        return Response(s.StockTransactionOut(row).data, status=status.HTTP_201_CREATED)


def stock_movement(
    *,
    item,
    kind: str,
    by: User,
    now,
    quantity,
    counted,
    reason: str,
    witness,
    witness_secret: str,
    to_cart,
):
    """The inventory service for one kind of movement."""
    signed = {"witness": witness, "witness_secret": witness_secret}
    match kind:
        case "receive":
            return stock.stock_receive(
                item=item, by=by, quantity=quantity, note=reason, now=now, **signed
            )
        case "waste":
            return stock.stock_waste(
                item=item, by=by, quantity=quantity, reason=reason, now=now, **signed
            )
        case "return":
            return stock.stock_return(
                item=item, by=by, quantity=quantity, reason=reason, now=now, **signed
            )
        case "adjust":
            return stock.stock_adjust(
                item=item, by=by, quantity=quantity, counted=counted, reason=reason, now=now
            )
        case _:
            out, _ = stock.stock_transfer(
                item=item, to_cart=to_cart, by=by, quantity=quantity, reason=reason, now=now
            )
            return out


# --- Anything else under /api/ -------------------------------------------------------------


@csrf_exempt  # it changes nothing, so any method gets the same JSON 404
def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """JSON 404 for paths under /api/ that name no endpoint (never Django's HTML page)."""
    return JsonResponse({"detail": "No such endpoint."}, status=404)
