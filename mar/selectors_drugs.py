"""Reads of the record that the drug reference's checks left behind: PRN psychotropic
orders near their 14-day end (CMS F758), and the checks' alerts answered per month."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from drugref import rules
from mar.models import Order, OrderAcknowledgement


def psychotropic_prn_orders_ending(*, facility_ids, now, within_days: int | None = None):
    """Open PRN psychotropic orders (the 14-day rule applied at entry, CMS F758) that end
    within ``within_days`` (default: the reminder's 2 days) or ended in the last week, for
    the nurse's review and the reminder: soonest end first."""
    days = rules.PSYCHOTROPIC_REMIND_DAYS if within_days is None else within_days
    return list(
        Order.objects.filter(
            resident__facility_id__in=facility_ids,
            frequency=Order.Frequency.PRN,
            status__in=[Order.Status.PENDING_VERIFICATION, Order.Status.ACTIVE],
            ends_at__gt=now - dt.timedelta(days=7),
            ends_at__lte=now + dt.timedelta(days=days),
            acknowledgements__kind="psychotropic",
        )
        .distinct()
        .select_related("resident", "medication")
        .order_by("ends_at", "id")
    )


@dataclass(frozen=True)
class AlertMonth:
    month: dt.date
    kind: str
    alerts: int  # answered at entry or after an allergy was recorded: the order went ahead
    overrides: int  # of them, an allergy kept with a reason, or a warning answered with one
    verifications: int  # the second nurse's answers to the same alerts


def drug_alert_counts(*, facility, now: dt.datetime, months: int = 6) -> list[AlertMonth]:
    """Per month (in the community's time zone) and kind: the checks' alerts that nurses
    answered, from ``OrderAcknowledgement`` (who, when and why are on each order). An
    order refused for want of an answer writes nothing, so is not counted."""
    since = (now.astimezone(facility.zone) - dt.timedelta(days=31 * months)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    entry = Q(stage__in=["entry", "allergy_recorded"])
    rows = (
        OrderAcknowledgement.objects.filter(
            order__resident__facility=facility, acknowledged_at__gte=since
        )
        .annotate(month=TruncMonth("acknowledged_at", tzinfo=facility.zone))
        .values("month", "kind")
        .annotate(
            alerts=Count("id", filter=entry),
            overrides=Count("id", filter=entry & ~Q(kind="psychotropic")),
            verifications=Count("id", filter=Q(stage="verification")),
        )
        .order_by("-month", "kind")
    )
    labels = dict(OrderAcknowledgement.Kind.choices)
    return [
        AlertMonth(
            month=row["month"].date(),
            kind=labels.get(row["kind"], row["kind"]),
            alerts=row["alerts"],
            overrides=row["overrides"],
            verifications=row["verifications"],
        )
        for row in rows
    ]
