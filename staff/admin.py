from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from medtech.admin_scope import FacilityScopedAdmin
from staff.models import Certification, FacilityMembership, User


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


@admin.register(Certification)
class CertificationAdmin(FacilityScopedAdmin, admin.ModelAdmin):
    facility_paths = ("user__memberships__facility",)
    list_display = ["user", "kind", "number", "state", "issued_on", "expires_on"]
    list_filter = ["kind", "state"]
    search_fields = ["user__username", "user__last_name", "number"]
    date_hierarchy = "expires_on"
    autocomplete_fields = ["user"]
    ordering = ["expires_on", "id"]
