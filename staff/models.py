import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    """A person who signs in. Every charted entry points at exactly one of these."""

    class Role(models.TextChoices):
        MED_TECH = "med_tech", "Med tech"
        NURSE = "nurse", "Nurse"
        ADMINISTRATOR = "administrator", "Administrator"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MED_TECH)
    initials = models.CharField(
        max_length=4, help_text="Shown on the MAR grid; unique within each facility."
    )
    title = models.CharField(max_length=60, blank=True, help_text="e.g. CMA, RN, LPN")
    pin_hash = models.CharField(
        max_length=128, blank=True, help_text="Hash of the tablet quick-switch PIN."
    )
    facilities = models.ManyToManyField(
        "residents.Facility", through="FacilityMembership", related_name="staff", blank=True
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["med_tech", "nurse", "administrator"]),
                name="user_role_valid",
            ),
            models.CheckConstraint(
                condition=Q(initials__regex=r"^[A-Z]{1,3}[0-9]?$"),
                name="user_initials_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_full_name() or self.username} ({self.initials})"

    @property
    def signature_name(self) -> str:
        """The printed name of a signature: full name and title."""
        name = self.get_full_name() or self.username
        return f"{name}, {self.title}" if self.title else name


class FacilityMembership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    facility = models.ForeignKey(
        "residents.Facility", on_delete=models.PROTECT, related_name="memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "facility"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.facility}"


class Certification(models.Model):
    class Kind(models.TextChoices):
        MEDICATION_AIDE = "medication_aide", "Medication aide / technician"
        NURSE_LICENSE = "nurse_license", "Nurse license"
        CPR = "cpr", "CPR"
        FIRST_AID = "first_aid", "First aid"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="certifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    number = models.CharField(max_length=60)
    state = models.CharField(max_length=2, help_text="Issuing state, two letters")
    issued_on = models.DateField()
    expires_on = models.DateField()
    document = models.FileField(upload_to="certifications/", blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["medication_aide", "nurse_license", "cpr", "first_aid"]),
                name="certification_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(expires_on__gt=models.F("issued_on")),
                name="certification_expires_after_issue",
            ),
            models.CheckConstraint(
                condition=Q(state__regex=r"^[A-Z]{2}$"), name="certification_state_format"
            ),
        ]
        indexes = [models.Index(fields=["user", "kind", "expires_on"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number} ({self.state}) until {self.expires_on}"
