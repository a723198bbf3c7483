"""The medication administration record.

Data flows one way: Order -> ScheduledDose -> Administration -> (inventory)
StockTransaction. An Administration is a legal record: the database keeps one
active record per scheduled dose, corrections are Amendment rows, and the only
change ever made to an administration row is the "entered in error" flag that
an amendment sets.
"""

import datetime as dt
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from medtech.core.triggers import append_only

USER = settings.AUTH_USER_MODEL


class Route(models.TextChoices):
    ORAL = "oral", "By mouth (PO)"
    SUBLINGUAL = "sublingual", "Sublingual (SL)"
    TOPICAL = "topical", "Topical"
    TRANSDERMAL = "transdermal", "Transdermal patch"
    OPHTHALMIC = "ophthalmic", "Eye (ophthalmic)"
    OTIC = "otic", "Ear (otic)"
    NASAL = "nasal", "Nasal"
    INHALED = "inhaled", "Inhaled"
    SUBCUTANEOUS = "subcutaneous", "Subcutaneous (SubQ)"
    INTRAMUSCULAR = "intramuscular", "Intramuscular (IM)"
    RECTAL = "rectal", "Rectal (PR)"
    ENTERAL = "enteral", "Feeding tube"


class Vital(models.TextChoices):
    SYSTOLIC = "systolic", "Systolic BP (mmHg)"
    DIASTOLIC = "diastolic", "Diastolic BP (mmHg)"
    PULSE = "pulse", "Pulse (bpm)"
    TEMPERATURE = "temperature", "Temperature (°F)"
    RESPIRATIONS = "respirations", "Respirations (/min)"
    SPO2 = "spo2", "SpO2 (%)"
    BLOOD_GLUCOSE = "blood_glucose", "Blood glucose (mg/dL)"
    PAIN = "pain", "Pain (0-10)"
    WEIGHT = "weight", "Weight (lb)"


# How each reading reads on a record, in the order a nurse reads them (BP first).
VITAL_READINGS = (
    (Vital.PULSE, "Pulse {}"),
    (Vital.RESPIRATIONS, "Resp {}/min"),
    (Vital.TEMPERATURE, "Temp {} °F"),
    (Vital.SPO2, "SpO2 {}%"),
    (Vital.BLOOD_GLUCOSE, "Glucose {} mg/dL"),
    (Vital.PAIN, "Pain {}/10"),
    (Vital.WEIGHT, "Weight {} lb"),
)


def vitals_text(vitals: dict | None) -> str:
    """ "BP 128/78, Pulse 72, Glucose 64 mg/dL": the vitals taken before a dose as the
    nurse's pages, the resident's record, the printed MAR and the alerts write them."""
    vitals = vitals or {}
    parts = []
    if Vital.SYSTOLIC in vitals or Vital.DIASTOLIC in vitals:
        systolic = vitals.get(Vital.SYSTOLIC, "?")
        diastolic = vitals.get(Vital.DIASTOLIC, "?")
        parts.append(f"BP {systolic}/{diastolic}")
    parts.extend(pattern.format(vitals[name]) for name, pattern in VITAL_READINGS if name in vitals)
    return ", ".join(parts)


