from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils import timezone

from medtech.core.admin import FacilityScopedAdmin
from staff.models import Certification, FacilityMembership, User
from staff.selectors import certification_date_warning


def warn_about_certification_dates(request, certification: Certification) -> None:
    """The same warning as the staff page's: a certification not current today is kept
    but lets no one chart."""
    if warning := certification_date_warning(
        issued_on=certification.issued_on,
        expires_on=certification.expires_on,
        today=timezone.localdate(),
    ):
        messages.warning(request, f"{certification}: {warning}")


class MembershipInline(admin.TabularInline):
    model = FacilityMembership
    extra = 0
    autocomplete_fields = ["facility"]


class CertificationInline(admin.TabularInline):
    model = Certification
    extra = 0


@admin.register(User)
class UserAdmin(FacilityScopedAdmin, DjangoUserAdmin):
    facility_paths = ("memberships__facility",)
    list_display = ["username", "get_full_name", "initials", "role", "title", "is_active"]
    list_filter = ["role", "is_active", "facilities"]
    search_fields = ["username", "first_name", "last_name", "initials", "email"]
    ordering = ["last_name", "first_name", "id"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("eMAR", {"fields": ["role", "initials", "title", "is_shared_account"]}),
    ]
    add_fieldsets = [
        *DjangoUserAdmin.add_fieldsets,
        (
            "eMAR",
            {
                "fields": [
                    "first_name",
                    "last_name",
                    "role",
                    "initials",
                    "title",
                    "is_shared_account",
                ]
            },
        ),
    ]
    inlines = [MembershipInline, CertificationInline]

    def save_formset(self, request, form, formset, change) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is Certification:
            for certification in formset.new_objects + [obj for obj, _ in formset.changed_objects]:
                warn_about_certification_dates(request, certification)


@admin.register(Certification)
class CertificationAdmin(FacilityScopedAdmin, admin.ModelAdmin):
    facility_paths = ("user__memberships__facility",)
    list_display = ["user", "kind", "number", "state", "issued_on", "expires_on"]
    list_filter = ["kind", "state"]
    search_fields = ["user__username", "user__last_name", "number"]
    date_hierarchy = "expires_on"
    autocomplete_fields = ["user"]
    ordering = ["expires_on", "id"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        warn_about_certification_dates(request, obj)
