"""Writes on the cart's stock.

Quantity on hand is the sum of the append-only ledger; ``StockItem.quantity_on_hand``
caches it. Every movement locks the item row, writes one ledger row with the new
balance and updates the cache in the same transaction, so the two never disagree and
the database refuses a balance below zero.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from inventory.models import CartAssignment, MedCart, StockItem, StockTransaction
from mar.models import Administration, Notification
from mar.services.notifications import notifications_create
from staff.models import User
from staff.selectors import nurses_by_facility


class StockError(Exception):
    """A stock movement that cannot be made; the message says why."""


class StockUnavailable(StockError):
    pass


def _move(
    *,
    item: StockItem,
    kind: str,
    quantity: Decimal,
    by: User,
    now: dt.datetime,
    witness: User | None = None,
    reason: str = "",
    administration: Administration | None = None,
) -> StockTransaction:
    """One ledger row and the matching cache update. The caller holds the row lock."""
    balance = item.quantity_on_hand + quantity
    if balance < 0:
        raise StockUnavailable(
            f"Only {item.quantity_on_hand.normalize()} {item.unit} of {item.medication} on hand."
        )
    row = StockTransaction.objects.create(
        stock_item=item,
        kind=kind,
        quantity=quantity,
        balance_after=balance,
        performed_by=by,
        witness=witness,
        reason=reason,
        administration=administration,
        created_at=now,
    )
    StockItem.objects.filter(pk=item.pk).update(quantity_on_hand=F("quantity_on_hand") + quantity)
    item.quantity_on_hand = balance
    return row


def stock_take_for_administration(
    *, administration: Administration, quantity: Decimal, today: dt.date, now: dt.datetime
) -> StockTransaction:
    """Take a given dose off the resident's stock: the usable item that expires first.

    Runs inside the charting transaction. Expired items and items without enough left
    are passed over; with none usable the dose cannot be charted as given.
    """
    order = administration.order
    candidates = (
        StockItem.objects.select_for_update(of=("self",))
        .filter(
            resident_id=administration.resident_id,
            medication_id=order.medication_id,
            expires_on__gte=today,
            quantity_on_hand__gte=quantity,
        )
        .order_by("expires_on", "received_at", "id")
    )
    item = candidates.select_related("medication").first()
    if item is None:
        raise StockUnavailable(
            f"No usable {order.medication} for this resident on the cart (none left, or "
            "only expired stock). Chart the dose as not available."
        )
    return _move(
        item=item,
        kind=StockTransaction.Kind.ADMINISTER,
        quantity=-quantity,
        by=administration.administered_by,
        now=now,
        administration=administration,
    )


def stock_return_for_error(
    *, administration: Administration, by: User, reason: str, now: dt.datetime
) -> list[StockTransaction]:
    """Put back what a dose charted in error took off the cart (a new ledger row each)."""
    rows = []
    for taken in administration.stock_transactions.filter(
        kind=StockTransaction.Kind.ADMINISTER
    ).order_by("id"):
        item = StockItem.objects.select_for_update(of=("self",)).get(pk=taken.stock_item_id)
        rows.append(
            _move(
                item=item,
                kind=StockTransaction.Kind.ADJUST,
                quantity=-taken.quantity,
                by=by,
                now=now,
                reason=f"Dose entered in error: {reason}",
                administration=administration,
            )
        )
    return rows


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


class CartNotPermitted(StockError):
    pass


@transaction.atomic
def cart_assignment_start(*, cart: MedCart, user: User, now: dt.datetime) -> CartAssignment:
    """Put a user on duty for a cart (ending any other cart they were on): from now on
    they get its dose reminders."""
    if not user.memberships.filter(facility_id=cart.facility_id).exists():
        raise CartNotPermitted("This cart belongs to a community you are not a member of.")
    CartAssignment.objects.filter(user=user, ended_at__isnull=True).exclude(cart=cart).update(
        ended_at=now
    )
    assignment = CartAssignment.objects.filter(user=user, cart=cart, ended_at__isnull=True).first()
    if assignment is None:
        assignment = CartAssignment.objects.create(cart=cart, user=user, started_at=now)
    return assignment


def cart_assignment_end(*, user: User, now: dt.datetime) -> int:
    """Hand over: the user is no longer on duty for any cart."""
    return CartAssignment.objects.filter(user=user, ended_at__isnull=True).update(ended_at=now)
