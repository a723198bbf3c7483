import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. America/Chicago).")


def default_time_zone() -> str:
    return settings.DEFAULT_FACILITY_TIME_ZONE


class Facility(models.Model):
    """A community. Its settings shape the schedule, the windows and the tablet."""

    MAX_REMINDER_LEAD_MINUTES = 240

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120, unique=True)
    address = models.TextField(blank=True)
    license_number = models.CharField(max_length=60, blank=True)
    time_zone = models.CharField(
        max_length=64, default=default_time_zone, validators=[validate_time_zone]
    )
    # On-time windows either side of the scheduled time (ISMP timely administration).
    window_time_critical_minutes = models.PositiveSmallIntegerField(default=30)
    window_more_than_daily_minutes = models.PositiveSmallIntegerField(default=60)
    window_daily_minutes = models.PositiveSmallIntegerField(default=120)
    late_limit_minutes = models.PositiveSmallIntegerField(
        default=120, help_text="After the window closes a dose is late this long, then missed."
    )
    reminder_lead_minutes = models.PositiveSmallIntegerField(
        default=15, help_text="Dose-due reminders go out this long before a window opens."
    )
    requires_second_check = models.BooleanField(
        default=True, help_text="New orders need a second licensed nurse to verify them."
    )
    requires_scan = models.BooleanField(
        default=True,
        help_text="A dose charted as given needs a scan of its package, or the reason it "
        "could not be scanned (kept on the record and shown to the nurse).",
    )
    auto_lock_minutes = models.PositiveSmallIntegerField(default=5)
    prn_followup_minutes = models.PositiveSmallIntegerField(default=60)
    refusal_followup_hours = models.PositiveSmallIntegerField(default=24)
    reorder_threshold_days = models.PositiveSmallIntegerField(default=7)
    expiry_warning_days = models.PositiveSmallIntegerField(default=30)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "facilities"
        constraints = [
            models.CheckConstraint(
                condition=Q(window_time_critical_minutes__gt=0)
                & Q(window_more_than_daily_minutes__gt=0)
                & Q(window_daily_minutes__gt=0)
                & Q(auto_lock_minutes__gt=0),
                name="facility_positive_windows",
            ),
            models.CheckConstraint(
                condition=Q(reminder_lead_minutes__lte=240), name="facility_reminder_lead_bound"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class MedPassTime(models.Model):
    """A named pass time ("AM" = 08:00). Orders may name these instead of clock times."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="pass_times")
    name = models.CharField(max_length=20)
    time_of_day = models.TimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["facility", "name"], name="pass_time_name_unique"),
            models.CheckConstraint(condition=Q(name__regex=r"^[A-Za-z]+$"), name="pass_time_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.time_of_day:%H:%M}"


class Unit(models.Model):
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="units")
    name = models.CharField(max_length=80)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["facility", "name"], name="unit_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.facility} / {self.name}"


class Room(models.Model):
    """A room; the cart that serves it decides whose doses a med tech sees."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="rooms")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="rooms")
    number = models.CharField(max_length=12)
    cart = models.ForeignKey(
        "inventory.MedCart",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rooms",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["facility", "number"], name="room_number_unique"),
        ]

    def __str__(self) -> str:
        return self.number


class Resident(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        AWAY = "away", "Away"
        DISCHARGED = "discharged", "Discharged"
        DECEASED = "deceased", "Deceased"

    class AwayKind(models.TextChoices):
        HOSPITAL = "hospital", "Hospital"
        LEAVE = "leave", "Leave of absence"

    class Sex(models.TextChoices):
        """Administrative sex, as FHIR's Patient.gender and US Core name it."""

        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    class CodeStatus(models.TextChoices):
        FULL_CODE = "full_code", "Full code"
        DNR = "dnr", "DNR"
        DNR_DNI = "dnr_dni", "DNR / DNI"
        COMFORT_CARE = "comfort_care", "Comfort care only"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="residents")
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="residents"
    )
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    preferred_name = models.CharField(max_length=80, blank=True)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    photo = models.ImageField(upload_to="residents/", blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    away_kind = models.CharField(max_length=12, choices=AwayKind.choices, blank=True)
    admitted_on = models.DateField()
    discharged_on = models.DateField(null=True, blank=True)
    physician = models.CharField(max_length=120, blank=True)
    physician_phone = models.CharField(max_length=30, blank=True)
    pharmacy = models.CharField(max_length=120, blank=True)
    pharmacy_phone = models.CharField(max_length=30, blank=True)
    code_status = models.CharField(
        max_length=16, choices=CodeStatus.choices, default=CodeStatus.FULL_CODE
    )
    has_no_known_allergies = models.BooleanField(
        default=False, help_text="Confirmed NKA. Cleared when an allergy is recorded."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["active", "away", "discharged", "deceased"]),
                name="resident_status_valid",
            ),
            models.CheckConstraint(
                condition=(Q(status="away") & Q(away_kind__in=["hospital", "leave"]))
                | (~Q(status="away") & Q(away_kind="")),
                name="resident_away_kind_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(discharged_on__isnull=True) | Q(discharged_on__gte=F("admitted_on")),
                name="resident_discharge_after_admission",
            ),
            models.CheckConstraint(
                condition=Q(sex__in=["female", "male", "other", "unknown"]),
                name="resident_sex_valid",
            ),
            models.CheckConstraint(
                condition=Q(admitted_on__gte=F("date_of_birth")),
                name="resident_admitted_after_birth",
            ),
        ]
        indexes = [
            models.Index(fields=["facility", "status", "last_name"]),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def display_name(self) -> str:
        """Last, First ("Preferred"), as a med tech reads it on the cart."""
        preferred = f' "{self.preferred_name}"' if self.preferred_name else ""
        return f"{self.last_name}, {self.first_name}{preferred}"


class ResidentAbsence(models.Model):
    """A hospital stay or leave of absence: doses inside it are 'away', not missed."""

    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="absences")
    kind = models.CharField(max_length=12, choices=Resident.AwayKind.choices)
    started_at = models.DateTimeField()
    expected_return_on = models.DateField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gt=F("started_at")),
                name="absence_ends_after_start",
            ),
            models.UniqueConstraint(
                fields=["resident"],
                condition=Q(ended_at__isnull=True),
                name="absence_one_open_per_resident",
            ),
        ]
        indexes = [models.Index(fields=["resident", "started_at"])]

    def __str__(self) -> str:
        return f"{self.resident} {self.get_kind_display()} from {self.started_at:%Y-%m-%d}"


