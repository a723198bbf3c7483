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

from django.db.models import (
    Prefetch,
    Q,
    QuerySet,
)
from django.shortcuts import get_object_or_404

from inventory.models import MedCart, StockItem, StockTransaction
from inventory.selectors import active_carts
from mar.models import Administration, Amendment, Order, ScheduledDose
from mar.selectors import (
    COLUMNS,
    doses_with_state,
    exception_concerns,
    exception_doses,
    exception_records,
)

# The exception kinds and rows, named here for api.views too.
from mar.selectors import CONCERN as CONCERN
from mar.selectors import DOSE as DOSE
from mar.selectors import RECORD as RECORD
from mar.selectors import exception_rows as exception_rows
from medtech.core.scope import facility_ids_of, scope
from residents.models import Allergy, Resident
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
# What an exception is (the three UNION parts and their rows) lives in mar.selectors, which
# the nurse's review page shares; the API adds its filters and paging.


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
