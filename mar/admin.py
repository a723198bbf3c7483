"""Back-office views. Legal records (administrations, amendments, effectiveness checks,
their chain seals) are read-only here: corrections go through the amendment service, never
an edit in the admin; the database refuses UPDATE and DELETE on them anyway
(``medtech.core.triggers``). The catalog, orders and doses are read-only too: order entry,
verification and status changes have their services and screens
(``medtech.core.admin``)."""

from django.contrib import admin

from mar.models import (
    Administration,
    Amendment,
    EffectivenessCheck,
    ExceptionReview,
    Medication,
    Notification,
    Order,
    RecordSeal,
    ScheduledDose,
)
from medtech.core.admin import ReadOnlyAdmin, ReadOnlyInline


# The catalog is shared by every community: a rename here would rewrite every MAR that
# lists the medication. A new medication comes with an order (medication_create).
@admin.register(Medication)
class MedicationAdmin(ReadOnlyAdmin):
    list_display = ["generic_name", "brand_name", "strength", "form", "dea_schedule", "ndc"]
    list_filter = ["form", "dea_schedule", "is_high_alert", "is_time_critical"]
    search_fields = ["generic_name", "brand_name", "ndc"]
    ordering = ["generic_name", "strength", "id"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    facility_paths = ("resident__facility",)
    list_display = ["resident", "medication", "dose_amount", "dose_unit", "frequency", "status"]
    list_filter = ["status", "frequency", "route"]
    search_fields = ["resident__last_name", "medication__generic_name", "rx_number"]
    list_select_related = ["resident", "medication"]
    ordering = ["-entered_at", "id"]


@admin.register(ScheduledDose)
class ScheduledDoseAdmin(ReadOnlyAdmin):
    facility_paths = ("resident__facility",)
    list_display = ["order", "resident", "scheduled_at", "status"]
    list_filter = ["status"]
    date_hierarchy = "scheduled_at"
    list_select_related = ["order__medication", "resident"]
    ordering = ["scheduled_at", "id"]


class AmendmentInline(ReadOnlyInline):
    model = Amendment


@admin.register(Administration)
class AdministrationAdmin(ReadOnlyAdmin):
    facility_paths = ("resident__facility",)
    list_display = [
        "resident",
        "order",
        "status",
        "administered_at",
        "administered_by",
        "is_entered_in_error",
    ]
    list_filter = ["status", "is_late", "is_late_entry", "is_entered_in_error"]
    date_hierarchy = "administered_at"
    list_select_related = ["resident", "order__medication", "administered_by"]
    ordering = ["-administered_at", "id"]
    inlines = [AmendmentInline]


@admin.register(Amendment)
class AmendmentAdmin(ReadOnlyAdmin):
    facility_paths = ("administration__resident__facility",)
    list_display = ["administration", "field", "old_value", "new_value", "amended_by"]
    ordering = ["-amended_at", "id"]


@admin.register(EffectivenessCheck)
class EffectivenessCheckAdmin(ReadOnlyAdmin):
    facility_paths = ("administration__resident__facility",)
    list_display = ["administration", "result", "recorded_by", "recorded_at"]
    ordering = ["-recorded_at", "id"]


@admin.register(ExceptionReview)
class ExceptionReviewAdmin(ReadOnlyAdmin):
    facility_paths = (
        "scheduled_dose__resident__facility",
        "administration__resident__facility",
        "concern__resident__facility",
    )
    list_display = ["kind", "reviewed_by", "reviewed_at", "physician_notified"]
    list_filter = ["kind"]
    ordering = ["-reviewed_at", "id"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    facility_paths = ("facility", "recipient__memberships__facility")
    list_display = ["recipient", "kind", "title", "created_at", "read_at"]
    list_filter = ["kind"]
    ordering = ["-created_at", "id"]


@admin.register(RecordSeal)
class RecordSealAdmin(ReadOnlyAdmin):
    facility_paths = ("facility",)
    list_display = ["facility", "sequence", "record_type", "record_id", "sealed_at"]
    list_filter = ["record_type", "facility"]
    ordering = ["facility", "-sequence", "id"]
