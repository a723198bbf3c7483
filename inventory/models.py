"""Med-cart stock. Quantity on hand is the sum of an append-only ledger;
``StockItem.quantity_on_hand`` is a cache of that sum kept in the same
transaction as each ledger row, and the database refuses a negative value."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from medtech.core.triggers import append_only

USER = settings.AUTH_USER_MODEL


class MedCart(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    facility = models.ForeignKey(
        "residents.Facility", on_delete=models.PROTECT, related_name="carts"
    )
    unit = models.ForeignKey(
        "residents.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="carts"
    )
    name = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["facility", "name"], name="cart_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class CartAssignment(models.Model):
    """Who is on duty for a cart; they get its reminders until they hand it over."""

    cart = models.ForeignKey(MedCart, on_delete=models.PROTECT, related_name="assignments")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="cart_assignments")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(ended_at__isnull=True),
                name="assignment_one_open_cart_per_user",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="assignment_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(
                fields=["cart"], name="assignment_open_by_cart", condition=Q(ended_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.cart}"


class StockItem(models.Model):
    """One blister card or bottle of one resident's medication on a cart."""

    class Package(models.TextChoices):
        BLISTER_CARD = "blister_card", "Blister card"
        BOTTLE = "bottle", "Bottle"
        BOX = "box", "Box"
        OTHER = "other", "Other"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cart = models.ForeignKey(MedCart, on_delete=models.PROTECT, related_name="stock_items")
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="stock_items"
    )
    medication = models.ForeignKey(
        "mar.Medication", on_delete=models.PROTECT, related_name="stock_items"
    )
    order = models.ForeignKey(
        "mar.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="stock_items"
    )
    package = models.CharField(max_length=16, choices=Package.choices)
    quantity_on_hand = models.DecimalField(max_digits=10, decimal_places=3, default=0)
    unit = models.CharField(max_length=20, help_text='Counted in, e.g. "tablet", "mL"')
    lot = models.CharField(max_length=40, blank=True)
    expires_on = models.DateField()
    rx_number = models.CharField(max_length=40, blank=True, verbose_name="Rx number")
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_on_hand__gte=0), name="stock_quantity_never_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["cart", "resident"]),
            models.Index(fields=["order", "expires_on"]),
            models.Index(fields=["expires_on"]),
            models.Index(fields=["rx_number"]),
        ]

    def __str__(self) -> str:
        return f"{self.medication} for {self.resident} ({self.quantity_on_hand} {self.unit})"


class StockTransaction(models.Model):
    """One row of the append-only ledger. ``quantity`` is signed: + in, - out."""

    class Kind(models.TextChoices):
        RECEIVE = "receive", "Received from pharmacy"
        ADMINISTER = "administer", "Administered"
        WASTE = "waste", "Wasted"
        RETURN = "return", "Returned to pharmacy"
        ADJUST = "adjust", "Count adjustment"
        TRANSFER_OUT = "transfer_out", "Transferred out"
        TRANSFER_IN = "transfer_in", "Transferred in"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    quantity = models.DecimalField(max_digits=10, decimal_places=3)
    balance_after = models.DecimalField(max_digits=10, decimal_places=3)
    performed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    administration = models.ForeignKey(
        "mar.Administration",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stock_transactions",
    )
    transfer_pair = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="ledger_quantity_nonzero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="ledger_balance_never_negative"
            ),
            models.CheckConstraint(
                condition=(Q(kind__in=["receive", "transfer_in"]) & Q(quantity__gt=0))
                | (
                    Q(kind__in=["administer", "waste", "return", "transfer_out"])
                    & Q(quantity__lt=0)
                )
                | Q(kind="adjust"),
                name="ledger_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(witness__isnull=True) | ~Q(witness=F("performed_by")),
                name="ledger_witness_is_another",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["waste", "adjust"]) | ~Q(reason=""),
                name="ledger_waste_adjust_reason",
            ),
        ]
        indexes = [models.Index(fields=["stock_item", "created_at"])]
        # Append-only; the one permitted change is a transfer's out-row getting its
        # in-row as pair (written after it, stock_transfer), once, nothing else changing.
        triggers = append_only(
            "stock_transaction",
            settable_once=(
                "transfer_pair_id",
                "OLD.transfer_pair_id IS NULL AND NEW.transfer_pair_id IS NOT NULL",
            ),
        )

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} ({self.stock_item_id})"


