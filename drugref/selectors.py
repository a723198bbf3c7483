"""Reads of the drug reference: search by brand, generic or NDC; a package scan; which
directory is loaded (its date is shown wherever the data is)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from drugref import rules
from drugref.fda import SHIPPED_DATE
from drugref.models import LoadRun, Package, Product
from mar.ndc import ndc11_candidates

SEARCH_LIMIT = 25
_NDC_LIKE = re.compile(r"^[\d\s-]{8,}$|^\]")


def reference_date() -> str:
    """The date of the directory loaded last ("FDA NDC Directory, April 2019")."""
    run = LoadRun.objects.order_by("-loaded_at", "-id").first()
    return run.data_date if run else SHIPPED_DATE


def products_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[Product]:
    """Listed products whose brand or generic name contains every word of ``query``, or
    whose product or package NDC it is (any hyphenation, 10 or 11 digits, a barcode);
    brand and single-ingredient products first, then by name and strength."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    if _NDC_LIKE.match(query):
        return list(_ndc_products(query)[:limit])
    products = Product.objects.filter(is_listed=True)
    for word in query.split()[:5]:
        products = products.filter(
            Q(proprietary_name__icontains=word) | Q(nonproprietary_name__icontains=word)
        )
    return list(
        products.order_by("nonproprietary_name", "proprietary_name", "product_ndc", "id")[:limit]
    )


def _ndc_products(code: str) -> QuerySet[Product]:
    digits = code.replace(" ", "")
    candidates = ndc11_candidates(digits)
    product_codes = {digits} if "-" in digits and digits.count("-") == 1 else set()
    return (
        Product.objects.filter(Q(packages__ndc11__in=candidates) | Q(product_ndc__in=product_codes))
        .distinct()
        .order_by("product_ndc", "id")
    )


def package_for_scan(*, code: str) -> Package | None:
    """The package a scanned or typed NDC is (10 or 11 digits, any hyphenation, UPC-A or
    GS1 DataMatrix): one query; None when the directory has no such package."""
    candidates = ndc11_candidates(code)
    if not candidates:
        return None
    return (
        Package.objects.filter(ndc11__in=candidates)
        .select_related("product")
        .order_by("-product__is_listed", "ndc11", "id")
        .first()
    )


def psychotropic_prn_orders_ending(*, facility_ids, now, within_days: int | None = None):
    """Open PRN psychotropic orders (the 14-day rule applied at entry, CMS F758) that end
    within ``within_days`` (default: the reminder's 2 days) or ended in the last week, for
    the nurse's review and the reminder: soonest end first."""
    from mar.models import Order

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
    from django.db.models import Count, Q
    from django.db.models.functions import TruncMonth

    from mar.models import OrderAcknowledgement

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
