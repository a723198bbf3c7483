"""Doses charted offline on a cart's tablet, arriving when the Wi-Fi is back.

The tablet (static/js/offline/) queues each dose with its idempotency key, who charted
it and when, and sends the queue in order through ``POST /api/v1/administrations/``
with three headers:

- ``X-Offline-Queued-At``: when the dose was queued on the tablet (ISO 8601);
- ``X-Offline-Charted-By``: the public id of the person who charted it;
- ``X-Offline-Signature``: for someone other than the session's user (an offline PIN
  switch), HMAC-SHA256 over ``<idempotency key>\\n<charted by>\\n<body>`` with the key
  derived from their PIN (``staff.services.pin_offline_derive``).

The record itself is made by ``administration_record`` like any other; what this module
adds is who charted it, and telling the nurses when the dose could not be recorded
because someone else charted it meanwhile or the order changed while the tablet was
offline. Nothing charted is overwritten: the tablet's entry is simply not recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass

from mar.models import Administration, Notification, Order, ScheduledDose
from mar.services import administrations as charting
from mar.services.notifications import notifications_create
from staff.models import User
from staff.selectors import nurses_by_facility


class OfflineClaimRefused(charting.ChartingNotPermitted):
    """The queued entry does not prove who charted it."""


@dataclass(frozen=True)
class OfflineClaim:
    """What the tablet says about a queued entry (parsed from the headers)."""

    queued_at: dt.datetime
    charted_by: uuid.UUID
    signature: str
    idempotency_key: str
    body: bytes


def offline_claim_message(*, idempotency_key: str, charted_by: uuid.UUID, body: bytes) -> bytes:
    return f"{idempotency_key}\n{charted_by}\n".encode() + body


def offline_charting_user(*, session_user: User, claim: OfflineClaim) -> User:
    """Who charted a queued entry: the session's user, or a colleague of the same
    community whose PIN signed it on the tablet."""
    if claim.charted_by == session_user.public_id:
        return session_user
    person = (
        User.objects.filter(
            public_id=claim.charted_by,
            is_active=True,
            facilities__in=session_user.facilities.all(),
        )
        .distinct()
        .first()
    )
    if person is None or not person.pin_offline_key or not claim.signature:
        raise OfflineClaimRefused(
            "This dose was charted offline by someone this tablet cannot vouch for. "
            "They must sign in and chart it again."
        )
    expected = hmac.new(
        bytes.fromhex(person.pin_offline_key),
        offline_claim_message(
            idempotency_key=claim.idempotency_key, charted_by=claim.charted_by, body=claim.body
        ),
        hashlib.sha256,
    ).hexdigest()
    if not hmac.compare_digest(expected, claim.signature.strip().lower()):
        raise OfflineClaimRefused(
            f"The offline entry's signature does not match {person.signature_name}'s PIN "
            "(was the PIN changed meanwhile?). They must chart it again."
        )
    return person


def _conflict_text(*, error: charting.ChartingError, order: Order, claim: OfflineClaim) -> str:
    queued = claim.queued_at.astimezone(order.resident.facility.zone)
    return (
        f"Charted offline on a cart's tablet at {queued:%H:%M} but not recorded: {error} "
        "Nothing was overwritten; check with the med tech."
    )


def offline_conflict_notify(
    *,
    error: charting.ChartingError,
    claim: OfflineClaim,
    user: User,
    order: Order,
    now: dt.datetime,
) -> None:
    """Tell every nurse of the community about a queued dose that could not be recorded
    (charted by someone else meanwhile, or its order stopped or held): once per entry."""
    order = Order.objects.select_related("medication", "resident__room", "resident__facility").get(
        pk=order.pk
    )
    resident = order.resident
    room = resident.room.number if resident.room_id else "-"
    nurses = nurses_by_facility(facility_ids={resident.facility_id})
    notifications_create(
        notifications=[
            Notification(
                recipient_id=nurse_id,
                facility_id=resident.facility_id,
                kind=Notification.Kind.CHARTING_CONFLICT,
                subject_key=f"offline:{claim.idempotency_key}"[:80],
                title=f"Offline charting conflict: Room {room}, {resident.display_name}",
                body=f"{order.medication} by {user.signature_name}. "
                + _conflict_text(error=error, order=order, claim=claim),
                created_at=now,
            )
            for nurse_id in nurses.get(resident.facility_id, [])
        ]
    )


# Refusals that mean the world moved on while the tablet was offline.
CONFLICTS = (charting.DoseAlreadyCharted, charting.OrderNotChartable)


def administration_record_offline(
    *,
    session_user: User,
    claim: OfflineClaim,
    now: dt.datetime,
    entry: charting.ChartEntry,
    lost_dose_order: Order | None = None,
) -> charting.ChartResult:
    """Record a dose from a tablet's offline queue, as whoever charted it there.

    ``entry`` is the queued request, built from the body like an online one.
    ``lost_dose_order``: the order of a scheduled dose that no longer exists (its
    order was discontinued or changed while the tablet was offline), a conflict too.
    A conflict (already charted, order no longer chartable) is raised as it is, after
    the nurses were notified.
    """
    user = offline_charting_user(session_user=session_user, claim=claim)
    try:
        if lost_dose_order is not None:
            raise _lost_dose(lost_dose_order)
        return charting.administration_record(
            user=user,
            idempotency_key=claim.idempotency_key,
            now=now,
            entry=entry,
            source=Administration.Source.OFFLINE,
        )
    except CONFLICTS as error:
        offline_conflict_notify(
            error=error,
            claim=claim,
            user=user,
            order=lost_dose_order or entry.order or _order_of(entry.scheduled_dose),
            now=now,
        )
        raise


def _lost_dose(order: Order) -> charting.OrderNotChartable:
    if order.status == Order.Status.DISCONTINUED:
        return charting.OrderNotChartable(f"This order was discontinued: {order.status_reason}")
    if order.status == Order.Status.ON_HOLD:
        return charting.OrderNotChartable(f"This order is on hold: {order.status_reason}")
    return charting.OrderNotChartable(
        "This dose is no longer scheduled: the order was changed while the tablet was offline."
    )


def _order_of(dose: ScheduledDose | None) -> Order:
    return ScheduledDose.objects.select_related("order").get(pk=dose.pk).order
