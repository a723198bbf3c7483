"""Reads of the cart's stock: what is on a cart, an item's running log, the counts,
days of supply and the reorder list, expiry. Each runs a fixed number of queries,
whatever the number of residents, items or ledger rows."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from django.db.models import Max, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from inventory.models import (
    CartAssignment,
    ControlledCount,
    ControlledCountLine,
    MedCart,
    ReorderRequest,
    StockItem,
    StockTransaction,
)
from mar import schedule, wording
from mar.models import Administration, Medication, Order
from mar.selectors import facility_pass_times
from medtech.core import permissions
from medtech.core.permissions import Area
from medtech.core.scope import facilities_of, scope
from residents.models import Facility, Resident
from staff.models import User

# PRN use is averaged over this many days (fewer when the order is newer).
PRN_LOOKBACK = dt.timedelta(days=14)
RECEIVED_SHOWN_FOR = dt.timedelta(days=7)
IN_HOUSE = (Resident.Status.ACTIVE, Resident.Status.AWAY)


def on_duty_by_cart(*, cart_ids: set[int]) -> dict[int, list[int]]:
    """User ids on duty for each cart (open assignments): who gets the cart's reminders."""
    on_duty: dict[int, list[int]] = {}
    for cart_id, user_id in (
        CartAssignment.objects.filter(cart_id__in=cart_ids, ended_at__isnull=True)
        .order_by("id")
        .values_list("cart_id", "user_id")
    ):
        on_duty.setdefault(cart_id, []).append(user_id)
    return on_duty


def unit_word(quantity: Decimal, unit: str) -> str:
    """The unit as it reads after ``quantity`` ("2 tablets", "12 suppositories")."""
    return wording.unit_words(quantity, unit)


def quantity_text(quantity: Decimal, unit: str) -> str:
    """``Decimal("2.000"), "tablet"`` -> "2 tablets"."""
    return wording.dose_words(quantity, unit)


# --- Scoping: another community's carts, items and counts answer 404 ----------------------


def active_carts(*, user: User) -> QuerySet[MedCart]:
    """The carts in service in the user's communities: every cart page, the med pass, the
    offline bundle and the API's transfers reach carts through this."""
    return scope(MedCart.objects.filter(is_active=True), user=user)


def carts_for_user(*, user: User) -> list[MedCart]:
    return list(
        active_carts(user=user)
        .select_related("facility", "unit")
        .order_by("facility__name", "name", "id")
    )


# How long the med tech who handed a cart over may still look at its board.
HANDED_OVER_LOOK = dt.timedelta(hours=12)


def cart_board_read_only(*, cart: MedCart, user: User, now: dt.datetime) -> bool:
    """Whether ``user``, not on duty for ``cart``, sees its board read only: a nurse or an
    administrator, any cart of their communities; a med tech, a cart they handed over in
    the last twelve hours. (Anyone else sees the board to take the cart.)"""
    if permissions.can(user, Area.EXCEPTIONS_READ):
        return True
    return CartAssignment.objects.filter(
        cart=cart, user=user, ended_at__gte=now - HANDED_OVER_LOOK
    ).exists()


def cart_for_user(*, user: User, public_id: uuid.UUID) -> MedCart:
    """A cart of one of the user's facilities; another facility's answers 404."""
    return get_object_or_404(
        active_carts(user=user).select_related("facility"), public_id=public_id
    )


def item_for_user(*, user: User, public_id: uuid.UUID) -> StockItem:
    return get_object_or_404(
        scope(StockItem.objects, user=user, path="cart__facility").select_related(
            "resident__room", "medication", "cart__facility", "order"
        ),
        public_id=public_id,
    )


def count_for_user(*, user: User, public_id: uuid.UUID) -> ControlledCount:
    return get_object_or_404(
        scope(ControlledCount.objects, user=user, path="cart__facility").select_related(
            "cart__facility", "outgoing_user", "incoming_user", "resolved_by", "cancelled_by"
        ),
        public_id=public_id,
    )


def reorder_request_for_user(*, user: User, public_id: uuid.UUID) -> ReorderRequest:
    return get_object_or_404(
        scope(ReorderRequest.objects, user=user, path="resident__facility").select_related(
            "resident__facility", "medication"
        ),
        public_id=public_id,
    )


