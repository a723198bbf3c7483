"""What a resident's stay and a community's settings do to the record: the orders and
doses that follow from a discharge, a new allergy or new pass times.

The resident's and the community's own rows are written by ``residents.services``; each
function here calls that service and takes the record's step in the same transaction,
so the residents app never imports the MAR (the layout's arrows run mar -> residents).
The administrator's screens call these.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from mar.models import Order
from mar.services import orders as order_services
from mar.services.doses import doses_sync_for_order
from residents import services as resident_services
from residents.models import Allergy, Facility, Resident
from staff.models import User


@transaction.atomic
def resident_allergy_add(
    *,
    resident: Resident,
    by: User,
    allergy: resident_services.AllergyInput,
    now: dt.datetime,
    request: HttpRequest | None = None,
) -> Allergy:
    """Record an allergy; the resident's open orders that it matches are stopped for a
    nurse's review and the nurses notified (``mar.services.orders.orders_flag_allergy``)."""
    row = resident_services.resident_allergy_add(
        resident=resident, by=by, allergy=allergy, now=now, request=request
    )
    order_services.orders_flag_allergy(allergy=row, by=by, now=now)
    return row


@transaction.atomic
def resident_discharge(
    *,
    resident: Resident,
    outcome: str,
    on_date: dt.date,
    reason: str,
    by: User,
    now: dt.datetime,
    request: HttpRequest | None = None,
) -> Resident:
    """Discharge a resident, or record their death: their open orders end (their future
    uncharted doses go with them); everything charted stays as it is, readable."""

    def end_orders(resident: Resident, why: str) -> list[str]:
        ended = order_services.orders_end_for_stay(resident=resident, by=by, reason=why, now=now)
        return [str(order.public_id) for order in ended]

    return resident_services.resident_discharge(
        resident=resident,
        outcome=outcome,
        on_date=on_date,
        reason=reason,
        by=by,
        now=now,
        end_orders=end_orders,
        request=request,
    )


@transaction.atomic
def facility_update(
    *,
    facility: Facility,
    by: User,
    now: dt.datetime,
    pass_times: dict[str, dt.time],
    request: HttpRequest | None = None,
    **fields: Any,
) -> int:
    """Change the community's settings and pass times. A change of time zone, pass
    times or windows re-syncs every active order's future, uncharted doses (charted ones
    are never touched). Returns the number of orders re-synced."""
    if not resident_services.facility_update(
        facility=facility, by=by, now=now, pass_times=pass_times, request=request, **fields
    ):
        return 0
    orders = (
        Order.objects.select_for_update(of=("self",))
        .filter(
            resident__facility=facility,
            resident__status__in=resident_services.IN_HOUSE,
            status=Order.Status.ACTIVE,
        )
        .exclude(frequency=Order.Frequency.PRN)
        .select_related("resident__facility")
        .order_by("id")
    )
    count = 0
    for order in orders:
        doses_sync_for_order(order=order, now=now)
        count += 1
    return count
