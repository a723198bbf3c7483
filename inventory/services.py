"""Writes on the cart's stock: the ledger, controlled counts, reorders and expiry.

Quantity on hand is the sum of the append-only ledger; ``StockItem.quantity_on_hand``
caches it. Every movement locks the item row, writes one ledger row with the new
balance and updates the cache in the same transaction, so the two never disagree and
the database refuses a balance below zero.

Entry points (keyword-only; each raises a ``StockError`` subclass whose message says
what to do, and writes nothing when it does):

- ``stock_receive``   a pharmacy delivery (a new card or bottle for an order, or more of
                      one already on the cart); controlled: a witness signs.
- ``stock_waste``     dropped, refused after being prepared...; a reason, and for a
                      controlled substance a witness who signs.
- ``stock_return``    back to the pharmacy (nurses and administrators).
- ``stock_adjust``    a count adjustment with a reason (nurses and administrators).
- ``stock_transfer``  to another cart: a pair of ledger rows linked by ``transfer_pair``
                      (nurses and administrators).
- ``stock_take_for_administration`` / ``stock_return_for_error``: charting's calls.
- ``count_start``, ``count_sign``, ``count_cancel``, ``count_resolve``: the blind
  controlled-substance shift count.
- ``reorder_request``, ``reorder_mark_received``; ``stock_daily_check`` (the daily job).

Who may do what (``MED_TECH_MAY`` below): med techs receive, waste (with a witness when
controlled) and take part in counts; nurses and administrators may do everything; only
a nurse resolves a count discrepancy. Everyone acts only in their own communities.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Literal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.http import HttpRequest
from django.urls import reverse

from inventory.models import (
    CartAssignment,
    ControlledCount,
    ControlledCountLine,
    MedCart,
    ReorderRequest,
    StockItem,
    StockTransaction,
)
from inventory.selectors import facility_supplies, quantity_text
from mar import units
from mar.models import Administration, Medication, Notification, Order
from mar.services.notifications import notifications_create, notifications_settle
from medtech.core import permissions
from medtech.core.audit import audit_write, snapshot
from medtech.core.errors import Conflict, DomainError, Invalid, NotPermitted, Refused
from medtech.core.permissions import Area
from medtech.core.scope import is_member
from residents.models import Facility, Resident, Unit
from staff.models import User
from staff.selectors import nurses_by_facility
from staff.services import PinError, user_signature_verify

# Who may do what is decided by the project's permission matrix (medtech.core.permissions).
MANAGERS = permissions.roles_for(Area.STOCK_MANAGE)
HANDLERS = permissions.roles_for(Area.STOCK_HANDLE)
MAX_QUANTITY = Decimal("9999999")


# --- Errors --------------------------------------------------------------------------------


class StockError(DomainError):
    """A stock movement that cannot be made; the message says why."""


class StockUnavailable(Refused, StockError):
    """Not enough on hand (or nothing usable) for what was asked."""


class StockInvalid(Invalid, StockError):
    """Bad input: the field it concerns is in ``field``."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StockNotPermitted(NotPermitted, StockError):
    """The person may not do this here (role or community)."""


class CartNotPermitted(StockNotPermitted):
    pass


class WitnessRequired(StockInvalid):
    def __init__(self, message: str) -> None:
        super().__init__(message, field="witness")


class SignatureRefused(Invalid, StockError):
    """A witness's or counter's PIN or password did not match (or was missing)."""

    def __init__(self, message: str, *, field: str = "witness_secret") -> None:
        super().__init__(message)
        self.field = field


class CountClosed(Conflict, StockInvalid):
    """The count is no longer in the state the request needs."""


# --- Checks shared by every write ------------------------------------------------------------


def _name(user: User) -> str:
    return user.get_full_name() or user.username


def _check_member(user: User, facility_id: int) -> None:
    if not is_member(user=user, facility_id=facility_id):
        raise StockNotPermitted(
            "This stock belongs to a community you are not a member of. "
            "Ask an administrator if you should have access."
        )


def _check_role(user: User, roles: tuple[str, ...], what: str) -> None:
    if not (user.is_active and user.role in roles):
        who = " and ".join(
            {"med_tech": "med techs", "nurse": "nurses", "administrator": "administrators"}[r]
            for r in roles
        )
        raise StockNotPermitted(f"Only {who} can {what}. Ask the nurse on duty.")


def _check_signature(*, user: User, secret: str, now: dt.datetime, field: str) -> None:
    """``secret`` must be ``user``'s tablet PIN or their password.

    A PIN goes through the tablet's PIN check, so wrong PINs count towards the same
    pause as on the lock screen.
    """
    name = _name(user)
    if not secret:
        raise SignatureRefused(f"{name} must sign with their own PIN or password.", field=field)
    try:
        # Shared accounts never sign; wrong PINs and passwords pause signing alike.
        user_signature_verify(user=user, secret=secret, now=now)
    except PinError as error:
        raise SignatureRefused(str(error), field=field) from None


def _check_witness(
    *,
    witness: User | None,
    witness_secret: str,
    by: User,
    facility_id: int,
    required: bool,
    what: str,
    now: dt.datetime,
) -> User | None:
    """The witness, checked and signed; None when there is none and none is needed."""
    if witness is None:
        if required:
            raise WitnessRequired(
                f"{what} of a controlled substance needs a witness: choose who watched, and "
                "they sign with their own PIN or password."
            )
        return None
    if witness.pk == by.pk:
        raise StockInvalid("The witness must be someone else, not you.", field="witness")
    if not is_member(user=witness, facility_id=facility_id):
        raise StockNotPermitted(
            f"{_name(witness)} is not on the staff of this community and cannot witness here."
        )
    _check_signature(user=witness, secret=witness_secret, now=now, field="witness_secret")
    return witness


