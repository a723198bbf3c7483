"""The audit trail: who read or changed what, when, and from where.

One append-only table for reads of a resident's record, writes to records, and
sign-in events. Rows are written by ``medtech.core.audit`` only; nothing updates or
deletes them (the database refuses, see the triggers in ``Meta``).
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from medtech.core.triggers import append_only


class AuditEvent(models.Model):
    """One thing that happened to a record, as it happened."""

    class Kind(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Write"
        AUTH = "auth", "Sign-in"

    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    action = models.CharField(
        max_length=80, help_text='What was done, e.g. "administration.record", "resident.view".'
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    actor_username = models.CharField(
        max_length=150, blank=True, help_text="As typed or as signed in, kept even for unknowns."
    )
    facility = models.ForeignKey(
        "residents.Facility", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target_type = models.CharField(max_length=60, blank=True, help_text='e.g. "mar.order"')
    target_id = models.CharField(max_length=40, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(blank=True)
    view = models.CharField(max_length=120, blank=True, help_text="The page or API view.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    device = models.CharField(max_length=200, blank=True, help_text="The browser's user agent.")

    class Meta:
        indexes = [
            models.Index(fields=["occurred_at", "id"], name="audit_occurred"),
            models.Index(fields=["actor", "occurred_at"], name="audit_actor"),
            models.Index(fields=["resident", "occurred_at"], name="audit_resident"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["read", "write", "auth"]), name="audit_kind_valid"
            ),
        ]
        triggers = append_only("audit_event")

    def __str__(self) -> str:
        who = self.actor_username or "unknown"
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {who} {self.action}"