class Medication(models.Model):
    """A catalog entry: one product at one strength."""

    class Form(models.TextChoices):
        TABLET = "tablet", "Tablet"
        CAPSULE = "capsule", "Capsule"
        SOLUTION = "solution", "Oral solution"
        SUSPENSION = "suspension", "Suspension"
        INJECTION = "injection", "Injection"
        PATCH = "patch", "Patch"
        DROPS = "drops", "Drops"
        INHALER = "inhaler", "Inhaler"
        CREAM = "cream", "Cream / ointment"
        SUPPOSITORY = "suppository", "Suppository"
        POWDER = "powder", "Powder"

    class DeaSchedule(models.TextChoices):
        NONE = "", "Not controlled"
        II = "II", "Schedule II"
        III = "III", "Schedule III"
        IV = "IV", "Schedule IV"
        V = "V", "Schedule V"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    generic_name = models.CharField(max_length=120)
    brand_name = models.CharField(max_length=120, blank=True)
    strength = models.CharField(max_length=60, help_text='e.g. "25 mg", "100 units/mL"')
    form = models.CharField(max_length=16, choices=Form.choices)
    default_route = models.CharField(max_length=16, choices=Route.choices, default=Route.ORAL)
    ndc = models.CharField(max_length=13, blank=True, verbose_name="NDC")
    ingredients = ArrayField(
        models.CharField(max_length=80),
        default=list,
        blank=True,
        help_text="Active ingredients, lower case, for allergy matching.",
    )
    dea_schedule = models.CharField(
        max_length=3, choices=DeaSchedule.choices, blank=True, verbose_name="DEA schedule"
    )
    is_high_alert = models.BooleanField(default=False)
    is_time_critical = models.BooleanField(
        default=False, help_text="New orders default to the 30-minute time-critical window."
    )
    # Dose-range limits in ``dose_limit_unit`` (e.g. "mg"): past a usual one the nurses
    # acknowledge a warning, past a maximum the order is refused. Blank: the defaults of
    # the dose's unit (mar.services.order_checks). A drug reference will fill them later.
    dose_limit_unit = models.CharField(
        max_length=20, blank=True, help_text='The unit of the limits below, e.g. "mg".'
    )
    usual_max_single_dose = models.DecimalField(
        max_digits=12, decimal_places=3, null=True, blank=True
    )
    max_single_dose = models.DecimalField(
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Absolute maximum of one dose: an order above it is refused.",
    )
    usual_max_daily_dose = models.DecimalField(
        max_digits=12, decimal_places=3, null=True, blank=True
    )
    max_daily_dose = models.DecimalField(
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Absolute maximum in 24 hours: an order above it is refused.",
    )
    drops_per_ml = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        verbose_name="drops per mL",
        help_text="Only when the label says so: lets mL and drops be converted.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ndc"], condition=~Q(ndc=""), name="medication_ndc_unique"
            ),
            models.CheckConstraint(
                condition=(
                    Q(dose_limit_unit="")
                    & Q(usual_max_single_dose__isnull=True, max_single_dose__isnull=True)
                    & Q(usual_max_daily_dose__isnull=True, max_daily_dose__isnull=True)
                )
                | ~Q(dose_limit_unit=""),
                name="medication_dose_limits_have_unit",
            ),
            models.CheckConstraint(
                condition=(Q(usual_max_single_dose__isnull=True) | Q(usual_max_single_dose__gt=0))
                & (Q(max_single_dose__isnull=True) | Q(max_single_dose__gt=0))
                & (Q(usual_max_daily_dose__isnull=True) | Q(usual_max_daily_dose__gt=0))
                & (Q(max_daily_dose__isnull=True) | Q(max_daily_dose__gt=0)),
                name="medication_dose_limits_positive",
            ),
            models.CheckConstraint(
                condition=Q(usual_max_single_dose__isnull=True)
                | Q(max_single_dose__isnull=True)
                | Q(usual_max_single_dose__lte=F("max_single_dose")),
                name="medication_usual_single_within_max",
            ),
            models.CheckConstraint(
                condition=Q(drops_per_ml__isnull=True) | Q(drops_per_ml__gt=0),
                name="medication_drops_per_ml_positive",
            ),
            models.CheckConstraint(
                condition=Q(usual_max_daily_dose__isnull=True)
                | Q(max_daily_dose__isnull=True)
                | Q(usual_max_daily_dose__lte=F("max_daily_dose")),
                name="medication_usual_daily_within_max",
            ),
            models.UniqueConstraint(
                fields=["generic_name", "brand_name", "strength", "form"],
                name="medication_product_unique",
            ),
            models.CheckConstraint(
                condition=Q(dea_schedule__in=["", "II", "III", "IV", "V"]),
                name="medication_dea_schedule_valid",
            ),
            models.CheckConstraint(
                condition=Q(ndc="") | Q(ndc__regex=r"^[0-9]{10,11}$|^[0-9-]{12,13}$"),
                name="medication_ndc_format",
            ),
        ]

    def __str__(self) -> str:
        brand = f" ({self.brand_name})" if self.brand_name else ""
        return f"{self.generic_name}{brand} {self.strength}"

    @property
    def is_controlled(self) -> bool:
        return bool(self.dea_schedule)