def _quantity(value: Decimal | int | str | None, *, field: str = "quantity") -> Decimal:
    """A positive amount with at most three decimals."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise StockInvalid(f"{value!r} is not a number.", field=field) from None
    if not number.is_finite() or number <= 0 or number > MAX_QUANTITY:
        raise StockInvalid("Enter an amount more than 0.", field=field)
    if number != number.quantize(Decimal("0.001")):
        raise StockInvalid("Use at most three decimals.", field=field)
    return number


def _reason(text: str, *, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise StockInvalid(f"Say why ({what}).", field="reason")
    return text


def _today(facility, now: dt.datetime) -> dt.date:
    return now.astimezone(facility.zone).date()


def _lock(item: StockItem) -> StockItem:
    return (
        StockItem.objects.select_for_update(of=("self",))
        .select_related("medication", "cart__facility", "resident")
        .get(pk=item.pk)
    )


# --- The ledger ----------------------------------------------------------------------------


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
    transfer_pair: StockTransaction | None = None,
) -> StockTransaction:
    """One ledger row and the matching cache update. The caller holds the row lock."""
    balance = item.quantity_on_hand + quantity
    if balance < 0:
        raise StockUnavailable(
            f"Only {quantity_text(item.quantity_on_hand, item.unit)} of {item.medication} on hand."
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
        transfer_pair=transfer_pair,
        created_at=now,
    )
    StockItem.objects.filter(pk=item.pk).update(quantity_on_hand=F("quantity_on_hand") + quantity)
    item.quantity_on_hand = balance
    if administration is None:
        # Charting and its undo are audited by their own services (mar.services).
        audit_write(
            actor=by,
            action=f"stock.{kind}",
            target=row,
            resident=item.resident_id,
            facility=item.cart.facility_id,
            after={
                "stock_item": item.pk,
                "quantity": quantity,
                "balance_after": balance,
                "witness": witness.pk if witness else None,
            },
            reason=reason,
            now=now,
        )
    return row


@transaction.atomic
def stock_receive(
    *,
    by: User,
    quantity: Decimal,
    now: dt.datetime,
    order: Order | None = None,
    item: StockItem | None = None,
    cart: MedCart | None = None,
    lot: str = "",
    expires_on: dt.date | None = None,
    rx_number: str = "",
    package: str = StockItem.Package.BLISTER_CARD,
    note: str = "",
    witness: User | None = None,
    witness_secret: str = "",
    unit: str = "",
) -> StockTransaction:
    """Receive a pharmacy delivery; returns its ``receive`` ledger row.

    A new package is counted in ``unit`` (by default the order's dose unit, or the
    form's counting unit when the dose is a mass: tablets for "650 mg"), which must
    convert to the order's dose unit (``mar.units``), or the delivery is refused.

    Either a new card or bottle for ``order`` (resident, medication and unit come from
    the order; it lands on ``cart``, by default the cart of the resident's room; ``lot``
    and ``expires_on`` are required, ``rx_number`` defaults to the order's and must
    match it), or more of a package already on the cart (``item``: the balance of a
    partial fill). A controlled substance needs a ``witness`` who signs with their
    PIN or password (``witness_secret``). An open reorder request for the resident's
    medication is closed as received.
    """
    if (order is None) == (item is None):
        raise StockInvalid("Receive either for an order (a new package) or into a stock item.")
    _check_role(by, HANDLERS, "receive stock")
    quantity = _quantity(quantity)
    if item is not None:
        item = _lock(item)
        facility = item.cart.facility
        _check_member(by, facility.pk)
        if item.expires_on < _today(facility, now):
            raise StockInvalid(
                f"This package expired on {item.expires_on:%b %-d, %Y}; receive the delivery "
                "as a new package with its own lot and expiry."
            )
        if item.order_id is not None:
            _check_units(order=item.order, unit=item.unit)
    else:
        order = Order.objects.select_related(
            "medication", "resident__facility", "resident__room__cart"
        ).get(pk=order.pk)
        resident = order.resident
        facility = resident.facility
        _check_member(by, facility.pk)
        item = _new_item(
            order=order,
            resident=resident,
            cart=cart,
            lot=lot,
            expires_on=expires_on,
            rx_number=rx_number,
            package=package,
            unit=unit,
            today=_today(facility, now),
            now=now,
        )
    witness = _check_witness(
        witness=witness,
        witness_secret=witness_secret,
        by=by,
        facility_id=facility.pk,
        required=item.medication.is_controlled,
        what="Receiving",
        now=now,
    )
    row = _move(
        item=item,
        kind=StockTransaction.Kind.RECEIVE,
        quantity=quantity,
        by=by,
        now=now,
        witness=witness,
        reason=(note or "").strip(),
    )
    ReorderRequest.objects.filter(
        resident_id=item.resident_id,
        medication_id=item.medication_id,
        status=ReorderRequest.Status.REQUESTED,
        requested_at__lte=now,
    ).update(
        status=ReorderRequest.Status.RECEIVED, received_by=by, received_at=now, received_item=item
    )
    return row


def _new_item(
    *,
    order: Order,
    resident: Resident,
    cart: MedCart | None,
    lot: str,
    expires_on: dt.date | None,
    rx_number: str,
    package: str,
    unit: str,
    today: dt.date,
    now: dt.datetime,
) -> StockItem:
    if order.status == Order.Status.DISCONTINUED:
        raise StockInvalid(
            "This order was discontinued: do not put its stock on the cart. Send the "
            "delivery back to the pharmacy.",
            field="order",
        )
    if resident.status in (Resident.Status.DISCHARGED, Resident.Status.DECEASED):
        raise StockInvalid(f"{resident.display_name} is {resident.get_status_display().lower()}.")
    if cart is None:
        cart = resident.room.cart if resident.room else None
        if cart is None:
            raise StockInvalid(
                f"{resident.display_name}'s room has no med cart; choose the cart.", field="cart"
            )
    if cart.facility_id != resident.facility_id or not cart.is_active:
        raise StockInvalid("Choose an active cart of the resident's community.", field="cart")
    lot = (lot or "").strip()
    if not lot:
        raise StockInvalid("Enter the lot number printed on the label.", field="lot")
    if expires_on is None:
        raise StockInvalid("Enter the expiry date printed on the label.", field="expires_on")
    if expires_on < today:
        raise StockInvalid(
            f"This package expired on {expires_on:%b %-d, %Y}: do not put it on the cart. "
            "Send it back to the pharmacy.",
            field="expires_on",
        )
    rx_number = (rx_number or "").strip()
    if rx_number and order.rx_number and rx_number.upper() != order.rx_number.strip().upper():
        raise StockInvalid(
            f"The label's Rx number {rx_number} is not this order's ({order.rx_number}). "
            "Check that you picked the right resident and order.",
            field="rx_number",
        )
    if package not in StockItem.Package.values:
        raise StockInvalid("Choose the kind of package.", field="package")
    unit = " ".join((unit or "").split())[:20] or units.counting_unit(
        dose_unit=order.dose_unit, product=order.medication
    )
    _check_units(order=order, unit=unit)
    return StockItem.objects.create(
        cart=cart,
        resident=resident,
        medication=order.medication,
        order=order,
        package=package,
        quantity_on_hand=0,
        unit=unit,
        lot=lot,
        expires_on=expires_on,
        rx_number=rx_number or order.rx_number,
        received_at=now,
    )


def _check_units(*, order: Order, unit: str) -> None:
    """Stock for an order is counted in a unit its dose converts to, or not received."""
    if refusal := units.units_mismatch(
        dose_unit=order.dose_unit, stock_unit=unit, product=order.medication
    ):
        raise StockInvalid(
            f"{refusal} Count the package in {order.dose_unit}, or ask the nurse to correct "
            "the order or the product.",
            field="unit",
        )


@transaction.atomic
def stock_waste(
    *,
    item: StockItem,
    quantity: Decimal,
    reason: str,
    by: User,
    now: dt.datetime,
    witness: User | None = None,
    witness_secret: str = "",
) -> StockTransaction:
    """Waste part of a package (dropped, refused after being prepared, contaminated...).

    A reason always; a controlled substance also needs a witness who signs.
    """
    quantity = _quantity(quantity)
    reason = _reason(reason, what="what happened to it")
    item = _lock(item)
    facility_id = item.cart.facility_id
    _check_member(by, facility_id)
    _check_role(by, HANDLERS, "waste stock")
    witness = _check_witness(
        witness=witness,
        witness_secret=witness_secret,
        by=by,
        facility_id=facility_id,
        required=item.medication.is_controlled,
        what="Wasting",
        now=now,
    )
    return _move(
        item=item,
        kind=StockTransaction.Kind.WASTE,
        quantity=-quantity,
        by=by,
        now=now,
        witness=witness,
        reason=reason,
    )


@transaction.atomic
def stock_return(
    *,
    item: StockItem,
    by: User,
    now: dt.datetime,
    quantity: Decimal | None = None,
    reason: str = "",
    witness: User | None = None,
    witness_secret: str = "",
) -> StockTransaction:
    """Send stock back to the pharmacy (all that is on hand unless ``quantity`` says less).

    Nurses and administrators; a controlled substance needs a witness who signs.
    """
    item = _lock(item)
    facility_id = item.cart.facility_id
    _check_member(by, facility_id)
    _check_role(by, MANAGERS, "return stock to the pharmacy")
    if quantity is None:
        quantity = item.quantity_on_hand
        if quantity <= 0:
            raise StockUnavailable(f"Nothing of {item.medication} is left on hand to return.")
    quantity = _quantity(quantity)
    witness = _check_witness(
        witness=witness,
        witness_secret=witness_secret,
        by=by,
        facility_id=facility_id,
        required=item.medication.is_controlled,
        what="Returning",
        now=now,
    )
    return _move(
        item=item,
        kind=StockTransaction.Kind.RETURN,
        quantity=-quantity,
        by=by,
        now=now,
        witness=witness,
        reason=(reason or "").strip(),
    )


@transaction.atomic
def stock_adjust(
    *,
    item: StockItem,
    by: User,
    reason: str,
    now: dt.datetime,
    quantity: Decimal | None = None,
    counted: Decimal | None = None,
) -> StockTransaction:
    """Correct the quantity on hand, with a reason (nurses and administrators).

    Either ``quantity``, the signed change (+2, -1), or ``counted``, what is really
    there: the change is worked out under the row lock, so a dose charted meanwhile is
    not undone.
    """
    if (quantity is None) == (counted is None):
        raise StockInvalid("Give either the change or the counted quantity.", field="quantity")
    reason = _reason(reason, what="why the count is corrected")
    item = _lock(item)
    _check_member(by, item.cart.facility_id)
    _check_role(by, MANAGERS, "adjust stock")
    if counted is not None:
        try:
            counted = Decimal(str(counted))
        except (InvalidOperation, ValueError):
            raise StockInvalid(f"{counted!r} is not a number.", field="counted") from None
        if not counted.is_finite() or counted < 0:
            raise StockInvalid("The counted quantity is 0 or more.", field="counted")
        change = counted - item.quantity_on_hand
        if change == 0:
            raise StockInvalid(
                f"The count is already {quantity_text(counted, item.unit)}; nothing to adjust.",
                field="counted",
            )
    else:
        try:
            change = Decimal(str(quantity))
        except (InvalidOperation, ValueError):
            raise StockInvalid(f"{quantity!r} is not a number.", field="quantity") from None
        if not change.is_finite() or change == 0:
            raise StockInvalid("The change cannot be 0.", field="quantity")
        _quantity(abs(change))
    return _move(
        item=item,
        kind=StockTransaction.Kind.ADJUST,
        quantity=change,
        by=by,
        now=now,
        reason=reason,
    )


@transaction.atomic
def stock_transfer(
    *,
    item: StockItem,
    to_cart: MedCart,
    by: User,
    now: dt.datetime,
    quantity: Decimal | None = None,
    reason: str = "",
) -> tuple[StockTransaction, StockTransaction]:
    """Move stock to another cart of the community (all of it unless ``quantity`` says
    less): a ``transfer_out`` row on this package and a ``transfer_in`` row on the same
    package (same lot and expiry) on the other cart, each pointing at the other through
    ``transfer_pair``. Nurses and administrators. Returns (out, in).
    """
    source = StockItem.objects.select_related("cart").get(pk=item.pk)
    facility_id = source.cart.facility_id
    _check_member(by, facility_id)
    _check_role(by, MANAGERS, "move stock between carts")
    if to_cart.pk == source.cart_id:
        raise StockInvalid("That is the cart it is on already; choose another.", field="to_cart")
    if to_cart.facility_id != facility_id or not to_cart.is_active:
        raise StockInvalid("Choose an active cart of the same community.", field="to_cart")
    same_package = {
        "resident_id": source.resident_id,
        "medication_id": source.medication_id,
        "order_id": source.order_id,
        "package": source.package,
        "unit": source.unit,
        "lot": source.lot,
        "expires_on": source.expires_on,
        "rx_number": source.rx_number,
    }
    target = (
        StockItem.objects.filter(cart=to_cart, **same_package).order_by("id").only("id").first()
    )
    if target is None:
        target = StockItem.objects.create(
            cart=to_cart, quantity_on_hand=0, received_at=source.received_at, **same_package
        )
    # Both rows locked in id order, so two transfers the opposite way cannot deadlock.
    locked = {
        row.pk: row
        for row in StockItem.objects.select_for_update(of=("self",))
        .select_related("medication", "cart")
        .filter(pk__in=[source.pk, target.pk])
        .order_by("id")
    }
    source, target = locked[source.pk], locked[target.pk]
    if quantity is None:
        quantity = source.quantity_on_hand
        if quantity <= 0:
            raise StockUnavailable(f"Nothing of {source.medication} is left on hand to move.")
    quantity = _quantity(quantity)
    reason = (reason or "").strip()
    out = _move(
        item=source,
        kind=StockTransaction.Kind.TRANSFER_OUT,
        quantity=-quantity,
        by=by,
        now=now,
        reason=f"To {to_cart.name}" + (f": {reason}" if reason else ""),
    )
    into = _move(
        item=target,
        kind=StockTransaction.Kind.TRANSFER_IN,
        quantity=quantity,
        by=by,
        now=now,
        reason=f"From {source.cart.name}" + (f": {reason}" if reason else ""),
        transfer_pair=out,
    )
    StockTransaction.objects.filter(pk=out.pk).update(transfer_pair=into)
    out.transfer_pair = into
    return out, into


# Picks the usable item that expires first, locks it and takes the dose off in one
# statement. The dose arrives in the order's unit; ``wanted`` lists each spelling of a unit
# the dose converts to for this product (mar.units) with the dose in it, so a card counted
# in another unit is taken from in its own unit, and one whose unit does not convert is
# passed over. A row another chart changed while we waited for its lock is checked again
# (still unexpired, still enough left) before it is taken; otherwise the next one is.
_TAKE_SQL = """
WITH wanted AS (
    SELECT * FROM unnest(%(units)s::text[], %(quantities)s::numeric[]) AS w(unit, quantity)
)
UPDATE inventory_stockitem AS item
SET quantity_on_hand = item.quantity_on_hand - wanted.quantity
FROM wanted
WHERE lower(btrim(item.unit)) = wanted.unit AND item.id = (
    SELECT candidate.id FROM inventory_stockitem AS candidate
    JOIN wanted AS fit ON lower(btrim(candidate.unit)) = fit.unit
    WHERE candidate.resident_id = %(resident)s AND candidate.medication_id = %(medication)s
      AND candidate.expires_on >= %(today)s AND candidate.quantity_on_hand >= fit.quantity
    ORDER BY candidate.expires_on, candidate.received_at, candidate.id
    LIMIT 1
    FOR UPDATE OF candidate
)
RETURNING item.id, item.quantity_on_hand, wanted.quantity
"""


def _stock_quantities(*, quantity: Decimal, dose_unit: str, medication: Medication) -> dict:
    """The dose in every stock unit it converts to, by lower-case spelling."""
    wanted: dict[str, Decimal] = {}
    for unit, amount in units.equivalents(quantity, unit=dose_unit, product=medication).items():
        rounded = amount.quantize(Decimal("0.001"))
        if rounded > 0:
            for spelling in units.spellings(unit):
                wanted.setdefault(spelling, rounded)
    return wanted


def _why_none_usable(*, order: Order, resident_id: int, today: dt.date) -> str:
    """What to tell the person charting when no stock could be taken (failure path only)."""
    for unit in (
        StockItem.objects.filter(
            resident_id=resident_id,
            medication_id=order.medication_id,
            expires_on__gte=today,
            quantity_on_hand__gt=0,
        )
        .order_by("unit")
        .values_list("unit", flat=True)
        .distinct()
    ):
        if refusal := units.units_mismatch(
            dose_unit=order.dose_unit, stock_unit=unit, product=order.medication
        ):
            return f"{refusal} Chart the dose as not available and tell the nurse."
    return (
        f"No usable {order.medication} for this resident on the cart (none left, or "
        "only expired stock). Chart the dose as not available."
    )


def stock_take_for_administration(
    *, administration: Administration, quantity: Decimal, today: dt.date, now: dt.datetime
) -> StockTransaction:
    """Take a given dose off the resident's stock: the usable item that expires first.

    ``quantity`` is in the order's dose unit; the ledger moves in the item's unit,
    converted where the product makes a conversion known (``mar.units``: mg and tablets
    by the strength, mL and drops by the drops per mL on the product); an item whose
    unit does not convert is never taken from. Runs inside the charting transaction.
    Expired items and items without enough left are passed over; with none usable the
    dose cannot be charted as given. Two statements: the item's UPDATE (which chooses
    and locks it) and the ledger row.
    """
    order = administration.order
    wanted = _stock_quantities(
        quantity=quantity, dose_unit=order.dose_unit, medication=order.medication
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _TAKE_SQL,
            {
                "units": list(wanted),
                "quantities": list(wanted.values()),
                "resident": administration.resident_id,
                "medication": order.medication_id,
                "today": today,
            },
        )
        taken = cursor.fetchone()
    if taken is None:
        raise StockUnavailable(
            _why_none_usable(order=order, resident_id=administration.resident_id, today=today)
        )
    item_id, balance, moved = taken
    return StockTransaction.objects.create(
        stock_item_id=item_id,
        kind=StockTransaction.Kind.ADMINISTER,
        quantity=-moved,
        balance_after=balance,
        performed_by=administration.administered_by,
        administration=administration,
        created_at=now,
    )


def stock_move_for_amended_amount(
    *, administration: Administration, change: Decimal, by: User, reason: str, now: dt.datetime
) -> StockTransaction:
    """A nurse corrected how much of a dose was given: the ledger follows, on the item the
    dose was taken from. More given: the difference comes off it (refused if it does not
    hold that much); less: the difference goes back on it."""
    taken = (
        administration.stock_transactions.filter(kind=StockTransaction.Kind.ADMINISTER)
        .order_by("id")
        .first()
    )
    if taken is None:
        raise StockUnavailable(
            "No stock movement records this dose, so its amount cannot be corrected here; "
            "adjust the cart's stock with a witness instead."
        )
    item = StockItem.objects.select_for_update(of=("self",)).get(pk=taken.stock_item_id)
    return _move(
        item=item,
        kind=StockTransaction.Kind.ADMINISTER if change > 0 else StockTransaction.Kind.ADJUST,
        quantity=-change,
        by=by,
        now=now,
        reason=f"Dose amount amended: {reason}",
        administration=administration,
    )


def stock_return_for_error(
    *, administration: Administration, by: User, reason: str, now: dt.datetime
) -> list[StockTransaction]:
    """Put back what a dose charted in error took off the cart, net of any amended amount:
    one new ledger row per item it was taken from."""
    net_by_item = (
        administration.stock_transactions.values("stock_item_id")
        .annotate(net=Sum("quantity"))
        .order_by("stock_item_id")
    )
    rows = []
    for entry in net_by_item:
        if not entry["net"]:
            continue
        item = StockItem.objects.select_for_update(of=("self",)).get(pk=entry["stock_item_id"])
        rows.append(
            _move(
                item=item,
                kind=StockTransaction.Kind.ADJUST,
                quantity=-entry["net"],
                by=by,
                now=now,
                reason=f"Dose entered in error: {reason}",
                administration=administration,
            )
        )
    return rows


# --- The controlled-substance shift count ----------------------------------------------------

Side = Literal["outgoing", "incoming"]
SIDES: tuple[Side, ...] = ("outgoing", "incoming")


@transaction.atomic
def count_start(
    *, cart: MedCart, outgoing_user: User, incoming_user: User, by: User, now: dt.datetime
) -> ControlledCount:
    """Open a shift count of every controlled substance on the cart.

    Each line keeps what the ledger holds now (``expected_quantity``); nobody is shown it
    until both people have signed their own count.
    """
    facility_id = cart.facility_id
    _check_member(by, facility_id)
    _check_role(by, HANDLERS, "start a count")
    if outgoing_user.pk == incoming_user.pk:
        raise StockInvalid(
            "The outgoing and the incoming person must be two different people.",
            field="incoming_user",
        )
    for person, field in ((outgoing_user, "outgoing_user"), (incoming_user, "incoming_user")):
        if not is_member(user=person, facility_id=facility_id) or person.role not in HANDLERS:
            raise StockInvalid(
                f"{_name(person)} is not on the staff of this community.", field=field
            )
    open_count = (
        ControlledCount.objects.filter(cart=cart, status=ControlledCount.Status.IN_PROGRESS)
        .select_related("outgoing_user", "incoming_user")
        .first()
    )
    if open_count is not None:
        raise CountClosed(
            f"A count of {cart.name} is already in progress ({_name(open_count.outgoing_user)} "
            f"and {_name(open_count.incoming_user)}). Finish or cancel it first."
        )
    items = list(
        StockItem.objects.filter(cart=cart, quantity_on_hand__gt=0)
        .exclude(medication__dea_schedule="")
        .order_by("id")
    )
    if not items:
        raise StockInvalid(f"There are no controlled substances on {cart.name} to count.")
    try:
        with transaction.atomic():
            count = ControlledCount.objects.create(
                cart=cart,
                started_at=now,
                outgoing_user=outgoing_user,
                incoming_user=incoming_user,
            )
    except IntegrityError:
        raise CountClosed(
            f"Someone else just started a count of {cart.name}. Open it from the counts page."
        ) from None
    ControlledCountLine.objects.bulk_create(
        ControlledCountLine(count=count, stock_item=item, expected_quantity=item.quantity_on_hand)
        for item in items
    )
    audit_write(
        actor=by,
        action="count.start",
        target=count,
        facility=facility_id,
        after={"outgoing_user": outgoing_user.pk, "incoming_user": incoming_user.pk},
        now=now,
    )
    return count


def _lock_count(count: ControlledCount) -> ControlledCount:
    return (
        ControlledCount.objects.select_for_update(of=("self",))
        .select_related("cart__facility", "outgoing_user", "incoming_user")
        .get(pk=count.pk)
    )


@transaction.atomic
def count_sign(
    *,
    count: ControlledCount,
    side: Side,
    quantities: dict[int | str, Decimal | str | int],
    secret: str,
    now: dt.datetime,
) -> ControlledCount:
    """One person's blind count: what they counted for every line (by line id), signed
    with their own PIN or password. When the second person signs, the count is matched
    or a discrepancy, and a discrepancy goes to the community's nurses at once.
    """
    if side not in SIDES:
        raise StockInvalid("Count as the outgoing or the incoming person.")
    count = _lock_count(count)
    if count.status != ControlledCount.Status.IN_PROGRESS:
        raise CountClosed(f"This count is {count.get_status_display().lower()}; it is closed.")
    person = getattr(count, f"{side}_user")
    if getattr(count, f"{side}_signed_at") is not None:
        raise CountClosed(f"{_name(person)} has already signed this count.")
    lines = list(count.lines.order_by("id"))
    counted: dict[int, Decimal] = {}
    for line in lines:
        raw = quantities.get(line.pk, quantities.get(str(line.pk)))
        if raw is None or str(raw).strip() == "":
            raise StockInvalid(
                "Enter a count for every item (0 if there is none).", field=f"line-{line.pk}"
            )
        try:
            value = Decimal(str(raw).strip())
        except (InvalidOperation, ValueError):
            raise StockInvalid(f"{raw!r} is not a number.", field=f"line-{line.pk}") from None
        if not value.is_finite() or value < 0 or value > MAX_QUANTITY:
            raise StockInvalid("A count is 0 or more.", field=f"line-{line.pk}")
        counted[line.pk] = value
    _check_signature(user=person, secret=secret, now=now, field="secret")
    for line in lines:
        setattr(line, f"{side}_quantity", counted[line.pk])
    ControlledCountLine.objects.bulk_update(lines, [f"{side}_quantity"])
    setattr(count, f"{side}_signed_at", now)
    if count.outgoing_signed_at and count.incoming_signed_at:
        discrepant = [line for line in lines if line.is_discrepancy]
        count.status = (
            ControlledCount.Status.DISCREPANCY if discrepant else ControlledCount.Status.MATCHED
        )
        if discrepant:
            _notify_discrepancy(count=count, lines=discrepant, now=now)
    count.save(update_fields=[f"{side}_signed_at", "status"])
    audit_write(
        actor=person,
        action="count.sign",
        target=count,
        facility=count.cart.facility_id,
        after={"side": side, "status": count.status, "counted": counted},
        now=now,
    )
    return count


def _notify_discrepancy(
    *, count: ControlledCount, lines: list[ControlledCountLine], now: dt.datetime
) -> None:
    facility = count.cart.facility
    items = StockItem.objects.select_related("medication", "resident").in_bulk(
        [line.stock_item_id for line in lines]
    )
    details = []
    for line in lines:
        item = items[line.stock_item_id]
        details.append(
            f"{item.medication} for {item.resident.display_name}: ledger "
            f"{line.expected_quantity.normalize():f}, counted "
            f"{line.outgoing_quantity.normalize():f} (outgoing) and "
            f"{line.incoming_quantity.normalize():f} (incoming)"
        )
    local = count.started_at.astimezone(facility.zone)
    notifications_create(
        notifications=[
            Notification(
                recipient_id=nurse_id,
                facility_id=facility.pk,
                kind=Notification.Kind.COUNT_DISCREPANCY,
                subject_key=f"count:{count.pk}",
                title=f"Count discrepancy on {count.cart.name} at {local:%H:%M}: "
                f"{len(lines)} item{'s' if len(lines) != 1 else ''} off",
                body="; ".join(details)
                + f". Counted by {_name(count.outgoing_user)} and {_name(count.incoming_user)}."
                " Review and resolve it with a note.",
                link=reverse("inventory:count", args=[count.public_id]),
                created_at=now,
            )
            for nurse_id in nurses_by_facility(facility_ids={facility.pk}).get(facility.pk, [])
        ]
    )


@transaction.atomic
def count_cancel(*, count: ControlledCount, by: User, now: dt.datetime) -> ControlledCount:
    """Call off a count still in progress (e.g. the wrong incoming person was chosen):
    either counter, a nurse or an administrator."""
    count = _lock_count(count)
    _check_member(by, count.cart.facility_id)
    if count.status != ControlledCount.Status.IN_PROGRESS:
        raise CountClosed(f"This count is {count.get_status_display().lower()}; it is closed.")
    if by.pk not in (count.outgoing_user_id, count.incoming_user_id) and not permissions.can(
        by, Area.STOCK_MANAGE
    ):
        raise StockNotPermitted("Only the two counters or a nurse can cancel this count.")
    count.status = ControlledCount.Status.CANCELLED
    count.cancelled_by = by
    count.cancelled_at = now
    count.save(update_fields=["status", "cancelled_by", "cancelled_at"])
    audit_write(
        actor=by,
        action="count.cancel",
        target=count,
        facility=count.cart.facility_id,
        before={"status": ControlledCount.Status.IN_PROGRESS},
        after={"status": count.status},
        now=now,
    )
    return count


def count_resolver_refusal(*, count: ControlledCount, user: User) -> str:
    """Why ``user`` may not resolve the count's discrepancy ("" when they may): a
    discrepancy is settled by a nurse who was not one of the two who counted."""
    if not permissions.can(user, Area.COUNT_RESOLVE):
        return "Only a nurse can resolve a count discrepancy."
    if user.pk in (count.outgoing_user_id, count.incoming_user_id):
        return "You counted this cart: a nurse who did not count resolves the discrepancy."
    return ""


@transaction.atomic
def count_resolve(
    *,
    count: ControlledCount,
    by: User,
    note: str,
    now: dt.datetime,
    adjust_to_count: bool = False,
) -> ControlledCount:
    """A nurse closes a discrepancy with a note saying what was found.

    With ``adjust_to_count`` every line where both people counted the same number is
    corrected in the ledger to that number (a count adjustment with the note), so the
    next count starts from what is really on the cart.
    """
    count = _lock_count(count)
    _check_member(by, count.cart.facility_id)
    permissions.require(
        by,
        Area.COUNT_RESOLVE,
        error=StockNotPermitted,
        message="Only a nurse can resolve a count discrepancy.",
    )
    if refusal := count_resolver_refusal(count=count, user=by):
        raise StockNotPermitted(refusal)
    if count.status != ControlledCount.Status.DISCREPANCY:
        raise CountClosed(
            f"This count is {count.get_status_display().lower()}; nothing to resolve."
        )
    note = (note or "").strip()
    if not note:
        raise StockInvalid("Write what you found and what was done.", field="note")
    if adjust_to_count:
        local = count.started_at.astimezone(count.cart.facility.zone)
        for line in count.lines.order_by("stock_item_id"):
            agreed = line.outgoing_quantity
            if agreed != line.incoming_quantity or agreed == line.expected_quantity:
                continue
            item = _lock(line.stock_item)
            _move(
                item=item,
                kind=StockTransaction.Kind.ADJUST,
                quantity=agreed - line.expected_quantity,
                by=by,
                now=now,
                reason=f"Shift count {local:%b %-d %H:%M}: counted "
                f"{agreed.normalize():f}, ledger {line.expected_quantity.normalize():f}. {note}",
            )
    notifications_settle(
        subject_keys=[f"count:{count.pk}"], kinds=[Notification.Kind.COUNT_DISCREPANCY], now=now
    )
    count.status = ControlledCount.Status.RESOLVED
    count.resolved_by = by
    count.resolved_at = now
    count.resolution_note = note
    count.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note"])
    audit_write(
        actor=by,
        action="count.resolve",
        target=count,
        facility=count.cart.facility_id,
        before={"status": ControlledCount.Status.DISCREPANCY},
        after={"status": count.status, "adjust_to_count": adjust_to_count},
        reason=note,
        now=now,
    )
    return count


# --- Reorders --------------------------------------------------------------------------------


def reorder_request(
    *,
    resident: Resident,
    medication: Medication,
    by: User,
    now: dt.datetime,
    order: Order | None = None,
    note: str = "",
) -> ReorderRequest:
    """Mark a resident's medication as requested from the pharmacy (nurses, administrators)."""
    _check_member(by, resident.facility_id)
    _check_role(by, MANAGERS, "request refills")
    try:
        with transaction.atomic():
            request = ReorderRequest.objects.create(
                resident=resident,
                medication=medication,
                order=order,
                note=(note or "").strip(),
                requested_by=by,
                requested_at=now,
            )
            audit_write(
                actor=by,
                action="reorder.request",
                target=request,
                resident=resident,
                after={"medication": medication.pk, "order": order.pk if order else None},
                reason=request.note,
                now=now,
            )
            return request
    except IntegrityError:
        open_request = (
            ReorderRequest.objects.filter(
                resident=resident, medication=medication, status=ReorderRequest.Status.REQUESTED
            )
            .select_related("requested_by")
            .first()
        )
        when = open_request.requested_at.astimezone(resident.facility.zone) if open_request else now
        who = _name(open_request.requested_by) if open_request else "someone"
        raise StockInvalid(
            f"{medication} for {resident.display_name} was already requested by {who} on "
            f"{when:%b %-d at %H:%M}."
        ) from None


