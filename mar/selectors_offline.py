"""The offline bundle of a med cart: what its tablet needs to keep charting without Wi-Fi.

Read by ``GET /api/v1/offline/carts/{id}/`` (api/offline.py) on every pass page load
and every few minutes; static/js/offline/ keeps the last one in IndexedDB. A fixed
number of queries whatever the number of residents or doses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Prefetch
from django.urls import reverse

from inventory.models import CartAssignment, MedCart
from mar.forms import NOT_GIVEN_CHOICES
from mar.models import Administration, Order, ScheduledDose
from mar.prn import (
    PrnLimits,
    prn_stop,
    prn_stop_message,
    prn_too_many_message,
    prn_too_soon_message,
)
from mar.selectors import administered_at_amended, current_pass, dose_state, resident_was_away
from residents.models import Allergy, Resident
from staff.models import User

# PRN doses looked back at, as the pass page does (the longest limit is 24 h).
PRN_LOOKBACK = dt.timedelta(hours=24)


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def cart_is_taken_by(*, user: User, cart: MedCart) -> bool:
    """Whether ``user`` has taken ``cart`` (on duty for it until they hand it over): only
    then does their tablet get the cart's offline bundle."""
    return CartAssignment.objects.filter(cart=cart, user=user, ended_at__isnull=True).exists()


def _staff(*, cart: MedCart) -> list[dict[str, Any]]:
    """Verifiers for the offline PIN switch: only the people on duty for this cart now,
    and only with an Argon2id verifier (made when they set a PIN of 6 digits or more)."""
    people = (
        User.objects.filter(
            is_active=True,
            cart_assignments__cart=cart,
            cart_assignments__ended_at__isnull=True,
            memberships__facility_id=cart.facility_id,
            pin_offline_memory_kib__gt=0,
        )
        .exclude(pin_offline_verifier="")
        .distinct()
        .order_by("last_name", "first_name", "id")
    )
    return [
        {
            "id": str(person.public_id),
            "name": person.get_full_name() or person.username,
            "initials": person.initials,
            "role": person.get_role_display(),
            "pin": {
                "algorithm": "argon2id",
                "salt": person.pin_offline_salt,
                "iterations": person.pin_offline_iterations,
                "memory_kib": person.pin_offline_memory_kib,
                "parallelism": 1,
                "verifier": person.pin_offline_verifier,
            },
        }
        for person in people
    ]


def _record(record: Administration | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "id": str(record.public_id),
        "status": record.status,
        "status_label": record.get_status_display(),
        "administered_at": _iso(record.administered_at),
        "documented_at": _iso(record.documented_at),
        "by": record.administered_by.initials,
        "is_late_entry": record.is_late_entry,
    }


def _prn_answers(*, order: Order, given: list[dt.datetime], now: dt.datetime, zone) -> dict:
    """The server's answers for a PRN order, so that the tablet need not work out the rule
    (mar/prn.py) itself: when the next dose is allowed (as the pass page and the API say),
    the refusal a dose now would get, and the words of a refusal with placeholders for the
    doses the tablet queues itself after this bundle was made."""
    interval = order.prn_min_interval_minutes or 0
    stop = prn_stop(
        given=given,
        at=now,
        limits=PrnLimits.of(order),
    )
    return {
        "allowed_at": _iso(stop.allowed_at) if stop else None,
        "refusal": prn_stop_message(
            stop=stop, zone=zone, min_interval_minutes=interval, max_per_24h=order.prn_max_per_24h
        )
        if stop
        else None,
        "refusal_words": {
            "too_soon": prn_too_soon_message(
                given_at="{given_at}", min_interval_minutes=interval, allowed_at="{allowed_at}"
            ),
            "too_many": prn_too_many_message(
                count="{count}",
                at="{at}",
                max_per_24h=order.prn_max_per_24h or 0,
                allowed_at="{allowed_at}",
            ),
        },
    }