class Order(models.Model):
    """A prescription as entered and verified. Never edited once charted against:
    a change is a discontinue plus a new order that ``replaces`` it."""

    class Status(models.TextChoices):
        PENDING_VERIFICATION = "pending_verification", "Pending verification"
        ACTIVE = "active", "Active"
        ON_HOLD = "on_hold", "On hold"
        DISCONTINUED = "discontinued", "Discontinued"

    class Frequency(models.TextChoices):
        TIMES_OF_DAY = "times_of_day", "Every day at set times"
        DAYS_OF_WEEK = "days_of_week", "On chosen days of the week"
        EVERY_N_DAYS = "every_n_days", "Every N days"
        MONTHLY = "monthly", "Monthly on chosen days"
        EVERY_N_HOURS = "every_n_hours", "Every N hours"
        PRN = "prn", "As needed (PRN)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="orders"
    )
    medication = models.ForeignKey(Medication, on_delete=models.PROTECT, related_name="orders")
    dose_amount = models.DecimalField(max_digits=8, decimal_places=3)
    dose_unit = models.CharField(max_length=20, help_text='e.g. "tablet", "mL", "units", "drop"')
    route = models.CharField(max_length=16, choices=Route.choices)
    instructions = models.TextField(blank=True)
    indication = models.CharField(max_length=200, blank=True)

    frequency = models.CharField(max_length=16, choices=Frequency.choices)
    # Clock times ("08:00") or the facility's named pass times ("AM", "HS").
    administration_times = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    # ISO weekdays, 1 = Monday ... 7 = Sunday.
    days_of_week = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    days_of_month = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    interval = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="N for every N days or every N hours."
    )
    is_time_critical = models.BooleanField(default=False)
    window_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Overrides the facility's window for this order."
    )

    prn_min_interval_minutes = models.PositiveIntegerField(null=True, blank=True)
    prn_max_per_24h = models.PositiveSmallIntegerField(null=True, blank=True)
    followup_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="PRN effectiveness follow-up; facility default if blank."
    )
    # [{"vital": "systolic", "comparator": "<", "limit": 100}, ...]
    hold_parameters = models.JSONField(default=list, blank=True)
    required_vitals = ArrayField(
        models.CharField(max_length=16, choices=Vital.choices), default=list, blank=True
    )

    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    prescriber = models.CharField(max_length=120)
    rx_number = models.CharField(max_length=40, blank=True, verbose_name="Rx number")
    status = models.CharField(
        max_length=24, choices=Status.choices, default=Status.PENDING_VERIFICATION
    )
    replaces = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
    )
    allergy_override_reason = models.TextField(blank=True)
    allergy_conflict_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When an allergy recorded after this order was found to match it; until "
        "a nurse reviews the order (OrderAcknowledgement) no dose of it is given.",
    )

    entered_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="orders_entered")
    entered_at = models.DateTimeField()
    verified_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="orders_verified"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status_reason = models.TextField(blank=True, help_text="Why it was held or discontinued.")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["pending_verification", "active", "on_hold", "discontinued"]
                ),
                name="order_status_valid",
            ),
            models.CheckConstraint(condition=Q(dose_amount__gt=0), name="order_dose_positive"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="order_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(verified_by__isnull=True) | ~Q(verified_by=F("entered_by")),
                name="order_second_check_by_another",
            ),
            models.CheckConstraint(
                condition=Q(verified_by__isnull=True, verified_at__isnull=True)
                | Q(verified_by__isnull=False, verified_at__isnull=False),
                name="order_verification_complete",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["on_hold", "discontinued"]) | ~Q(status_reason=""),
                name="order_hold_discontinue_reason",
            ),
            # The frequency decides which schedule fields must be present.
            models.CheckConstraint(
                condition=(
                    Q(frequency="prn")
                    & Q(administration_times=[])
                    & Q(prn_min_interval_minutes__isnull=False)
                    & Q(prn_max_per_24h__isnull=False)
                    & Q(prn_max_per_24h__gt=0)
                )
                | (
                    Q(frequency="every_n_hours")
                    & Q(interval__isnull=False)
                    & Q(interval__gte=1)
                    & Q(interval__lte=168)
                    & Q(administration_times=[])
                )
                | (
                    Q(frequency__in=["times_of_day", "days_of_week", "every_n_days", "monthly"])
                    & ~Q(administration_times=[])
                ),
                name="order_frequency_shape",
            ),
            models.CheckConstraint(
                condition=~Q(frequency="prn") | Q(prn_min_interval_minutes__gt=0),
                name="order_prn_min_interval_positive",
            ),
            models.CheckConstraint(
                condition=~Q(frequency="days_of_week") | ~Q(days_of_week=[]),
                name="order_days_of_week_given",
            ),
            models.CheckConstraint(
                condition=~Q(frequency="monthly") | ~Q(days_of_month=[]),
                name="order_days_of_month_given",
            ),
            models.CheckConstraint(
                condition=~Q(frequency="every_n_days") | Q(interval__isnull=False, interval__gte=1),
                name="order_every_n_days_interval",
            ),
            # NULL makes a CHECK pass, so every nullable column above is tested IS NOT NULL.
        ]
        indexes = [
            models.Index(fields=["resident", "status"]),
            models.Index(fields=["status", "entered_at"]),
            models.Index(fields=["rx_number"]),
        ]

    def __str__(self) -> str:
        return f"{self.medication} {self.dose_amount.normalize()} {self.dose_unit} {self.route}"

    @property
    def is_prn(self) -> bool:
        return self.frequency == self.Frequency.PRN

    @property
    def vitals_needed(self) -> list[str]:
        """The vitals taken before a dose: those the order requires and every one its hold
        parameters name (a hold parameter cannot be checked without its reading); a blood
        pressure is both its numbers."""
        named = set(self.required_vitals) | {
            rule.get("vital") for rule in self.hold_parameters or [] if isinstance(rule, dict)
        }
        if named & {Vital.SYSTOLIC, Vital.DIASTOLIC}:
            named |= {Vital.SYSTOLIC, Vital.DIASTOLIC}
        return [vital for vital in Vital.values if vital in named]

    @property
    def chartable_from(self) -> dt.datetime:
        """No dose can have been given under this order before it started, was entered,
        or was verified."""
        return max(filter(None, [self.starts_at, self.entered_at, self.verified_at]))