def facilities_for_user(*, user: User) -> list[Facility]:
    return list(facilities_of(user=user).order_by("name", "id"))


def facility_for_user(*, user: User, public_id: uuid.UUID | None) -> Facility:
    """The named facility of the user's, or their first one; 404 if they have none."""
    reached = facilities_of(user=user)
    if public_id is not None:
        return get_object_or_404(reached, public_id=public_id)
    facility = reached.order_by("name", "id").first()
    if facility is None:
        raise Facility.DoesNotExist("You are not a member of any community.")
    return facility


def staff_for_signing(*, facility: Facility) -> list[User]:
    """Who can witness or count in a community: its active staff, by first name."""
    return list(
        User.objects.filter(memberships__facility=facility, is_active=True)
        .only("id", "public_id", "first_name", "last_name", "username", "initials", "title")
        .order_by("first_name", "last_name", "id")
    )


# --- Days of supply ------------------------------------------------------------------------


@dataclass
class Supply:
    """One resident's supply of one medication, against how fast the orders use it."""

    resident: Resident
    medication: Medication
    threshold_days: int
    unit: str
    orders: list[Order] = field(default_factory=list)
    on_hand: Decimal = Decimal(0)  # usable: not expired
    daily_use: Decimal = Decimal(0)
    is_prn_only: bool = True
    newest_item_id: int | None = None
    request: ReorderRequest | None = None  # the open refill request, if any

    @property
    def days_left(self) -> Decimal | None:
        """Days the usable stock lasts; None when nothing is being used (an unused PRN)."""
        if self.daily_use <= 0:
            return None
        return self.on_hand / self.daily_use

    @property
    def is_low(self) -> bool:
        days = self.days_left
        return days is not None and days < self.threshold_days

    @property
    def whole_days_left(self) -> int | None:
        days = self.days_left
        return None if days is None else int(days.to_integral_value(rounding=ROUND_FLOOR))

    @property
    def days_left_text(self) -> str:
        days = self.whole_days_left
        if days is None:
            return "No recent use"
        if days == 0:
            return "Less than a day"
        return f"{days} day{'s' if days != 1 else ''}"

    @property
    def on_hand_text(self) -> str:
        return quantity_text(self.on_hand, self.unit)

    @property
    def daily_use_text(self) -> str:
        text = f"{quantity_text(self.daily_use.quantize(Decimal('0.1')), self.unit)} a day"
        return f"{text} (PRN use, last 14 days)" if self.is_prn_only else text

    @property
    def order(self) -> Order | None:
        return self.orders[0] if self.orders else None


def doses_per_day(order: Order, *, pass_times: dict[str, dt.time]) -> Decimal:
    """How many doses a scheduled order calls for in an average day (0 for a PRN)."""
    try:
        frequency = schedule.Frequency.from_order(order, pass_times=pass_times)
    except ValueError:
        return Decimal(0)
    kind, times = frequency.kind, Decimal(len(frequency.times))
    if kind == schedule.FrequencyKind.TIMES_OF_DAY:
        return times
    if kind == schedule.FrequencyKind.DAYS_OF_WEEK:
        return times * len(frequency.days_of_week) / 7
    if kind == schedule.FrequencyKind.EVERY_N_DAYS:
        return times / frequency.interval
    if kind == schedule.FrequencyKind.MONTHLY:
        return times * len(frequency.days_of_month) * 12 / Decimal("365.25")
    if kind == schedule.FrequencyKind.EVERY_N_HOURS:
        return Decimal(24) / frequency.interval
    return Decimal(0)