def offline_bundle_for_cart(*, cart: MedCart, now: dt.datetime) -> dict[str, Any]:
    """Residents (photo, allergies), the doses of the current pass and the next one, PRN
    orders with their limits and last 24 hours of doses, and who may switch in offline."""
    facility = cart.facility
    period = current_pass(facility=facility, now=now)
    upcoming = current_pass(facility=facility, now=period.ends_at + dt.timedelta(minutes=1))
    late_limit = dt.timedelta(minutes=facility.late_limit_minutes)
    residents = list(
        Resident.objects.filter(
            room__cart=cart, status__in=[Resident.Status.ACTIVE, Resident.Status.AWAY]
        )
        .select_related("room")
        .prefetch_related(
            Prefetch("allergies", queryset=Allergy.objects.order_by("allergen", "id"))
        )
        .order_by("room__number", "last_name", "id")
    )
    resident_ids = [resident.pk for resident in residents]
    active = Prefetch(
        "administrations",
        queryset=Administration.objects.filter(is_entered_in_error=False).select_related(
            "administered_by"
        ),
        to_attr="active_records",
    )
    doses = (
        ScheduledDose.objects.filter(
            resident_id__in=resident_ids,
            scheduled_at__lt=upcoming.ends_at,
            window_end__gt=period.starts_at - late_limit,
        )
        .select_related("order__medication", "resident")
        .prefetch_related(active)
        .annotate(is_away=resident_was_away())
        .order_by("scheduled_at", "id")
    )
    prn_orders = (
        Order.objects.filter(
            resident_id__in=resident_ids,
            frequency=Order.Frequency.PRN,
            status=Order.Status.ACTIVE,
        )
        .select_related("medication", "resident")
        .prefetch_related(
            Prefetch(
                "administrations",
                queryset=Administration.objects.annotate(given_at=administered_at_amended())
                .filter(
                    is_entered_in_error=False,
                    status=Administration.Status.GIVEN,
                    given_at__gt=now - PRN_LOOKBACK,
                )
                .order_by("given_at", "id"),
                to_attr="recent_given",
            )
        )
        .order_by("medication__generic_name", "id")
    )
    return {
        "cart": {"id": str(cart.public_id), "name": cart.name},
        "facility": {"name": facility.name, "time_zone": str(facility.zone)},
        "generated_at": _iso(now),
        "pass": {
            "name": period.name,
            "starts_at": _iso(period.starts_at),
            "ends_at": _iso(period.ends_at),
        },
        "next_pass": {
            "name": upcoming.name,
            "starts_at": _iso(upcoming.starts_at),
            "ends_at": _iso(upcoming.ends_at),
        },
        "pages": [reverse("mar:pass_cart", args=[cart.public_id])]
        + [reverse("mar:pass_resident", args=[r.public_id]) for r in residents],
        "residents": [
            {
                "id": str(resident.public_id),
                "name": resident.display_name,
                "room": resident.room.number,
                # The scoped photo view, as the pages show it (uploads are not served as media).
                "photo_url": reverse("residents:photo", args=[resident.public_id])
                if resident.photo
                else None,
                "status": resident.status,
                "has_no_known_allergies": resident.has_no_known_allergies,
                "allergies": [
                    {"allergen": allergy.allergen, "reaction": allergy.reaction}
                    for allergy in resident.allergies.all()
                ],
                "page": reverse("mar:pass_resident", args=[resident.public_id]),
            }
            for resident in residents
        ],
        "doses": [
            {
                "id": str(dose.public_id),
                "resident": str(dose.resident.public_id),
                "order": str(dose.order.public_id),
                "medication": str(dose.order.medication),
                "dose": f"{dose.order.dose_amount.normalize()} {dose.order.dose_unit}",
                "route": dose.order.get_route_display(),
                "scheduled_at": _iso(dose.scheduled_at),
                "window_start": _iso(dose.window_start),
                "window_end": _iso(dose.window_end),
                "state": dose_state(
                    status=dose.status,
                    window_start=dose.window_start,
                    window_end=dose.window_end,
                    late_limit=late_limit,
                    now=now,
                    is_away=dose.is_away,
                ).value,
                "required_vitals": dose.order.vitals_needed,
                "record": _record(dose.active_records[0] if dose.active_records else None),
            }
            for dose in doses
        ],
        "prn_orders": [
            {
                "id": str(order.public_id),
                "resident": str(order.resident.public_id),
                "medication": str(order.medication),
                "dose": f"{order.dose_amount.normalize()} {order.dose_unit}",
                "route": order.get_route_display(),
                "indication": order.indication,
                "min_interval_minutes": order.prn_min_interval_minutes,
                "max_per_24h": order.prn_max_per_24h,
                "recent_given_at": [_iso(record.given_at) for record in order.recent_given],
                **_prn_answers(
                    order=order,
                    given=[record.given_at for record in order.recent_given],
                    now=now,
                    zone=facility.zone,
                ),
            }
            for order in prn_orders
        ],
        "not_given_choices": [{"value": v, "label": str(label)} for v, label in NOT_GIVEN_CHOICES],
        "requires_scan": facility.requires_scan,
        "scan_skipped_choices": [
            {"value": v, "label": str(label)} for v, label in Administration.ScanSkipped.choices
        ],
        "staff": _staff(cart=cart),
    }
