"""The Django admin under the same rules as the pages: an administrator sees only the rows
of their own communities (another community's row is "not found"), and every change made
there is in the audit trail. A superuser (the vendor's back office) sees every community.

Clinical data (residents and their allergies, diagnoses, absences and concerns, the
medication catalog, orders, doses, records, stock) is read-only there (``ReadOnlyAdmin``,
``ReadOnlyInline``): its changes have rules, and the rules live in the services behind
the app's own screens (admit, move, allergies, order entry, amendments, the stock ledger),
which audit every change. An admin edit would bypass both.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from medtech.core.audit import audit_write, snapshot
from medtech.core.scope import scope

# Never copied into the audit trail: secrets and their derivatives.
SECRET_FIELDS = frozenset(
    {"password", "pin_hash", "pin_offline_salt", "pin_offline_verifier", "pin_offline_key"}
)


def _values(obj) -> dict:
    return {k: v for k, v in snapshot(obj).items() if k not in SECRET_FIELDS}


class FacilityScopedAdmin:
    """Mix into a ModelAdmin and name the paths from the model to its Facility
    (``facility_paths = ("resident__facility",)``; several paths are alternatives)."""

    facility_paths: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser or not self.facility_paths:
            return queryset
        return scope(queryset, user=request.user, path=self.facility_paths)

    def save_model(self, request, obj, form, change) -> None:
        before = _values(type(obj)._default_manager.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        audit_write(
            actor=request.user,
            action=f"admin.{obj._meta.label_lower}.{'change' if change else 'add'}",
            target=obj,
            before=before,
            after=_values(obj),
            reason="Changed in the Django admin",
            request=request,
            now=timezone.now(),
        )

    def delete_model(self, request, obj) -> None:
        before = _values(obj)
        audit_write(
            actor=request.user,
            action=f"admin.{obj._meta.label_lower}.delete",
            target=obj,
            before=before,
            reason="Deleted in the Django admin",
            request=request,
            now=timezone.now(),
        )
        super().delete_model(request, obj)


class ReadOnlyAdmin(FacilityScopedAdmin, admin.ModelAdmin):
    """Look, never touch: no add, change or delete (not even a superuser)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