class Allergy(models.Model):
    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"
        UNKNOWN = "unknown", "Unknown"

    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="allergies")
    allergen = models.CharField(max_length=120)
    reaction = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.UNKNOWN)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "allergies"
        constraints = [
            models.UniqueConstraint(fields=["resident", "allergen"], name="allergy_unique"),
            models.CheckConstraint(condition=~Q(allergen=""), name="allergy_allergen_required"),
        ]

    def __str__(self) -> str:
        return self.allergen


class Diagnosis(models.Model):
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="diagnoses")
    description = models.CharField(max_length=200)
    icd10_code = models.CharField(max_length=10, blank=True)
    diagnosed_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "diagnoses"

    def __str__(self) -> str:
        return f"{self.icd10_code} {self.description}".strip()


class ConcernReport(models.Model):
    """A suspected adverse reaction or change of condition, reported to the nurses at once."""

    class Kind(models.TextChoices):
        ADVERSE_REACTION = "adverse_reaction", "Suspected adverse reaction"
        CHANGE_OF_CONDITION = "change_of_condition", "Change of condition"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="concerns")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    description = models.TextField()
    observed_at = models.DateTimeField()
    administration = models.ForeignKey(
        "mar.Administration",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="concerns",
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="concerns_reported"
    )
    reported_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="concerns_acknowledged",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(description=""), name="concern_description"),
            models.CheckConstraint(
                condition=Q(acknowledged_by__isnull=True, acknowledged_at__isnull=True)
                | Q(acknowledged_by__isnull=False, acknowledged_at__isnull=False),
                name="concern_acknowledgement_complete",
            ),
        ]
        indexes = [
            models.Index(
                fields=["resident", "reported_at"],
                name="concern_unacknowledged",
                condition=Q(acknowledged_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.resident}"
