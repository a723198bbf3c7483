import uuid

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from knox.models import AbstractAuthToken

# Usernames that name a role or a device, not a person (compared without case). Such an
# account may exist only marked shared, and a shared account never charts or signs.
GENERIC_USERNAMES = (
    "admin", "administrator", "root", "superuser", "system", "nurse", "nurses", "rn", "lpn",
    "tech", "medtech", "med_tech", "cma", "aide", "staff", "user", "users", "shared",
    "test", "tester", "demo", "guest", "temp", "cart", "tablet", "kiosk", "frontdesk",
    "office", "night", "day", "evening", "shift", "team", "everyone", "all",
)  # fmt: skip
GENERIC_USERNAME_REGEX = r"^(" + "|".join(GENERIC_USERNAMES) + r")$"


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
    # The offline PIN switch (see staff.services.pin_offline_derive): the tablet checks a
    # PIN against the verifier with Argon2id; the key, never sent out, checks the
    # signatures of doses charted offline under that PIN. Iterations and memory are the
    # Argon2id cost the verifier was made with; memory 0: a PIN from before Argon2id
    # verifiers and 6-digit PINs, which its owner must set again (pin_needs_renewal).
    pin_offline_salt = models.CharField(max_length=32, blank=True)
    pin_offline_iterations = models.PositiveIntegerField(default=0)
    pin_offline_memory_kib = models.PositiveIntegerField(default=0)
    pin_offline_verifier = models.CharField(
        max_length=64, blank=True, help_text="Sent to the cart's tablets for the offline switch."
    )
    pin_offline_key = models.CharField(
        max_length=64, blank=True, help_text="Secret: checks offline charting signatures."
    )
    facilities = models.ManyToManyField(
        "residents.Facility", through="FacilityMembership", related_name="staff", blank=True
    )
    is_shared_account = models.BooleanField(
        default=False,
        help_text="A shared or generic login (a role, a device, a test account): it may sign "
        "in and read, never chart, witness or sign (see staff.selectors.user_signing_refusal).",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["med_tech", "nurse", "administrator"]),
                name="user_role_valid",
            ),
            models.CheckConstraint(
                condition=Q(is_shared_account=True) | ~Q(username__iregex=GENERIC_USERNAME_REGEX),
                name="user_generic_name_is_shared",
                violation_error_message="A generic username (like nurse or admin) is only for "
                "an account marked shared, which can never chart or sign. Use the person's name.",
            ),
            models.CheckConstraint(
                condition=Q(initials__regex=r"^[A-Z]{1,3}[0-9]?$"),
                name="user_initials_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_full_name() or self.username} ({self.initials})"

    def clean(self) -> None:
        super().clean()
        if not self.is_shared_account and is_generic_username(self.username):
            raise ValidationError(
                {
                    "username": "This username names a role or a device, not a person. Use "
                    "the person's own name (like mgarcia): every signature must be someone's."
                }
            )

    @property
    def pin_needs_renewal(self) -> bool:
        """A PIN set under the old rules (4 digits allowed, PBKDF2 verifiers): it no longer
        opens anything until its owner sets a new one on My PIN."""
        return bool(self.pin_hash) and not self.pin_offline_memory_kib

    @property
    def signature_name(self) -> str:
        """The printed name of a signature: full name and title."""
        name = self.get_full_name() or self.username
        return f"{name}, {self.title}" if self.title else name


def is_generic_username(username: str) -> bool:
    return (username or "").strip().lower() in GENERIC_USERNAMES


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


class ApiToken(AbstractAuthToken):
    """An API token of one device (django-rest-knox; see ``staff.tokens``): only its digest
    is stored, it expires, and it ends when the password it was issued under changes."""

    password_check = models.CharField(
        max_length=64, editable=False, help_text="Keyed digest of the password hash at issue."
    )

    def __str__(self) -> str:
        return f"API token of {self.user} since {self.created:%Y-%m-%d %H:%M}"