@transaction.atomic
def reorder_mark_received(
    *, request: ReorderRequest, by: User, now: dt.datetime, note: str = ""
) -> ReorderRequest:
    """Close a request by hand (receiving the stock closes it too)."""
    request = (
        ReorderRequest.objects.select_for_update(of=("self",))
        .select_related("resident")
        .get(pk=request.pk)
    )
    _check_member(by, request.resident.facility_id)
    _check_role(by, MANAGERS, "mark refills received")
    if request.status != ReorderRequest.Status.REQUESTED:
        raise StockInvalid("This refill is already marked received.")
    request.status = ReorderRequest.Status.RECEIVED
    request.received_by = by
    request.received_at = max(now, request.requested_at)
    if note := (note or "").strip():
        request.note = f"{request.note}\n{note}".strip()
    request.save(update_fields=["status", "received_by", "received_at", "note"])
    audit_write(
        actor=by,
        action="reorder.received",
        target=request,
        resident=request.resident,
        before={"status": ReorderRequest.Status.REQUESTED},
        after={"status": request.status},
        reason=note,
        now=now,
    )
    return request


# --- The daily check -------------------------------------------------------------------------


def stock_daily_check(*, today: dt.date, now: dt.datetime) -> None:
    """The daily job: expired and expiring stock, and stock running low, to the nurses."""
    stock_check_expiry(today=today, now=now)
    stock_check_low(now=now)