class OrderAcknowledgement(models.Model):
    """A nurse's answer to a warning about an order: an allergy it matches, a dose past
    the usual range, a start more than a week back. Who, when, what the warning said and
    what they answered; append-only, like the record of care it protects."""

    class Kind(models.TextChoices):
        ALLERGY = "allergy", "Allergy"
        DOSE_RANGE = "dose_range", "Dose above the usual range"
        PAST_START = "past_start", "Start more than a week ago"
        DUPLICATE = "duplicate", "Duplicate therapy"
        INTERACTION = "interaction", "Drug interaction"
        PSYCHOTROPIC = "psychotropic", "PRN psychotropic limit"

    class Stage(models.TextChoices):
        ENTRY = "entry", "At entry"
        VERIFICATION = "verification", "At verification"
        ALLERGY_RECORDED = "allergy_recorded", "After an allergy was recorded"

    class Reason(models.TextChoices):
        TOLERATED_BEFORE = "tolerated_before", "Tolerated before without a reaction"
        PRESCRIBER_AWARE = "prescriber_aware", "Prescriber aware: benefit outweighs risk"
        INTOLERANCE = "intolerance", "Intolerance, not an allergy"
        OTHER = "other", "Other (say why below)"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="acknowledgements")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    stage = models.CharField(max_length=16, choices=Stage.choices)
    warning = models.TextField(help_text="The warning as the nurse saw it.")
    reason_code = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    answer = models.TextField(help_text="What the nurse answered.")
    acknowledged_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "allergy",
                        "dose_range",
                        "past_start",
                        "duplicate",
                        "interaction",
                        "psychotropic",
                    ]
                ),
                name="order_ack_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(stage__in=["entry", "verification", "allergy_recorded"]),
                name="order_ack_stage_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    reason_code__in=[
                        "",
                        "tolerated_before",
                        "prescriber_aware",
                        "intolerance",
                        "other",
                    ]
                ),
                name="order_ack_reason_code_valid",
            ),
            models.CheckConstraint(
                condition=~Q(warning="") & ~Q(answer=""), name="order_ack_says_what"
            ),
        ]
        indexes = [models.Index(fields=["order", "acknowledged_at"])]
        triggers = append_only("order_acknowledgement")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_stage_display().lower()}: {self.answer}"


class ScheduledDose(models.Model):
    """One dose an order calls for, materialized ahead by the schedule engine.

    ``status`` is what is recorded; whether a pending dose is upcoming, due or late
    follows from its window and the clock (``mar.selectors``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Not charted"
        CHARTED = "charted", "Charted"
        MISSED = "missed", "Missed"
        AWAY = "away", "Resident away"
        CANCELLED = "cancelled", "Cancelled (order stopped)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="doses")
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="scheduled_doses"
    )
    scheduled_at = models.DateTimeField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "scheduled_at"], name="scheduled_dose_once_per_time"
            ),
            models.CheckConstraint(
                condition=Q(window_start__lte=F("scheduled_at"))
                & Q(window_end__gte=F("scheduled_at")),
                name="scheduled_dose_inside_window",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "charted", "missed", "away", "cancelled"]),
                name="scheduled_dose_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["resident", "scheduled_at"]),
            models.Index(fields=["scheduled_at"]),
            models.Index(
                fields=["window_end"],
                name="scheduled_dose_pending_end",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["window_start"],
                name="scheduled_dose_pending_start",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order} at {self.scheduled_at:%Y-%m-%d %H:%M} UTC"


class DoseOverride(models.Model):
    """A nurse's permission, with a reason, to chart one dose past a rule that would stop
    it: before its window opens, a hold parameter crossed, too close to another dose of
    the order. Granted on the tablet with the nurse's PIN or from the nurse's own device,
    used by at most one record (``Administration.override``), and never changed."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    scheduled_dose = models.ForeignKey(
        ScheduledDose, on_delete=models.PROTECT, null=True, blank=True, related_name="overrides"
    )
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="overrides")
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="dose_overrides"
    )
    granted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()
    reason = models.TextField()
    requested_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stopped_by = models.TextField(blank=True, help_text="What the rule said before the override.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="dose_override_reason"),
        ]
        indexes = [models.Index(fields=["order", "granted_at"])]
        triggers = append_only("dose_override")

    def __str__(self) -> str:
        return f"Override of {self.order} at {self.granted_at:%Y-%m-%d %H:%M}"


