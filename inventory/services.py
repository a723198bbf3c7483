"""Writes on the cart's stock."""

from __future__ import annotations

import datetime as dt

from django.db.models import F

from inventory.models import StockItem
from mar.models import Notification
from mar.services.notifications import notifications_create
from staff.selectors import nurses_by_facility


def stock_check_expiry(*, today: dt.date, now: dt.datetime) -> None:
    """The daily stock check: tell the nurses about stock that is expired or expiring.

    An item within its facility's expiry warning (default 30 days) or past it, with
    anything left on hand, raises one notification per nurse per item and state.
    """
    items = list(
        StockItem.objects.filter(quantity_on_hand__gt=0)
        .annotate(warning_days=F("cart__facility__expiry_warning_days"))
        .select_related("resident", "medication", "cart__facility")
        .order_by("expires_on", "id")
    )
    items = [
        item for item in items if item.expires_on <= today + dt.timedelta(days=item.warning_days)
    ]
    nurses = nurses_by_facility(facility_ids={item.cart.facility_id for item in items})
    notifications = []
    for item in items:
        expired = item.expires_on < today
        state = "expired" if expired else "expiring"
        for nurse_id in nurses.get(item.cart.facility_id, []):
            notifications.append(
                Notification(
                    recipient_id=nurse_id,
                    facility_id=item.cart.facility_id,
                    kind=Notification.Kind.EXPIRING_STOCK,
                    subject_key=f"stock:{item.pk}:{state}",
                    title=f"{'Expired' if expired else 'Expiring'} stock on {item.cart}: "
                    f"{item.medication} for {item.resident.display_name}",
                    body=f"Lot {item.lot or 'n/a'} expires {item.expires_on:%b %-d, %Y}; "
                    f"{item.quantity_on_hand.normalize()} {item.unit} on hand.",
                    created_at=now,
                )
            )
    notifications_create(notifications=notifications)