def facility_supplies(
    *, facility: Facility, now: dt.datetime, resident_ids: set[int] | None = None
) -> dict[tuple[int, int], Supply]:
    """Each in-house resident's supply of each medication they have an active order for.

    Daily use: scheduled orders from their schedule (doses a day x dose), PRN orders
    from what was given over the last 14 days (or since the order started, if later).
    On hand: everything not expired, on any cart. Six queries.
    """
    today = now.astimezone(facility.zone).date()
    residents = Resident.objects.filter(facility=facility, status__in=IN_HOUSE)
    if resident_ids is not None:
        residents = residents.filter(pk__in=resident_ids)
    residents = {r.pk: r for r in residents.select_related("room").order_by("id")}
    orders = list(
        Order.objects.filter(resident_id__in=list(residents), status=Order.Status.ACTIVE)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now), starts_at__lte=now)
        .select_related("medication")
        .order_by("id")
    )
    pass_times = facility_pass_times(facility=facility)
    prn_ids = [order.pk for order in orders if order.is_prn]
    prn_given = dict(
        Administration.objects.filter(
            order_id__in=prn_ids,
            status=Administration.Status.GIVEN,
            is_entered_in_error=False,
            administered_at__gt=now - PRN_LOOKBACK,
            administered_at__lte=now,
        )
        .values("order_id")
        .annotate(total=Sum("dose_amount"))
        .order_by("order_id")
        .values_list("order_id", "total")
    )
    supplies: dict[tuple[int, int], Supply] = {}
    for order in orders:
        key = (order.resident_id, order.medication_id)
        supply = supplies.get(key)
        if supply is None:
            supply = supplies[key] = Supply(
                resident=residents[order.resident_id],
                medication=order.medication,
                threshold_days=facility.reorder_threshold_days,
                unit=order.dose_unit,
            )
        supply.orders.append(order)
        if order.is_prn:
            days = min(PRN_LOOKBACK, max(now - order.starts_at, dt.timedelta(days=1)))
            given = prn_given.get(order.pk) or Decimal(0)
            supply.daily_use += given / Decimal(days.total_seconds() / 86400)
        else:
            supply.is_prn_only = False
            supply.daily_use += doses_per_day(order, pass_times=pass_times) * order.dose_amount
    stock = (
        StockItem.objects.filter(resident_id__in=list(residents))
        .values("resident_id", "medication_id")
        .annotate(
            usable=Sum("quantity_on_hand", filter=Q(expires_on__gte=today), default=0),
            newest=Max("id"),
        )
        .order_by("resident_id", "medication_id")
    )
    for row in stock:
        if supply := supplies.get((row["resident_id"], row["medication_id"])):
            supply.on_hand = row["usable"]
            supply.newest_item_id = row["newest"]
    for request in ReorderRequest.objects.filter(
        resident_id__in=list(residents), status=ReorderRequest.Status.REQUESTED
    ).select_related("requested_by"):
        if supply := supplies.get((request.resident_id, request.medication_id)):
            supply.request = request
    return supplies


# --- A cart's stock ------------------------------------------------------------------------


@dataclass
class StockRow:
    item: StockItem
    supply: Supply | None
    expiry: str  # "expired", "expiring" or "ok"
    days_to_expiry: int

    @property
    def is_low(self) -> bool:
        return bool(self.supply and self.supply.is_low)


def _expiry(item: StockItem, *, today: dt.date, warning_days: int) -> tuple[str, int]:
    days = (item.expires_on - today).days
    if days < 0:
        return "expired", days
    return ("expiring" if days <= warning_days else "ok"), days


def cart_stock(
    *,
    cart: MedCart,
    now: dt.datetime,
    resident_id: uuid.UUID | None = None,
    controlled: bool = False,
    low: bool = False,
    expiring: bool = False,
    include_empty: bool = False,
    search: str = "",
) -> list[StockRow]:
    """The cart's packages by room and medication, with days of supply and expiry.

    ``search`` finds packages by the resident's name or room, the drug (generic or brand
    name), the Rx number or the lot."""
    facility = cart.facility
    today = now.astimezone(facility.zone).date()
    items = StockItem.objects.filter(cart=cart)
    if search := search.strip():
        items = items.filter(
            Q(resident__last_name__icontains=search)
            | Q(resident__first_name__icontains=search)
            | Q(resident__preferred_name__icontains=search)
            | Q(resident__room__number__istartswith=search)
            | Q(medication__generic_name__icontains=search)
            | Q(medication__brand_name__icontains=search)
            | Q(rx_number__icontains=search)
            | Q(lot__icontains=search)
        )
    if not include_empty:
        items = items.filter(quantity_on_hand__gt=0)
    if resident_id is not None:
        items = items.filter(resident__public_id=resident_id)
    if controlled:
        items = items.exclude(medication__dea_schedule="")
    if expiring:
        warning = dt.timedelta(days=facility.expiry_warning_days)
        items = items.filter(expires_on__lte=today + warning)
    items = list(
        items.select_related("resident__room", "medication").order_by(
            "resident__room__number",
            "resident__last_name",
            "resident_id",
            "medication__generic_name",
            "expires_on",
            "id",
        )
    )
    supplies = facility_supplies(
        facility=facility, now=now, resident_ids={item.resident_id for item in items}
    )
    rows = []
    for item in items:
        state, days = _expiry(item, today=today, warning_days=facility.expiry_warning_days)
        supply = supplies.get((item.resident_id, item.medication_id))
        rows.append(StockRow(item=item, supply=supply, expiry=state, days_to_expiry=days))
    if low:
        rows = [row for row in rows if row.is_low]
    return rows