class Administration(models.Model):
    """The legal record of one dose given or not given."""

    class ScanSkipped(models.TextChoices):
        LABEL_DAMAGED = "label_damaged", "Label damaged or unreadable"
        NO_BARCODE = "no_barcode", "No barcode on this package (cream, vial, bulk)"
        SCANNER_DOWN = "scanner_down", "Scanner not working"

    class Status(models.TextChoices):
        GIVEN = "given", "Given"
        REFUSED = "refused", "Refused"
        HELD = "held", "Held"
        NOT_AVAILABLE = "not_available", "Not available"
        AWAY = "away", "Resident away"
        ASLEEP = "asleep", "Asleep / unable"
        OTHER = "other", "Other"

    NOT_GIVEN = ("refused", "held", "not_available", "away", "asleep", "other")

    class Source(models.TextChoices):
        """How the record arrived (blank: charted before sources were recorded)."""

        TABLET = "tablet", "Tablet page"
        API = "api", "API"
        OFFLINE = "offline", "Charted offline, synced later"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    scheduled_dose = models.ForeignKey(
        ScheduledDose,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="administrations",
    )
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="administrations")
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="administrations"
    )
    status = models.CharField(max_length=16, choices=Status.choices)
    reason = models.TextField(blank=True, help_text="Why not given (e.g. the hold parameter).")
    note = models.TextField(blank=True)
    dose_amount = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    administered_at = models.DateTimeField(help_text="When it was given (or offered).")
    documented_at = models.DateTimeField(help_text="When it was charted.")
    administered_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="administrations"
    )
    witness = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="witnessed"
    )
    vitals = models.JSONField(default=dict, blank=True)
    prn_reason = models.TextField(blank=True)
    is_late = models.BooleanField(default=False, help_text="Given after the window closed.")
    is_late_entry = models.BooleanField(
        default=False, help_text="Documented well after it was given."
    )
    override_reason = models.TextField(blank=True, help_text="Nurse override, e.g. early dose.")
    override = models.OneToOneField(
        DoseOverride,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="administration",
    )
    scanned_code = models.CharField(max_length=100, blank=True)
    scan_skipped = models.CharField(
        max_length=16,
        choices=ScanSkipped.choices,
        blank=True,
        help_text="Why a dose given where scanning is required was not scanned.",
    )
    is_entered_in_error = models.BooleanField(default=False)
    # Unique per person (the constraint below): one user's key never meets another's.
    idempotency_key = models.CharField(max_length=100)
    source = models.CharField(max_length=8, choices=Source.choices, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scheduled_dose"],
                condition=Q(scheduled_dose__isnull=False) & Q(is_entered_in_error=False),
                name="administration_one_active_per_dose",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "given",
                        "refused",
                        "held",
                        "not_available",
                        "away",
                        "asleep",
                        "other",
                    ]
                ),
                name="administration_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="other") | ~Q(note=""), name="administration_other_has_note"
            ),
            models.CheckConstraint(
                condition=~Q(status="held") | ~Q(reason=""), name="administration_held_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(scheduled_dose__isnull=False) | ~Q(prn_reason=""),
                name="administration_prn_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(administered_at__lte=F("documented_at") + timedelta(minutes=5)),
                name="administration_not_in_future",
            ),
            models.CheckConstraint(
                condition=Q(witness__isnull=True) | ~Q(witness=F("administered_by")),
                name="administration_witness_is_another",
            ),
            models.CheckConstraint(
                condition=~Q(idempotency_key=""), name="administration_idempotency_key"
            ),
            models.CheckConstraint(
                condition=Q(source__in=["", "tablet", "api", "offline"]),
                name="administration_source_valid",
            ),
            models.UniqueConstraint(
                fields=["administered_by", "idempotency_key"],
                name="administration_idempotency_key_per_user",
            ),
        ]
        indexes = [
            models.Index(fields=["resident", "administered_at"]),
            models.Index(fields=["order", "administered_at"]),
            models.Index(fields=["administered_by", "administered_at"]),
        ]
        # The database refuses UPDATE and DELETE, with one exception: "entered in error"
        # may go from false to true, nothing else changing in the same statement. The flag
        # stays a column (rather than being derived from the ENTERED_IN_ERROR amendment)
        # because the partial unique index "one active record per dose" needs it on this
        # row; the amendment that sets it keeps who, when and why, is itself append-only
        # and sealed, and verify_chain checks that flag and amendment agree.
        triggers = append_only(
            "administration",
            settable_once=(
                "is_entered_in_error",
                "OLD.is_entered_in_error IS FALSE AND NEW.is_entered_in_error IS TRUE",
            ),
        )

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.order} at {self.administered_at:%Y-%m-%d %H:%M}"

    @property
    def vitals_text(self) -> str:
        return vitals_text(self.vitals)


