"""Reads of the API and FHIR, each scoped to the caller's communities.

Every query is limited to the caller's communities, so another community's rows are
simply not there: looking one up answers 404, exactly like an id that never existed.
List selectors return querysets with everything the output serializers read already
selected or prefetched, so a page costs the same few queries however many rows it holds.

PostgreSQL plans a query afresh each time, and planning grows steeply with the number of
joined tables (a page of records joined to its order, medication, resident, facility,
membership and four users took 40 ms to plan, 4 ms to run). So the lists read the
caller's facility ids first (one small query) instead of joining the memberships, join
only what a row needs, and load the people (charted by, witness...) with a prefetch.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.shortcuts import get_object_or_404

from inventory.models import MedCart, StockItem, StockTransaction
from inventory.selectors import active_carts
from mar.models import Administration, Amendment, ExceptionReview, Order, ScheduledDose
from mar.selectors import DoseState, doses_with_state
from medtech.core.scope import facility_ids_of, scope
from residents.models import Allergy, ConcernReport, Resident
from staff.models import User


def facility_ids_for_user(*, user: User) -> list[int]:
    """The facility scope of every API and FHIR read (``medtech.core.scope``)."""
    return facility_ids_of(user=user)


# --- Residents -----------------------------------------------------------------------------


def residents_for_user(
    *,
    user: User,
    facility: uuid.UUID | None = None,
    unit: str | None = None,
    search: str | None = None,
    status: str | None = None,
) -> QuerySet[Resident]:
    residents = (
        Resident.objects.filter(facility_id__in=facility_ids_for_user(user=user))
        .select_related("facility", "room__unit", "room__cart")
        .prefetch_related(
            Prefetch("allergies", queryset=Allergy.objects.order_by("allergen", "id"))
        )
        .order_by("last_name", "first_name", "id")
    )
    if facility:
        residents = residents.filter(facility__public_id=facility)
    if unit:
        residents = residents.filter(room__unit__name__iexact=unit)
    if status:
        residents = residents.filter(status=status)
    if search := (search or "").strip():
        residents = residents.filter(
            Q(last_name__icontains=search)
            | Q(first_name__icontains=search)
            | Q(preferred_name__icontains=search)
            | Q(room__number__istartswith=search)
        )
    return residents


def resident_for_user(*, user: User, public_id: uuid.UUID) -> Resident:
    return get_object_or_404(residents_for_user(user=user), public_id=public_id)


# --- Orders --------------------------------------------------------------------------------


def orders_for_user(
    *, user: User, resident: uuid.UUID | None = None, status: str | None = None
) -> QuerySet[Order]:
    orders = (
        Order.objects.filter(resident__facility_id__in=facility_ids_for_user(user=user))
        .select_related("resident", "medication")
        .prefetch_related("entered_by", "verified_by", "replaces")
        .order_by("entered_at", "id")
    )
    if resident:
        orders = orders.filter(resident__public_id=resident)
    if status:
        orders = orders.filter(status=status)
    return orders


def order_for_user(*, user: User, public_id: uuid.UUID) -> Order:
    return get_object_or_404(orders_for_user(user=user), public_id=public_id)


# --- Doses ---------------------------------------------------------------------------------


def _active_records() -> Prefetch:
    return Prefetch(
        "administrations",
        queryset=Administration.objects.filter(is_entered_in_error=False)
        .select_related("administered_by")
        .order_by("id"),
        to_attr="active_records",
    )


def doses_for_user(
    *,
    user: User,
    now: dt.datetime,
    cart: uuid.UUID | None = None,
    resident: uuid.UUID | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[ScheduledDose]:
    """Scheduled doses with their state at ``now`` (``state``) and active record.

    The residents in question (the cart's, one, or all the caller's) are read first."""
    residents = Resident.objects.filter(facility_id__in=facility_ids_for_user(user=user))
    if cart:
        residents = residents.filter(room__cart__public_id=cart)
    if resident:
        residents = residents.filter(public_id=resident)
    doses = (
        doses_with_state(
            ScheduledDose.objects.filter(
                resident_id__in=list(residents.values_list("id", flat=True))
            ),
            now=now,
        )
        .select_related("resident", "order__medication")
        .prefetch_related(_active_records())
        .order_by("scheduled_at", "id")
    )
    if status:
        doses = doses.filter(state=status)
    if since:
        doses = doses.filter(scheduled_at__gte=since)
    if until:
        doses = doses.filter(scheduled_at__lt=until)
    return doses


def dose_for_charting(*, user: User, public_id: uuid.UUID) -> ScheduledDose | None:
    """Just the row's key: the charting service locks and loads the dose itself."""
    return (
        scope(ScheduledDose.objects, user=user, path="resident__facility")
        .filter(public_id=public_id)
        .only("id")
        .first()
    )


