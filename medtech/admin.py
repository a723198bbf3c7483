"""The audit trail in the Django admin: read-only (the database refuses changes anyway)."""

from django.contrib import admin

from medtech.core.admin import ReadOnlyAdmin
from medtech.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    facility_paths = ("facility", "actor__memberships__facility")
    list_display = ["occurred_at", "kind", "action", "actor_username", "resident", "ip_address"]
    list_filter = ["kind"]
    search_fields = ["actor_username", "action"]
    list_select_related = ["resident"]
    ordering = ["-occurred_at", "-id"]