class EffectivenessCheck(models.Model):
    """The PRN follow-up: did it work? Its own row, so the administration stays untouched."""

    class Result(models.TextChoices):
        EFFECTIVE = "effective", "Effective"
        NOT_EFFECTIVE = "not_effective", "Not effective"

    administration = models.OneToOneField(
        Administration, on_delete=models.PROTECT, related_name="effectiveness"
    )
    result = models.CharField(max_length=16, choices=Result.choices)
    note = models.TextField(blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(result__in=["effective", "not_effective"]),
                name="effectiveness_result_valid",
            ),
        ]
        triggers = append_only("effectiveness")

    def __str__(self) -> str:
        return f"{self.get_result_display()} ({self.administration_id})"


class Amendment(models.Model):
    """A correction of an administration: the old value stays, this row says what changed."""

    class Field(models.TextChoices):
        ADMINISTERED_AT = "administered_at", "Time given"
        STATUS = "status", "Status"
        REASON = "reason", "Reason"
        NOTE = "note", "Note"
        DOSE_AMOUNT = "dose_amount", "Dose amount"
        ENTERED_IN_ERROR = "entered_in_error", "Entered in error"

    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="amendments"
    )
    field = models.CharField(max_length=20, choices=Field.choices)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    reason = models.TextField()
    amended_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="amendments")
    amended_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="amendment_reason_required"),
            models.CheckConstraint(
                condition=Q(
                    field__in=[
                        "administered_at",
                        "status",
                        "reason",
                        "note",
                        "dose_amount",
                        "entered_in_error",
                    ]
                ),
                name="amendment_field_valid",
            ),
        ]
        indexes = [models.Index(fields=["administration", "amended_at"])]
        triggers = append_only("amendment")

    def __str__(self) -> str:
        return f"{self.get_field_display()}: {self.old_value!r} -> {self.new_value!r}"


class RecordSeal(models.Model):
    """One link of a facility's tamper-evident chain over its legal records.

    ``record_hash`` is SHA-256 over a canonical serialization of the sealed record's
    legal fields (``mar.services.chain``); ``chain_hash`` is SHA-256 over the previous
    link's ``chain_hash`` followed by ``record_hash``. Sequences are gap-free per
    facility: links are appended under the facility's advisory lock as the last
    statement of the transaction that wrote the record. A link has no foreign key to its
    record, so a record deleted behind the application's back leaves its seal behind.
    """

    class RecordType(models.TextChoices):
        ADMINISTRATION = "administration", "Administration"
        AMENDMENT = "amendment", "Amendment"

    facility = models.ForeignKey(
        "residents.Facility", on_delete=models.PROTECT, related_name="record_seals"
    )
    sequence = models.PositiveBigIntegerField()
    record_type = models.CharField(max_length=16, choices=RecordType.choices)
    record_id = models.BigIntegerField()
    record_hash = models.CharField(max_length=64)
    previous_hash = models.CharField(max_length=64)
    chain_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "sequence"], name="record_seal_sequence_once"
            ),
            models.UniqueConstraint(
                fields=["record_type", "record_id"], name="record_seal_record_once"
            ),
            models.CheckConstraint(
                condition=Q(record_type__in=["administration", "amendment"]),
                name="record_seal_type_valid",
            ),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="record_seal_sequence_1"),
        ]
        triggers = append_only("record_seal")

    def __str__(self) -> str:
        return f"#{self.sequence} {self.record_type} {self.record_id}"


