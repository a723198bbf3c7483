"""HL7 FHIR R4, read-only: Patient, MedicationRequest, MedicationAdministration.

Resource ids are the API's ids (public UUIDs). The same authentication and scoping as
the REST API: another community's resource answers 404. Responses are
``application/fhir+json``; errors are OperationOutcome resources.

Searches answer ``searchset`` Bundles:
``MedicationRequest?patient={id}`` and
``MedicationAdministration?patient={id}&effective-time=ge2026-11-01``, paged with
``_count`` (default 50, at most 200) and ``_offset``. A date without a time is a day in
the patient's community's time zone (UTC when no patient is named); a time covers the
precision it is written in (seconds, or the fractions of a second given). The time searched
is the one the resource shows: the administration time after any amendment.

Every resource carries ``meta.versionId`` (a digest of its content: it changes exactly
when the resource does) and ``meta.lastUpdated`` (the last change of what it shows: an
amendment, a verification or status change of an order, the resident's last audited
write). Only ``application/fhir+json`` is spoken: asking for anything else (XML) is 406.
``GET /fhir/r4/metadata`` is the CapabilityStatement (api/fhir_capability.py).

Status mapping. Orders: pending verification -> draft, active -> active (completed once
its end has passed), on hold -> on-hold, discontinued -> stopped. Administrations:
given -> completed, not given -> not-done with ``statusReason``, entered in error ->
entered-in-error; amendments are applied, so the resource says what the record says now.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import DateTimeField, F, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import selectors
from api.base import request_audit_read
from api.exceptions import api_exception_handler
from api.pagination import MAX_OFFSET
from mar import schedule
from mar.models import Administration, Amendment, Medication, Order, Route
from mar.selectors import administration_current_value, pass_times_by_facility
from medtech.models import AuditEvent
from residents.models import Resident
from staff.models import User

FHIR_JSON = "application/fhir+json"
NDC = "http://hl7.org/fhir/sid/ndc"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
STAFF_SYSTEM = "urn:medtech-emar:staff"
RESIDENT_SYSTEM = "urn:medtech-emar:resident"
RX_SYSTEM = "urn:medtech-emar:rx-number"
NOT_GIVEN_SYSTEM = "urn:medtech-emar:not-given-reason"
DEFAULT_COUNT, MAX_COUNT = 50, 200

# SNOMED CT route of administration codes (the FHIR example value set route-codes).
ROUTE_CODES = {
    Route.ORAL: ("26643006", "Oral route"),
    Route.SUBLINGUAL: ("37839007", "Sublingual route"),
    Route.TOPICAL: ("6064005", "Topical route"),
    Route.TRANSDERMAL: ("45890007", "Transdermal route"),
    Route.OPHTHALMIC: ("54485002", "Ophthalmic route"),
    Route.OTIC: ("10547007", "Otic route"),
    Route.NASAL: ("46713006", "Nasal route"),
    Route.INHALED: ("447694001", "Respiratory tract route"),
    Route.SUBCUTANEOUS: ("34206005", "Subcutaneous route"),
    Route.INTRAMUSCULAR: ("78421000", "Intramuscular route"),
    Route.RECTAL: ("37161004", "Rectal route"),
    Route.ENTERAL: ("417985001", "Enteral route"),
}
REQUEST_STATUS = {
    Order.Status.PENDING_VERIFICATION: "draft",
    Order.Status.ACTIVE: "active",
    Order.Status.ON_HOLD: "on-hold",
    Order.Status.DISCONTINUED: "stopped",
}
WEEKDAYS = {1: "mon", 2: "tue", 3: "wed", 4: "thu", 5: "fri", 6: "sat", 7: "sun"}
OUTCOME_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    415: "not-supported",
    422: "processing",
    429: "throttled",
}


# --- Resources -----------------------------------------------------------------------------


def _instant(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _number(value: Decimal | str) -> int | float:
    number = Decimal(value)
    return int(number) if number == number.to_integral_value() else float(number)


def _quantity(value: Decimal | str, unit: str) -> dict:
    return {"value": _number(value), "unit": unit}


def with_meta(resource: dict, *, last_updated: dt.datetime) -> dict:
    """The resource with ``meta``: versionId is a digest of everything else in it."""
    canonical = json.dumps(resource, sort_keys=True, separators=(",", ":"), default=str)
    version = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return {
        "resourceType": resource["resourceType"],
        "id": resource["id"],
        "meta": {"versionId": version, "lastUpdated": _instant(last_updated)},
        **resource,
    }


def patient_reference(resident: Resident) -> dict:
    return {"reference": f"Patient/{resident.public_id}", "display": resident.display_name}


def staff_reference(user: User) -> dict:
    return {
        "identifier": {"system": STAFF_SYSTEM, "value": str(user.public_id)},
        "display": user.signature_name,
    }


def medication_concept(medication: Medication) -> dict:
    concept: dict[str, Any] = {"text": str(medication)}
    if medication.ndc:
        concept["coding"] = [{"system": NDC, "code": medication.ndc, "display": str(medication)}]
    return concept


def route_concept(route: str) -> dict:
    concept: dict[str, Any] = {"text": Route(route).label if route in Route.values else route}
    if route in ROUTE_CODES:
        code, display = ROUTE_CODES[route]
        concept["coding"] = [{"system": SNOMED, "code": code, "display": display}]
    return concept


def patient_last_updated(resident: Resident) -> dt.datetime:
    """The resident's last audited write (admission, move, leave, discharge, ...); for a
    resident who predates the audit trail, the start of the admission day."""
    last = AuditEvent.objects.filter(
        resident_id=resident.pk,
        kind=AuditEvent.Kind.WRITE,
        target_type=Resident._meta.label_lower,
        target_id=str(resident.pk),
    ).aggregate(last=Max("occurred_at"))["last"]
    return last or dt.datetime.combine(
        resident.admitted_on, dt.time(), tzinfo=resident.facility.zone
    )


def patient_resource(resident: Resident, *, last_updated: dt.datetime) -> dict:
    names: list[dict] = [
        {
            "use": "official",
            "text": resident.full_name,
            "family": resident.last_name,
            "given": [resident.first_name],
        }
    ]
    if resident.preferred_name:
        names.append({"use": "nickname", "given": [resident.preferred_name]})
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(resident.public_id),
        "identifier": [
            {"use": "usual", "system": RESIDENT_SYSTEM, "value": str(resident.public_id)}
        ],
        "active": resident.status in (Resident.Status.ACTIVE, Resident.Status.AWAY),
        "name": names,
        "gender": resident.sex,
        "birthDate": resident.date_of_birth.isoformat(),
        "managingOrganization": {"display": resident.facility.name},
    }
    if resident.status == Resident.Status.DECEASED:
        resource["deceasedBoolean"] = True
    if resident.physician:
        resource["generalPractitioner"] = [{"display": resident.physician}]
    return with_meta(resource, last_updated=last_updated)


def _timing(order: Order, pass_times: dict[str, dt.time]) -> dict:
    repeat: dict[str, Any] = {"boundsPeriod": {"start": _instant(order.starts_at)}}
    if order.ends_at:
        repeat["boundsPeriod"]["end"] = _instant(order.ends_at)
    timing: dict[str, Any] = {"repeat": repeat}
    try:
        frequency = schedule.Frequency.from_order(order, pass_times=pass_times)
    except ValueError:
        return timing  # a schedule the engine cannot read: the bounds are still true
    timing["code"] = {"text": schedule.describe(frequency)}
    if frequency.times:
        repeat["timeOfDay"] = [at.strftime("%H:%M:%S") for at in frequency.times]
    match frequency.kind:
        case schedule.FrequencyKind.TIMES_OF_DAY:
            repeat.update(frequency=len(frequency.times), period=1, periodUnit="d")
        case schedule.FrequencyKind.DAYS_OF_WEEK:
            repeat["dayOfWeek"] = [WEEKDAYS[day] for day in frequency.days_of_week]
        case schedule.FrequencyKind.EVERY_N_DAYS:
            repeat.update(frequency=len(frequency.times), period=frequency.interval)
            repeat["periodUnit"] = "d"
        case schedule.FrequencyKind.EVERY_N_HOURS:
            repeat.update(frequency=1, period=frequency.interval, periodUnit="h")
    return timing


def medication_request_resource(
    order: Order, *, pass_times: dict[str, dt.time], now: dt.datetime
) -> dict:
    status = REQUEST_STATUS[order.status]
    if status == "active" and order.ends_at is not None and order.ends_at <= now:
        status = "completed"
    dosage: dict[str, Any] = {
        "timing": _timing(order, pass_times),
        "route": route_concept(order.route),
        "doseAndRate": [{"doseQuantity": _quantity(order.dose_amount, order.dose_unit)}],
    }
    if order.instructions:
        dosage["text"] = order.instructions
    if order.is_prn:
        if order.indication:
            dosage["asNeededCodeableConcept"] = {"text": order.indication}
        else:
            dosage["asNeededBoolean"] = True
        if order.prn_max_per_24h:
            dosage["maxDosePerPeriod"] = {
                "numerator": _quantity(order.dose_amount * order.prn_max_per_24h, order.dose_unit),
                "denominator": {"value": 24, "unit": "h", "system": UCUM, "code": "h"},
            }
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": str(order.public_id),
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": medication_concept(order.medication),
        "subject": patient_reference(order.resident),
        "authoredOn": _instant(order.entered_at),
        "requester": {"display": order.prescriber},
        "recorder": staff_reference(order.entered_by),
        "dosageInstruction": [dosage],
    }
    if order.rx_number:
        resource["identifier"] = [{"system": RX_SYSTEM, "value": order.rx_number}]
    if order.status_reason:
        resource["statusReason"] = {"text": order.status_reason}
    if order.indication and not order.is_prn:
        resource["reasonCode"] = [{"text": order.indication}]
    if order.replaces_id:
        resource["priorPrescription"] = {
            "reference": f"MedicationRequest/{order.replaces.public_id}"
        }
    changes = [order.entered_at, order.verified_at, order.status_changed_at]
    if status == "completed":
        changes.append(order.ends_at)
    return with_meta(resource, last_updated=max(at for at in changes if at is not None))


def medication_administration_resource(record: Administration) -> dict:
    def now_recorded(field: str) -> str:
        return administration_current_value(administration=record, field=field)

    status = now_recorded(Amendment.Field.STATUS)
    given = status == Administration.Status.GIVEN
    order = record.order
    performers = [{"actor": staff_reference(record.administered_by)}]
    if record.witness:
        performers.append(
            {"function": {"text": "Witness"}, "actor": staff_reference(record.witness)}
        )
    if record.is_entered_in_error:
        fhir_status = "entered-in-error"
    else:
        fhir_status = "completed" if given else "not-done"
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": str(record.public_id),
        "status": fhir_status,
        "medicationCodeableConcept": medication_concept(order.medication),
        "subject": patient_reference(record.resident),
        "effectiveDateTime": now_recorded(Amendment.Field.ADMINISTERED_AT).replace("+00:00", "Z"),
        "performer": performers,
        "request": {"reference": f"MedicationRequest/{order.public_id}"},
    }
    if not given:
        label = Administration.Status(status).label
        reason = now_recorded(Amendment.Field.REASON)
        resource["statusReason"] = [
            {
                "coding": [{"system": NOT_GIVEN_SYSTEM, "code": status, "display": label}],
                "text": f"{label}: {reason}" if reason else label,
            }
        ]
    if given and (dose := now_recorded(Amendment.Field.DOSE_AMOUNT)):
        resource["dosage"] = {
            "route": route_concept(order.route),
            "dose": _quantity(dose, order.dose_unit),
        }
    if record.prn_reason:
        resource["reasonCode"] = [{"text": record.prn_reason}]
    if note := now_recorded(Amendment.Field.NOTE):
        resource["note"] = [{"text": note}]
    amended = [amendment.amended_at for amendment in record.amendments.all()]
    return with_meta(resource, last_updated=max([record.documented_at, *amended]))


def operation_outcome(code: str, diagnostics: str) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }


# --- Search parameters ---------------------------------------------------------------------

DATE_PARAMETER = re.compile(
    r"^(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?"
    r"(?P<value>(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2})(?P<time>T.+)?)?)?)$"
)


class SearchInvalid(exceptions.ParseError):
    pass


def _patient_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.removeprefix("Patient/"))
    except ValueError:
        raise SearchInvalid(f"patient={value!r} is not a Patient id.") from None


def _whole_number(name: str, value: str, *, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise SearchInvalid(f"{name} takes a whole number from {low} to {high}.")
    return int(value)


def _time_precision(time: str) -> dt.timedelta:
    """How long a written time covers: a minute, a second, or its last decimal of one."""
    clock = re.match(r"T\d{2}:\d{2}(:\d{2}(?:\.(\d+))?)?", time)
    if clock is None or clock[1] is None:
        return dt.timedelta(minutes=1)
    decimals = min(len(clock[2] or ""), 6)
    return dt.timedelta(microseconds=10 ** (6 - decimals))


def date_range(value: str, *, zone) -> tuple[str, dt.datetime, dt.datetime]:
    """A FHIR date search value as (prefix, start, end): the instants it may cover."""
    match = DATE_PARAMETER.match(value)
    if match is None:
        raise SearchInvalid(f"effective-time={value!r} is not a FHIR date (e.g. ge2026-11-01).")
    prefix = match["prefix"] or "eq"
    if prefix not in ("eq", "gt", "lt", "ge", "le"):
        raise SearchInvalid(f"The prefix {prefix!r} is not supported; use eq, gt, ge, lt or le.")
    try:
        if match["time"]:
            start = dt.datetime.fromisoformat(match["value"].replace("Z", "+00:00"))
            if start.tzinfo is None:
                raise SearchInvalid("A time in effective-time needs its UTC offset.")
            end = start + _time_precision(match["time"])
        else:
            year, month, day = int(match["year"]), match["month"], match["day"]
            first = dt.date(year, int(month or 1), int(day or 1))
            if day:
                last = first + dt.timedelta(days=1)
            elif month:
                last = dt.date(year + (first.month == 12), first.month % 12 + 1, 1)
            else:
                last = dt.date(year + 1, 1, 1)
            start = dt.datetime.combine(first, dt.time(), tzinfo=zone)
            end = dt.datetime.combine(last, dt.time(), tzinfo=zone)
    except (ValueError, OverflowError):
        raise SearchInvalid(f"effective-time={value!r} is not a valid date.") from None
    if not 1900 <= start.year <= 2199:
        raise SearchInvalid("effective-time must lie between the years 1900 and 2199.")
    return prefix, start, end


def with_effective_at(records: QuerySet[Administration]) -> QuerySet[Administration]:
    """``effective_at``: the administration time the resource shows, i.e. the last
    amendment's (as ``administration_current_value`` picks it), else the charted one. In
    the same query: a search costs no more queries with amendments than without."""
    amended = (
        Amendment.objects.filter(
            administration=OuterRef("pk"), field=Amendment.Field.ADMINISTERED_AT
        )
        .order_by("-amended_at", "-id")
        .values("new_value")[:1]
    )
    return records.annotate(
        effective_at=Coalesce(Cast(Subquery(amended), DateTimeField()), F("administered_at"))
    )


def _effective_filter(records, values: list[str], *, zone):
    if values:
        records = with_effective_at(records)
    for value in values:
        prefix, start, end = date_range(value, zone=zone)
        match prefix:
            case "eq":
                records = records.filter(effective_at__gte=start, effective_at__lt=end)
            case "ge":
                records = records.filter(effective_at__gte=start)
            case "gt":
                records = records.filter(effective_at__gte=end)
            case "le":
                records = records.filter(effective_at__lt=end)
            case "lt":
                records = records.filter(effective_at__lt=start)
    return records


# --- Views ---------------------------------------------------------------------------------


class FhirRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"
    charset = "utf-8"


# What a client may ask for and get FHIR JSON: JSON in any of its names, or anything.
JSON_TYPES = {FHIR_JSON, "application/json", "application/json+fhir", "application/*", "*/*"}
JSON_FORMATS = {"json", *JSON_TYPES}


def _accepts_json(accept: str) -> bool:
    for item in accept.split(","):
        media_type, *params = (part.strip() for part in item.split(";"))
        if media_type.lower() in JSON_TYPES and "q=0" not in (p.replace(" ", "") for p in params):
            return True
    return False


class FhirOnly(BaseContentNegotiation):
    """FHIR JSON, the only format spoken: a client that accepts neither it nor anything
    (``Accept: application/fhir+xml``, ``_format=xml``) is answered 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        wanted = request.query_params.get("_format")
        accept = request.headers.get("Accept", "").strip()
        if (wanted is not None and wanted.strip().lower() not in JSON_FORMATS) or (
            wanted is None and accept and not _accepts_json(accept)
        ):
            raise exceptions.NotAcceptable(
                "Only FHIR JSON (application/fhir+json) is served here; XML is not."
            )
        return renderers[0], renderers[0].media_type