def residents_of_cart(*, cart: MedCart) -> list[Resident]:
    """Residents whose room the cart serves or who have stock on it, by room."""
    return list(
        Resident.objects.filter(Q(room__cart=cart) | Q(stock_items__cart=cart))
        .filter(status__in=IN_HOUSE)
        .select_related("room")
        .distinct()
        .order_by("room__number", "last_name", "id")
    )


def item_ledger(*, item: StockItem) -> list[StockTransaction]:
    """The package's running log, oldest first (each row carries its balance after)."""
    return list(
        StockTransaction.objects.filter(stock_item=item)
        .select_related("performed_by", "witness", "transfer_pair__stock_item__cart")
        .order_by("created_at", "id")
    )


# --- Receiving -------------------------------------------------------------------------------


def orders_for_receiving(*, resident: Resident) -> list[Order]:
    """Orders a delivery for the resident can be for: everything not discontinued."""
    return list(
        Order.objects.filter(resident=resident)
        .exclude(status=Order.Status.DISCONTINUED)
        .select_related("medication")
        .order_by("medication__generic_name", "id")
    )


def orders_by_rx_number(*, facility: Facility, rx_number: str) -> list[Order]:
    """The community's orders (not discontinued) with this Rx number, as scanned."""
    rx_number = rx_number.strip()
    if not rx_number:
        return []
    return list(
        Order.objects.filter(resident__facility=facility, rx_number__iexact=rx_number)
        .exclude(status=Order.Status.DISCONTINUED)
        .select_related("medication", "resident__room")
        .order_by("-entered_at", "id")
    )


# --- Counts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivingPick:
    """What the receiving page offers: the cart's residents, the one picked (by hand or
    by the Rx number scanned), their orders, the order the scan found, and what to tell
    the person when the scan found none or several."""

    residents: list[Resident]
    resident: Resident | None
    orders: list[Order]
    order: Order | None = None
    message: str = ""


def receiving_pick(*, cart: MedCart, resident_id: uuid.UUID | None, rx: str) -> ReceivingPick:
    """The receiving page's choices for ``cart``: the resident named by ``resident_id``
    (one of the cart's), else the one whose order has the scanned Rx number ``rx``."""
    residents = residents_of_cart(cart=cart)
    resident = next((r for r in residents if r.public_id == resident_id), None)
    order = None
    message = ""
    if rx and resident is None:
        matches = orders_by_rx_number(facility=cart.facility, rx_number=rx)
        if len(matches) == 1:
            order = matches[0]
            resident = order.resident
        elif matches:
            message = f"Rx {rx} matches {len(matches)} orders; pick the resident below."
        else:
            message = (
                f"No order in {cart.facility.name} has Rx number {rx}. "
                "Pick the resident and the order instead."
            )
    orders = orders_for_receiving(resident=resident) if resident else []
    return ReceivingPick(
        residents=residents, resident=resident, orders=orders, order=order, message=message
    )


def blind_count_open(*, cart_id: int) -> bool:
    """A shift count is open on the cart: its controlled packages' quantities on hand (the
    count's expected numbers) are not shown on the cart's stock pages until it closes."""
    return ControlledCount.objects.filter(
        cart_id=cart_id, status=ControlledCount.Status.IN_PROGRESS
    ).exists()