class ExceptionReview(models.Model):
    """A nurse's acknowledgement of a dose exception or a concern report."""

    class Kind(models.TextChoices):
        MISSED = "missed", "Missed"
        LATE = "late", "Late"
        REFUSED = "refused", "Refused"
        HELD = "held", "Held"
        NOT_AVAILABLE = "not_available", "Not available"
        AWAY = "away", "Away"
        OTHER = "other", "Other not given"
        CONCERN = "concern", "Concern report"
        OVERRIDE = "override", "Nurse override"
        UNSCANNED = "unscanned", "Given without a scan"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    scheduled_dose = models.OneToOneField(
        ScheduledDose, on_delete=models.PROTECT, null=True, blank=True, related_name="review"
    )
    administration = models.OneToOneField(
        Administration, on_delete=models.PROTECT, null=True, blank=True, related_name="review"
    )
    concern = models.OneToOneField(
        "residents.ConcernReport",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="review",
    )
    note = models.TextField()
    physician_notified = models.BooleanField(default=False)
    family_notified = models.BooleanField(default=False)
    reviewed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="reviews")
    reviewed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(scheduled_dose__isnull=False, administration__isnull=True)
                & Q(concern__isnull=True)
                | Q(scheduled_dose__isnull=True, administration__isnull=False)
                & Q(concern__isnull=True)
                | Q(scheduled_dose__isnull=True, administration__isnull=True)
                & Q(concern__isnull=False),
                name="review_exactly_one_subject",
            ),
            models.CheckConstraint(condition=~Q(note=""), name="review_note_required"),
        ]
        indexes = [models.Index(fields=["reviewed_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} reviewed by {self.reviewed_by}"


class Notification(models.Model):
    """An in-app message. ``subject_key`` makes each one at most once per recipient."""

    class Kind(models.TextChoices):
        DOSE_DUE = "dose_due", "Dose due"
        DOSE_MISSED = "dose_missed", "Dose missed"
        PRN_FOLLOWUP = "prn_followup", "PRN follow-up due"
        ORDER_VERIFICATION = "order_verification", "Order awaiting verification"
        CERTIFICATION_EXPIRING = "certification_expiring", "Certification expiring"
        CONCERN_REPORTED = "concern_reported", "Concern reported"
        CHARTING_CONFLICT = "charting_conflict", "Charting conflict"
        FOLLOWUP_OVERDUE = "followup_overdue", "Follow-up overdue"
        COUNT_DISCREPANCY = "count_discrepancy", "Count discrepancy"
        LOW_STOCK = "low_stock", "Low stock"
        EXPIRING_STOCK = "expiring_stock", "Expiring stock"
        OVERRIDE_REQUESTED = "override_requested", "Nurse override asked"
        ALLERGY_CONFLICT = "allergy_conflict", "New allergy matches an order"
        DOSE_HELD = "dose_held", "Dose held for a hold parameter"
        PSYCHOTROPIC_ENDING = "psychotropic_ending", "PRN psychotropic order ending"

    recipient = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="notifications")
    facility = models.ForeignKey(
        "residents.Facility", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    subject_key = models.CharField(max_length=80, help_text='e.g. "dose:42"')
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(
        null=True, blank=True, help_text="Set once the e-mail copy (for kinds that send one) went."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "subject_key"], name="notification_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["recipient", "created_at"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            ),
            models.Index(fields=["recipient", "created_at"], name="notification_recipient"),
            # Settling what was handled finds the unread ones by subject, for everyone.
            models.Index(
                fields=["subject_key"],
                name="notification_unread_subject",
                condition=Q(read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class PrintJob(models.Model):
    """A printed document kept in media storage: one resident's monthly MAR, the whole
    community's, a cart's downtime sheet or its controlled-substance count sheet.

    ``fingerprint`` is the hash of what the document shows (``printing.render``), so a record
    that has not changed is never rendered twice: asking again finds the ready row with
    the same fingerprint and gets the same file. Resident months rendered ahead by the
    scheduled job have no ``requested_by``.
    """

    class Kind(models.TextChoices):
        RESIDENT_MONTH = "resident_month", "Monthly MAR, one resident"
        COMMUNITY_MONTH = "community_month", "Monthly MAR, whole community"
        DOWNTIME = "downtime", "Downtime sheet"
        COUNT_SHEET = "count_sheet", "Controlled-substance count sheet"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Rendering"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    facility = models.ForeignKey(
        "residents.Facility", on_delete=models.PROTECT, related_name="print_jobs"
    )
    resident = models.ForeignKey(
        "residents.Resident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="print_jobs",
    )
    cart = models.ForeignKey(
        "inventory.MedCart",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="print_jobs",
    )
    month = models.DateField(null=True, blank=True, help_text="First day of the month printed.")
    covers_from = models.DateTimeField(null=True, blank=True)
    covers_until = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="print_jobs",
        help_text="Blank when a scheduled job rendered it ahead.",
    )
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    parts_total = models.PositiveIntegerField(default=0)
    parts_done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="print/%Y/%m/", blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=["resident_month", "community_month", "downtime", "count_sheet"]
                ),
                name="print_job_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "ready", "failed"]),
                name="print_job_status_valid",
            ),
            # What each kind is about.
            models.CheckConstraint(
                condition=(
                    Q(kind="resident_month", resident__isnull=False, cart__isnull=True)
                    & Q(month__isnull=False)
                )
                | (
                    Q(kind="community_month", resident__isnull=True, cart__isnull=True)
                    & Q(month__isnull=False)
                )
                | (
                    Q(kind__in=["downtime", "count_sheet"], resident__isnull=True)
                    & Q(cart__isnull=False, month__isnull=True)
                    & Q(covers_from__isnull=False, covers_until__isnull=False)
                ),
                name="print_job_subject_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(month__isnull=True) | Q(month__day=1),
                name="print_job_month_first_day",
            ),
            models.CheckConstraint(
                condition=Q(covers_from__isnull=True)
                | Q(covers_until__isnull=True)
                | Q(covers_until__gt=F("covers_from")),
                name="print_job_covers_forward",
            ),
            models.CheckConstraint(
                condition=~Q(status="ready")
                | (
                    ~Q(file="")
                    & ~Q(fingerprint="")
                    & Q(page_count__isnull=False, finished_at__isnull=False)
                ),
                name="print_job_ready_has_file",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(error=""), name="print_job_failure_says_why"
            ),
            models.CheckConstraint(
                condition=Q(parts_done__lte=F("parts_total")), name="print_job_parts_done_bound"
            ),
            # One document per content: asking again for an unchanged record finds it.
            models.UniqueConstraint(
                fields=["resident", "month", "fingerprint"],
                condition=Q(kind="resident_month") & ~Q(status="failed"),
                name="print_job_resident_month_once",
            ),
            models.UniqueConstraint(
                fields=["facility", "month", "fingerprint"],
                condition=Q(kind="community_month") & ~Q(status="failed"),
                name="print_job_community_month_once",
            ),
            # One whole-community render at a time per month: a second click joins it.
            models.UniqueConstraint(
                fields=["facility", "month"],
                condition=Q(kind="community_month", status__in=["queued", "running"]),
                name="print_job_community_one_in_flight",
            ),
            models.UniqueConstraint(
                fields=["kind", "cart", "covers_from", "covers_until", "fingerprint"],
                condition=Q(kind__in=["downtime", "count_sheet"]) & ~Q(status="failed"),
                name="print_job_cart_sheet_once",
            ),
        ]
        indexes = [
            models.Index(fields=["facility", "kind", "requested_at"]),
            models.Index(fields=["resident", "month", "status"]),
            models.Index(fields=["cart", "kind", "covers_from"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()}) {self.public_id}"


class PrintJobPart(models.Model):
    """One resident's monthly MAR inside a whole-community print, in merge order.

    ``document`` is the resident's rendered month that was (or will be) merged: set when
    the part is done, which is how the community print counts its progress.
    """

    job = models.ForeignKey(PrintJob, on_delete=models.CASCADE, related_name="parts")
    position = models.PositiveIntegerField()
    resident = models.ForeignKey("residents.Resident", on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey(
        PrintJob, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="print_part_position_once"),
            models.UniqueConstraint(fields=["job", "resident"], name="print_part_resident_once"),
            models.CheckConstraint(
                condition=Q(document__isnull=True, done_at__isnull=True)
                | Q(document__isnull=False, done_at__isnull=False),
                name="print_part_done_has_document",
            ),
        ]

    def __str__(self) -> str:
        return f"Part {self.position} of {self.job_id}"


class FollowUp(models.Model):
    """What a nurse owes after a refused or held dose: notify the prescriber by a deadline
    (the facility's ``refusal_followup_hours``). A task, not a record of care: it is opened
    when the dose is charted, raised by the overdue job once its deadline passes, and done
    when a nurse says what was done."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    administration = models.OneToOneField(
        Administration, on_delete=models.PROTECT, related_name="followup"
    )
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="followups"
    )
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField()
    raised_at = models.DateTimeField(
        null=True, blank=True, help_text="When the overdue job raised it to the nurses."
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="followups_done"
    )
    done_note = models.TextField(blank=True)
    prescriber_notified = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(due_at__gt=F("opened_at")), name="followup_due_after_opened"
            ),
            models.CheckConstraint(
                condition=Q(done_at__isnull=True, done_by__isnull=True, done_note="")
                | (Q(done_at__isnull=False, done_by__isnull=False) & ~Q(done_note="")),
                name="followup_done_complete",
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"], name="followup_open_due", condition=Q(done_at__isnull=True)
            ),
            models.Index(fields=["resident", "opened_at"]),
        ]

    def __str__(self) -> str:
        return f"Follow-up of {self.administration_id} due {self.due_at:%Y-%m-%d %H:%M}"

    def is_overdue(self, now) -> bool:
        return self.done_at is None and now > self.due_at