class ControlledCount(models.Model):
    """A shift-change count of a cart's controlled substances, signed by two people.

    A blind count: each person enters their own numbers without seeing the other's or
    the ledger's (``expected_quantity`` on the lines), then signs with their PIN or
    password. Once both have signed the count is matched or a discrepancy, which stays
    open until a nurse resolves it with a note.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        MATCHED = "matched", "Matched"
        DISCREPANCY = "discrepancy", "Discrepancy"
        RESOLVED = "resolved", "Resolved"
        CANCELLED = "cancelled", "Cancelled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cart = models.ForeignKey(MedCart, on_delete=models.PROTECT, related_name="counts")
    started_at = models.DateTimeField()
    outgoing_user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    incoming_user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    outgoing_signed_at = models.DateTimeField(null=True, blank=True)
    incoming_signed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    resolved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    cancelled_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(outgoing_user=F("incoming_user")), name="count_two_different_people"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["in_progress", "matched", "discrepancy", "resolved", "cancelled"]
                ),
                name="count_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["in_progress", "cancelled"])
                | Q(outgoing_signed_at__isnull=False, incoming_signed_at__isnull=False),
                name="count_finished_is_signed_by_both",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled")
                | Q(cancelled_by__isnull=False, cancelled_at__isnull=False),
                name="count_cancellation_complete",
            ),
            models.UniqueConstraint(
                fields=["cart"],
                condition=Q(status="in_progress"),
                name="count_one_in_progress_per_cart",
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved")
                | (Q(resolved_by__isnull=False) & Q(resolved_at__isnull=False))
                & ~Q(resolution_note=""),
                name="count_resolution_complete",
            ),
        ]
        indexes = [models.Index(fields=["cart", "started_at"])]

    def __str__(self) -> str:
        return f"Count of {self.cart} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        """In progress, or a discrepancy nobody has resolved yet."""
        return self.status in (self.Status.IN_PROGRESS, self.Status.DISCREPANCY)


class ControlledCountLine(models.Model):
    count = models.ForeignKey(ControlledCount, on_delete=models.PROTECT, related_name="lines")
    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="+")
    expected_quantity = models.DecimalField(max_digits=10, decimal_places=3)
    outgoing_quantity = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    incoming_quantity = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["count", "stock_item"], name="count_line_unique"),
            models.CheckConstraint(
                condition=Q(expected_quantity__gte=0), name="count_line_expected_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(outgoing_quantity__isnull=True) | Q(outgoing_quantity__gte=0),
                name="count_line_outgoing_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(incoming_quantity__isnull=True) | Q(incoming_quantity__gte=0),
                name="count_line_incoming_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stock_item}: expected {self.expected_quantity}"

    @property
    def is_discrepancy(self) -> bool:
        return (
            self.outgoing_quantity != self.expected_quantity
            or self.incoming_quantity != self.expected_quantity
        )


class ReorderRequest(models.Model):
    """A refill asked of the pharmacy for one resident's medication, open until it comes.

    At most one is open per resident and medication; receiving that medication for the
    resident (``stock_receive``) closes it, or a nurse marks it received.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        RECEIVED = "received", "Received"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="reorder_requests"
    )
    medication = models.ForeignKey(
        "mar.Medication", on_delete=models.PROTECT, related_name="reorder_requests"
    )
    order = models.ForeignKey(
        "mar.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED)
    note = models.TextField(blank=True)
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    received_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)
    received_item = models.ForeignKey(
        StockItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "medication"],
                condition=Q(status="requested"),
                name="reorder_one_open_per_medication",
            ),
            models.CheckConstraint(
                condition=Q(status="requested", received_by__isnull=True, received_at__isnull=True)
                | Q(status="received", received_by__isnull=False, received_at__isnull=False),
                name="reorder_receipt_complete",
            ),
            models.CheckConstraint(
                condition=Q(received_at__isnull=True) | Q(received_at__gte=F("requested_at")),
                name="reorder_received_after_request",
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="reorder_by_status")]

    def __str__(self) -> str:
        return f"Reorder of {self.medication} for {self.resident} ({self.get_status_display()})"
