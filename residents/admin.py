from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone

from mar.services.orders import orders_flag_allergy
from medtech.admin_scope import FacilityScopedAdmin
from residents.models import (
    Allergy,
    ConcernReport,
    Diagnosis,
    Facility,
    MedPassTime,
    Resident,
    ResidentAbsence,
    Room,
    Unit,
)
from residents.selectors import allergy_conflict_warning


class MedPassTimeInline(admin.TabularInline):
    model = MedPassTime
    extra = 0


class UnitInline(admin.TabularInline):
    model = Unit
    extra = 0


@admin.register(Facility)
class FacilityAdmin(FacilityScopedAdmin, admin.ModelAdmin):
    facility_paths = ("id",)
    list_display = ["name", "time_zone", "license_number", "requires_second_check"]
    search_fields = ["name", "license_number"]
    ordering = ["name", "id"]
    inlines = [MedPassTimeInline, UnitInline]


@admin.register(Unit)
class UnitAdmin(FacilityScopedAdmin, admin.ModelAdmin):
    facility_paths = ("facility",)
    list_display = ["name", "facility"]
    list_filter = ["facility"]
    search_fields = ["name"]
    ordering = ["facility", "name", "id"]


@admin.register(Room)
class RoomAdmin(FacilityScopedAdmin, admin.ModelAdmin):
    facility_paths = ("facility",)
    list_display = ["number", "unit", "cart", "facility"]
    list_filter = ["facility", "unit", "cart"]
    search_fields = ["number"]
    ordering = ["facility", "number", "id"]


class AllergyInline(admin.TabularInline):
    model = Allergy
    extra = 0
    can_delete = False


class DiagnosisInline(admin.TabularInline):
    model = Diagnosis
    extra = 0
    can_delete = False


@admin.register(Resident)
class ResidentAdmin(FacilityScopedAdmin, admin.ModelAdmin):
    facility_paths = ("facility",)
    list_display = ["last_name", "first_name", "room", "facility", "status", "code_status"]
    list_filter = ["facility", "status", "code_status"]
    search_fields = ["last_name", "first_name", "preferred_name", "room__number"]
    ordering = ["facility", "last_name", "first_name", "id"]
    list_select_related = ["room", "facility"]
    autocomplete_fields = ["room"]
    inlines = [AllergyInline, DiagnosisInline]

    def save_formset(self, request, form, formset, change) -> None:
        """An allergy added (or corrected) here is checked against the resident's orders
        as on the stay page."""
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            if formset.model is not Allergy:
                return
            changed = formset.new_objects + [obj for obj, _ in formset.changed_objects]
            for allergy in changed:
                orders_flag_allergy(allergy=allergy, by=request.user, now=timezone.now())
        if changed and (warning := allergy_conflict_warning(resident=form.instance)):
            messages.warning(request, warning)


@admin.register(ResidentAbsence)
class ResidentAbsenceAdmin(FacilityScopedAdmin, admin.ModelAdmin):
    facility_paths = ("resident__facility",)
    list_display = ["resident", "kind", "started_at", "expected_return_on", "ended_at"]
    list_filter = ["kind"]
    ordering = ["-started_at", "id"]
    raw_id_fields = ["resident", "recorded_by"]


@admin.register(ConcernReport)
class ConcernReportAdmin(FacilityScopedAdmin, admin.ModelAdmin):
    facility_paths = ("resident__facility",)
    list_display = ["resident", "kind", "reported_by", "reported_at", "acknowledged_at"]
    list_filter = ["kind"]
    ordering = ["-reported_at", "id"]
    raw_id_fields = ["resident", "administration", "reported_by", "acknowledged_by"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