def fhir_exception_handler(exc: Exception, context: dict) -> Response | None:
    response = api_exception_handler(exc, context)
    if response is not None:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        code = OUTCOME_CODES.get(response.status_code, "exception")
        response.data = operation_outcome(code, str(detail))
    return response


class FhirView(APIView):
    schema = None  # not part of the OpenAPI document: FHIR is its own contract
    renderer_classes = [FhirRenderer]
    parser_classes: list = []
    content_negotiation_class = FhirOnly
    metadata_class = None
    search_parameters: frozenset[str] = frozenset()
    always_allowed = frozenset({"_count", "_offset", "_format", "_pretty"})

    def get_exception_handler(self):
        return fhir_exception_handler

    def options(self, request: Request, *args, **kwargs) -> Response:
        """204 with ``Allow`` (added by DRF): what is served is in /fhir/r4/metadata."""
        return Response(status=204)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    def _url(self, resource_type: str, public_id: uuid.UUID | str) -> str:
        return self.request.build_absolute_uri(reverse(f"fhir:{resource_type}", args=[public_id]))

    def check_parameters(self, request: Request) -> None:
        unknown = set(request.query_params) - self.search_parameters - self.always_allowed
        if unknown:
            supported = ", ".join(sorted(self.search_parameters | {"_count", "_offset"}))
            raise SearchInvalid(
                f"Unsupported search parameter {sorted(unknown)[0]!r}; supported: {supported}."
            )

    def audit_read(self, resident: Resident) -> None:
        request_audit_read(self.request, resident)

    def searchset(
        self, request: Request, queryset, to_resource, *, one_patient: bool = False
    ) -> Response:
        """``one_patient``: searched by ``patient``, so rows are a read of that record."""
        self.check_parameters(request)
        params = request.query_params
        count = _whole_number("_count", params.get("_count", str(DEFAULT_COUNT)), low=0, high=200)
        offset = _whole_number("_offset", params.get("_offset", "0"), low=0, high=MAX_OFFSET)
        total = queryset.count()
        rows = list(queryset[offset : offset + count]) if count else []
        if one_patient and rows:
            self.audit_read(rows[0].resident)
        resources = to_resource(rows)
        links = [{"relation": "self", "url": request.build_absolute_uri()}]
        if offset + count < total and count:
            links.append({"relation": "next", "url": self._page_url(request, offset + count)})
        if offset and count:
            links.append(
                {"relation": "previous", "url": self._page_url(request, max(offset - count, 0))}
            )
        return Response(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": total,
                "link": links,
                "entry": [
                    {
                        "fullUrl": self._url(resource["resourceType"], resource["id"]),
                        "resource": resource,
                        "search": {"mode": "match"},
                    }
                    for resource in resources
                ],
            }
        )

    def _page_url(self, request: Request, offset: int) -> str:
        query = [(key, value) for key, value in request.query_params.lists() if key != "_offset"]
        flat = [(key, value) for key, values in query for value in values]
        return request.build_absolute_uri(
            f"{request.path}?{urlencode([*flat, ('_offset', offset)])}"
        )