def counts_for_cart(*, cart: MedCart, limit: int = 20) -> list[ControlledCount]:
    return list(
        ControlledCount.objects.filter(cart=cart)
        .select_related("outgoing_user", "incoming_user", "resolved_by")
        .order_by("-started_at", "-id")[:limit]
    )


def count_lines(*, count: ControlledCount) -> list[ControlledCountLine]:
    return list(
        count.lines.select_related("stock_item__resident__room", "stock_item__medication").order_by(
            "stock_item__resident__room__number",
            "stock_item__resident__last_name",
            "stock_item__medication__generic_name",
            "id",
        )
    )


def open_discrepancies_for_user(*, user: User) -> list[ControlledCount]:
    return list(
        scope(ControlledCount.objects, user=user, path="cart__facility")
        .filter(status=ControlledCount.Status.DISCREPANCY)
        .select_related("cart", "outgoing_user", "incoming_user")
        .order_by("started_at", "id")
    )


def counts_in_progress_for_user(*, user: User) -> list[ControlledCount]:
    return list(
        scope(ControlledCount.objects, user=user, path="cart__facility")
        .filter(status=ControlledCount.Status.IN_PROGRESS)
        .select_related("cart", "outgoing_user", "incoming_user")
        .order_by("started_at", "id")
    )


# --- Expiry and reorders ---------------------------------------------------------------------


@dataclass
class ExpiryList:
    expired: list[StockItem]
    expiring: list[StockItem]
    warning_days: int


def expiry_list(*, facility: Facility, now: dt.datetime) -> ExpiryList:
    """Packages with stock left that are expired or expire within the warning period."""
    today = now.astimezone(facility.zone).date()
    items = list(
        StockItem.objects.filter(
            cart__facility=facility,
            quantity_on_hand__gt=0,
            expires_on__lte=today + dt.timedelta(days=facility.expiry_warning_days),
        )
        .select_related("resident__room", "medication", "cart")
        .order_by("expires_on", "resident__room__number", "id")
    )
    for item in items:
        item.days_to_expiry = (item.expires_on - today).days
    return ExpiryList(
        expired=[item for item in items if item.days_to_expiry < 0],
        expiring=[item for item in items if item.days_to_expiry >= 0],
        warning_days=facility.expiry_warning_days,
    )


@dataclass
class ReorderList:
    needed: list[Supply]  # under the threshold, nothing requested yet
    requested: list[Supply]  # requested, not received yet
    received: list[ReorderRequest]  # received in the last week
    threshold_days: int


def reorder_list(*, facility: Facility, now: dt.datetime) -> ReorderList:
    supplies = facility_supplies(facility=facility, now=now)

    def by_days(supply: Supply) -> tuple:
        return (supply.days_left or Decimal(0), supply.resident.display_name, supply.medication.pk)

    requested = [supply for supply in supplies.values() if supply.request]
    return ReorderList(
        needed=sorted(
            (s for s in supplies.values() if s.is_low and not s.request),
            key=by_days,
        ),
        requested=sorted(requested, key=lambda s: (s.request.requested_at, s.request.pk)),
        received=list(
            ReorderRequest.objects.filter(
                resident__facility=facility,
                status=ReorderRequest.Status.RECEIVED,
                received_at__gt=now - RECEIVED_SHOWN_FOR,
            )
            .select_related("resident__room", "medication", "received_by")
            .order_by("-received_at", "-id")
        ),
        threshold_days=facility.reorder_threshold_days,
    )


@dataclass
class FacilityStockOverview:
    facility: Facility
    carts: list[MedCart]
    reorders_needed: int
    expired: int
    expiring: int


def stock_overview_for_user(*, user: User, now: dt.datetime) -> list[FacilityStockOverview]:
    """For the inventory start page: each of the user's communities, its carts and what
    needs doing."""
    carts = carts_for_user(user=user)
    overviews = []
    for facility in facilities_for_user(user=user):
        expiry = expiry_list(facility=facility, now=now)
        supplies = facility_supplies(facility=facility, now=now)
        overviews.append(
            FacilityStockOverview(
                facility=facility,
                carts=[cart for cart in carts if cart.facility_id == facility.pk],
                reorders_needed=sum(1 for s in supplies.values() if s.is_low and not s.request),
                expired=len(expiry.expired),
                expiring=len(expiry.expiring),
            )
        )
    return overviews