def prn_order_for_charting(*, user: User, public_id: uuid.UUID) -> Order | None:
    """Just the row's key: the charting service locks and loads the order itself."""
    return (
        scope(Order.objects, user=user, path="resident__facility")
        .filter(public_id=public_id)
        .only("id")
        .first()
    )


def colleague_for_user(*, user: User, public_id: uuid.UUID) -> User | None:
    """Someone who works in one of the caller's communities (a witness)."""
    return (
        scope(User.objects, user=user, path="memberships__facility")
        .filter(public_id=public_id, is_active=True)
        .order_by("id")
        .first()
    )


# --- Administrations -----------------------------------------------------------------------


def administrations_for_user(
    *,
    user: User,
    resident: uuid.UUID | None = None,
    order: uuid.UUID | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[Administration]:
    records = (
        Administration.objects.filter(resident__facility_id__in=facility_ids_for_user(user=user))
        .select_related("scheduled_dose", "order__medication", "resident")
        .prefetch_related(
            "administered_by",
            "witness",
            "effectiveness__recorded_by",
            Prefetch(
                "amendments",
                queryset=Amendment.objects.select_related("amended_by").order_by(
                    "amended_at", "id"
                ),
            ),
        )
        .order_by("administered_at", "id")
    )
    if resident:
        records = records.filter(resident__public_id=resident)
    if order:
        records = records.filter(order__public_id=order)
    if status:
        records = records.filter(status=status)
    if since:
        records = records.filter(administered_at__gte=since)
    if until:
        records = records.filter(administered_at__lt=until)
    return records


def administration_for_user(*, user: User, public_id: uuid.UUID) -> Administration:
    return get_object_or_404(administrations_for_user(user=user), public_id=public_id)


# --- Stock ---------------------------------------------------------------------------------


def stock_for_user(
    *,
    user: User,
    cart: uuid.UUID | None = None,
    resident: uuid.UUID | None = None,
    order: uuid.UUID | None = None,
) -> QuerySet[StockItem]:
    items = (
        StockItem.objects.filter(cart__facility_id__in=facility_ids_for_user(user=user))
        .select_related("cart", "resident", "order", "medication")
        .order_by("cart__name", "resident__last_name", "resident_id", "expires_on", "id")
    )
    if cart:
        items = items.filter(cart__public_id=cart)
    if resident:
        items = items.filter(resident__public_id=resident)
    if order:
        items = items.filter(order__public_id=order)
    return items


def stock_item_for_user(*, user: User, public_id: uuid.UUID) -> StockItem:
    return get_object_or_404(stock_for_user(user=user), public_id=public_id)


def stock_transaction(*, pk: int) -> StockTransaction:
    return StockTransaction.objects.select_related("stock_item", "performed_by", "witness").get(
        pk=pk
    )


def cart_for_user(*, user: User, public_id: uuid.UUID) -> MedCart | None:
    """An active cart of the user's communities (a deactivated one is no transfer's
    destination), or None."""
    return active_carts(user=user).filter(public_id=public_id).first()


# --- Exceptions ----------------------------------------------------------------------------
# Three kinds of subject in one list: a scheduled dose never charted (missed) or skipped
# while the resident was away; a record of a dose not given, or given late; a concern
# report. One UNION ALL query pages them; the page's rows are then loaded in bulk. The
# nurse's review page (nurse.selectors) builds on the same three parts, so the page
# and the API always agree on what an exception is.

DOSE, RECORD, CONCERN = "scheduled_dose", "administration", "concern_report"
COLUMNS = ("x_subject", "x_pk", "x_id", "x_kind", "x_resident", "x_at", "x_reviewed")


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


def exception_doses(*, facility_ids: list[int], now: dt.datetime) -> QuerySet:
    """Doses never charted: late (window passed, still chartable: the nurse sees it at
    once), missed, or away once their window has passed (``mar.selectors.dose_state``)."""
    return (
        doses_with_state(
            ScheduledDose.objects.filter(resident__facility_id__in=facility_ids), now=now
        )
        .filter(
            Q(state__in=[DoseState.MISSED.value, DoseState.LATE.value])
            | Q(state=DoseState.AWAY.value, window_end__lt=now)
        )
        .annotate(
            x_subject=_text(DOSE),
            x_pk=F("id"),
            x_id=F("public_id"),
            x_kind=Case(
                When(state=DoseState.AWAY.value, then=_text(ExceptionReview.Kind.AWAY)),
                When(state=DoseState.LATE.value, then=_text(ExceptionReview.Kind.LATE)),
                default=_text(ExceptionReview.Kind.MISSED),
            ),
            x_resident=F("resident_id"),
            x_at=F("scheduled_at"),
            x_reviewed=Exists(ExceptionReview.objects.filter(scheduled_dose=OuterRef("pk"))),
        )
    )


def exception_records(*, facility_ids: list[int]) -> QuerySet:
    return (
        Administration.objects.filter(
            resident__facility_id__in=facility_ids, is_entered_in_error=False
        )
        .filter(
            ~Q(status=Administration.Status.GIVEN)
            | Q(is_late=True)
            | Q(override__isnull=False)
            | ~Q(scan_skipped="")
        )
        .annotate(
            x_subject=_text(RECORD),
            x_pk=F("id"),
            x_id=F("public_id"),
            # As mar.services.reviews.exception_kind_for_administration names them.
            x_kind=Case(
                When(
                    status=Administration.Status.GIVEN,
                    override__isnull=False,
                    then=_text(ExceptionReview.Kind.OVERRIDE),
                ),
                When(
                    status=Administration.Status.GIVEN,
                    is_late=True,
                    then=_text(ExceptionReview.Kind.LATE),
                ),
                When(
                    status=Administration.Status.GIVEN, then=_text(ExceptionReview.Kind.UNSCANNED)
                ),
                When(status=Administration.Status.ASLEEP, then=_text(ExceptionReview.Kind.OTHER)),
                default=F("status"),
                output_field=CharField(),
            ),
            x_resident=F("resident_id"),
            x_at=F("administered_at"),
            x_reviewed=Exists(ExceptionReview.objects.filter(administration=OuterRef("pk"))),
        )
    )


def exception_concerns(*, facility_ids: list[int]) -> QuerySet:
    return ConcernReport.objects.filter(resident__facility_id__in=facility_ids).annotate(
        x_subject=_text(CONCERN),
        x_pk=F("id"),
        x_id=F("public_id"),
        x_kind=_text(ExceptionReview.Kind.CONCERN),
        x_resident=F("resident_id"),
        x_at=F("reported_at"),
        x_reviewed=Case(
            When(acknowledged_at__isnull=False, then=Value(True)),
            default=Exists(ExceptionReview.objects.filter(concern=OuterRef("pk"))),
            output_field=BooleanField(),
        ),
    )


def exceptions_for_user(
    *,
    user: User,
    now: dt.datetime,
    status: str = "open",
    kind: str | None = None,
    resident: uuid.UUID | None = None,
    facility: uuid.UUID | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    public_id: uuid.UUID | None = None,
) -> QuerySet:
    """Rows (dicts of ``COLUMNS``) of the exceptions, newest first; one query a page."""
    parts = []
    facility_ids = facility_ids_for_user(user=user)
    for part in (
        exception_doses(facility_ids=facility_ids, now=now),
        exception_records(facility_ids=facility_ids),
        exception_concerns(facility_ids=facility_ids),
    ):
        if status in ("open", "acknowledged"):
            part = part.filter(x_reviewed=status == "acknowledged")
        if kind:
            part = part.filter(x_kind=kind)
        if resident:
            part = part.filter(resident__public_id=resident)
        if facility:
            part = part.filter(resident__facility__public_id=facility)
        if since:
            part = part.filter(x_at__gte=since)
        if until:
            part = part.filter(x_at__lt=until)
        if public_id:
            part = part.filter(public_id=public_id)
        parts.append(part.values(*COLUMNS))
    first, *rest = parts
    return first.union(*rest, all=True).order_by("-x_at", "-x_id")


@dataclass
class ExceptionRow:
    id: uuid.UUID
    kind: str
    status: str
    subject: str
    occurred_at: dt.datetime
    resident: uuid.UUID
    resident_name: str
    room: str | None
    summary: str
    scheduled_dose: uuid.UUID | None
    administration: uuid.UUID | None
    order: uuid.UUID | None
    concern: uuid.UUID | None
    review: Any
    instance: Any


def _local(at: dt.datetime, resident: Resident) -> str:
    return f"{at.astimezone(resident.facility.zone):%a %b %-d %H:%M}"


def _dose_summary(dose: ScheduledDose, kind: str) -> str:
    order = dose.order
    label = {
        ExceptionReview.Kind.MISSED: "Missed",
        ExceptionReview.Kind.LATE: "Late, not charted yet",
    }.get(kind, "Not given, resident away")
    amount = f"{order.dose_amount.normalize():f} {order.dose_unit}"
    return f"{label}: {order.medication} {amount}, due {_local(dose.scheduled_at, dose.resident)}"


def _record_summary(record: Administration, kind: str) -> str:
    medication = record.order.medication
    at = _local(record.administered_at, record.resident)
    if kind == ExceptionReview.Kind.OVERRIDE:
        override = record.override
        stopped = f" Stopped by: {override.stopped_by}" if override.stopped_by else ""
        return (
            f"Given on a nurse's override: {medication} at {at}, overridden by "
            f"{override.granted_by.signature_name} at "
            f"{_local(override.granted_at, record.resident)}: {override.reason}.{stopped}"
        )
    if kind == ExceptionReview.Kind.UNSCANNED:
        return (
            f"Given without a scan: {medication} at {at} "
            f"({record.get_scan_skipped_display().lower()})"
        )
    if kind == ExceptionReview.Kind.LATE:
        due = f", due {_local(record.scheduled_dose.scheduled_at, record.resident)}"
        return f"Given late: {medication} at {at}{due if record.scheduled_dose else ''}"
    why = record.reason or record.note
    return f"{record.get_status_display()}: {medication} at {at}" + (f" ({why})" if why else "")


def exception_rows(rows: list[dict]) -> list[ExceptionRow]:
    """The page's rows with what they are about: at most four queries for any page."""
    pks: dict[str, list[int]] = {DOSE: [], RECORD: [], CONCERN: []}
    for row in rows:
        pks[row["x_subject"]].append(row["x_pk"])
    related = ("resident__facility", "resident__room")
    loaded: dict[str, dict[int, Any]] = {
        DOSE: ScheduledDose.objects.select_related("order__medication", *related).in_bulk(pks[DOSE])
        if pks[DOSE]
        else {},
        RECORD: Administration.objects.select_related(
            "order__medication", "scheduled_dose", "override__granted_by", *related
        ).in_bulk(pks[RECORD])
        if pks[RECORD]
        else {},
        CONCERN: ConcernReport.objects.select_related("acknowledged_by", *related).in_bulk(
            pks[CONCERN]
        )
        if pks[CONCERN]
        else {},
    }
    reviews: dict[tuple[str, int], Any] = {}
    if rows:
        for review in ExceptionReview.objects.filter(
            Q(scheduled_dose_id__in=pks[DOSE])
            | Q(administration_id__in=pks[RECORD])
            | Q(concern_id__in=pks[CONCERN])
        ).select_related("reviewed_by"):
            if review.scheduled_dose_id:
                reviews[DOSE, review.scheduled_dose_id] = review
            elif review.administration_id:
                reviews[RECORD, review.administration_id] = review
            else:
                reviews[CONCERN, review.concern_id] = review

    result = []
    for row in rows:
        subject, kind = row["x_subject"], row["x_kind"]
        instance = loaded[subject][row["x_pk"]]
        review = reviews.get((subject, instance.pk))
        dose = record = concern = order = None
        if subject == DOSE:
            dose, order = instance.public_id, instance.order.public_id
            summary = _dose_summary(instance, kind)
        elif subject == RECORD:
            record, order = instance.public_id, instance.order.public_id
            dose = instance.scheduled_dose.public_id if instance.scheduled_dose else None
            summary = _record_summary(instance, kind)
        else:
            concern = instance.public_id
            summary = f"{instance.get_kind_display()}: {instance.description[:300]}"
            if review is None and instance.acknowledged_at is not None:
                review = SimpleNamespace(
                    note=instance.acknowledgement_note,
                    reviewed_by=instance.acknowledged_by,
                    reviewed_at=instance.acknowledged_at,
                    physician_notified=False,
                    family_notified=False,
                )
        resident = instance.resident
        result.append(
            ExceptionRow(
                id=instance.public_id,
                kind=kind,
                status="acknowledged" if row["x_reviewed"] else "open",
                subject=subject,
                occurred_at=row["x_at"],
                resident=resident.public_id,
                resident_name=resident.display_name,
                room=resident.room.number if resident.room else None,
                summary=summary,
                scheduled_dose=dose,
                administration=record,
                order=order,
                concern=concern,
                review=review,
                instance=instance,
            )
        )
    return result