def _requests(orders: list[Order]) -> list[dict]:
    pass_times = pass_times_by_facility(
        facility_ids={order.resident.facility_id for order in orders}
    )
    now = timezone.now()
    return [
        medication_request_resource(
            order, pass_times=pass_times[order.resident.facility_id], now=now
        )
        for order in orders
    ]


class PatientView(FhirView):
    def get(self, request: Request, id: uuid.UUID) -> Response:
        self.check_parameters(request)
        resident = selectors.resident_for_user(user=request.user, public_id=id)
        self.audit_read(resident)
        return Response(patient_resource(resident, last_updated=patient_last_updated(resident)))


class MedicationRequestView(FhirView):
    search_parameters = frozenset({"patient"})

    def get(self, request: Request, id: uuid.UUID | None = None) -> Response:
        self.check_parameters(request)
        if id is not None:
            order = selectors.order_for_user(user=request.user, public_id=id)
            self.audit_read(order.resident)
            return Response(_requests([order])[0])
        patient = request.query_params.get("patient")
        orders = selectors.orders_for_user(
            user=request.user, resident=_patient_id(patient) if patient else None
        )
        return self.searchset(request, orders, _requests, one_patient=bool(patient))


class MedicationAdministrationView(FhirView):
    search_parameters = frozenset({"patient", "effective-time"})

    def get(self, request: Request, id: uuid.UUID | None = None) -> Response:
        self.check_parameters(request)
        if id is not None:
            record = selectors.administration_for_user(user=request.user, public_id=id)
            self.audit_read(record.resident)
            return Response(medication_administration_resource(record))
        patient = request.query_params.get("patient")
        patient_id = _patient_id(patient) if patient else None
        zone = dt.UTC
        if patient_id:
            resident = selectors.residents_for_user(user=request.user).filter(public_id=patient_id)
            zone = next((r.facility.zone for r in resident[:1]), dt.UTC)
        records = selectors.administrations_for_user(user=request.user, resident=patient_id)
        records = _effective_filter(
            records, request.query_params.getlist("effective-time"), zone=zone
        )
        return self.searchset(
            request,
            records,
            lambda rows: [medication_administration_resource(record) for record in rows],
            one_patient=bool(patient_id),
        )


@csrf_exempt  # it changes nothing, so any method gets the same JSON 404
def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """An OperationOutcome for anything under /fhir/r4/ that is not served."""
    return JsonResponse(
        operation_outcome("not-found", "No such FHIR resource or interaction here."),
        status=404,
        content_type=f"{FHIR_JSON}; charset=utf-8",
    )