def stock_check_expiry(*, today: dt.date, now: dt.datetime) -> None:
    """Tell the nurses about stock that is expired or expiring.

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
    link = reverse("inventory:expiry")
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
                    f"{quantity_text(item.quantity_on_hand, item.unit)} on hand.",
                    link=link,
                    created_at=now,
                )
            )
    notifications_create(notifications=notifications)


def stock_check_low(*, now: dt.datetime) -> None:
    """Tell the nurses about each resident's medication with fewer days of supply left
    than the community's reorder threshold and no refill requested yet: once per
    delivery (the subject is the newest package), however often the job runs."""
    facilities = list(Facility.objects.order_by("id"))
    nurses = nurses_by_facility(facility_ids={facility.pk for facility in facilities})
    link = reverse("inventory:reorders")
    notifications = []
    for facility in facilities:
        if not nurses.get(facility.pk):
            continue
        supplies = facility_supplies(facility=facility, now=now)
        low = [supply for supply in supplies.values() if supply.is_low and not supply.request]
        for supply in low:
            for nurse_id in nurses[facility.pk]:
                notifications.append(
                    Notification(
                        recipient_id=nurse_id,
                        facility_id=facility.pk,
                        kind=Notification.Kind.LOW_STOCK,
                        subject_key=f"low:{supply.resident.pk}:{supply.medication.pk}:"
                        f"{supply.newest_item_id or 0}",
                        title=f"Low stock: {supply.medication} for {supply.resident.display_name}",
                        body=f"{supply.days_left_text} left ({supply.on_hand_text} on hand, "
                        f"{supply.daily_use_text}). Request a refill from the pharmacy.",
                        link=link,
                        created_at=now,
                    )
                )
    notifications_create(notifications=notifications)


# --- Cart assignment (who is on duty for a cart) ---------------------------------------------


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


# --- Carts ---------------------------------------------------------------------------------


@transaction.atomic
def cart_create(
    *,
    facility: Facility,
    name: str,
    unit: Unit | None,
    by: User,
    now: dt.datetime,
    request: HttpRequest | None = None,
) -> MedCart:
    """A new cart of the community (the administrator's setup screen)."""
    permissions.require(
        by,
        Area.ADMIN_SCREENS,
        "manage residents and the community's settings",
        error=CartNotPermitted,
    )
    if not is_member(user=by, facility_id=facility.pk):
        raise CartNotPermitted("You are not a member of this community.")
    name = name.strip()
    if not name:
        raise StockInvalid("Name the cart.", field="name")
    if unit is not None and unit.facility_id != facility.pk:
        raise StockInvalid("Choose a unit of this community.", field="unit")
    if MedCart.objects.filter(facility=facility, name__iexact=name).exists():
        raise StockInvalid(f"There is already a cart called {name}.", field="name")
    cart = MedCart.objects.create(facility=facility, name=name, unit=unit)
    audit_write(
        actor=by, action="cart.create", target=cart, after=snapshot(cart), request=request, now=now
    )
    return cart
