from django.contrib import admin

from medtech.core.admin import FacilityScopedAdmin, ReadOnlyAdmin, ReadOnlyInline
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


# Pass times drive every schedule and units hold rooms: changed on the community's settings
# screen (/residents/settings/), through its services.
class MedPassTimeInline(ReadOnlyInline):
    model = MedPassTime


class UnitInline(ReadOnlyInline):
    model = Unit


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


class AllergyInline(ReadOnlyInline):
    model = Allergy


class DiagnosisInline(ReadOnlyInline):
    model = Diagnosis


# Residents, their allergies, diagnoses, absences and concern reports: read-only here; the
# admin screens (/residents/) and the nurse's record change them through their services.
@admin.register(Resident)
class ResidentAdmin(ReadOnlyAdmin):
    facility_paths = ("facility",)
    list_display = ["last_name", "first_name", "room", "facility", "status", "code_status"]
    list_filter = ["facility", "status", "code_status"]
    search_fields = ["last_name", "first_name", "preferred_name", "room__number"]
    ordering = ["facility", "last_name", "first_name", "id"]
    list_select_related = ["room", "facility"]
    inlines = [AllergyInline, DiagnosisInline]


@admin.register(ResidentAbsence)
class ResidentAbsenceAdmin(ReadOnlyAdmin):
    facility_paths = ("resident__facility",)
    list_display = ["resident", "kind", "started_at", "expected_return_on", "ended_at"]
    list_filter = ["kind"]
    ordering = ["-started_at", "id"]
    raw_id_fields = ["resident", "recorded_by"]


@admin.register(ConcernReport)
class ConcernReportAdmin(ReadOnlyAdmin):
    facility_paths = ("resident__facility",)
    list_display = ["resident", "kind", "reported_by", "reported_at", "acknowledged_at"]
    list_filter = ["kind"]
    ordering = ["-reported_at", "id"]
    raw_id_fields = ["resident", "administration", "reported_by", "acknowledged_by"]
