from django.contrib import admin
from django.urls import include, path

from medtech import favicon, health
from medtech.core import permissions

urlpatterns = [
    path("", include("staff.home_urls")),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", favicon.favicon, name="favicon"),
    path("", include("mar.urls")),
    path("", include("nurse.urls")),
    path("", include("printing.urls")),
    path("", include("staff.urls")),
    path("inventory/", include("inventory.urls")),
    path("residents/", include("residents.urls")),
    path("staff/", include("staff.manage_urls")),
    path("api/", include("api.urls")),
    path("drugs/", include("nurse.drug_urls")),
    path("fhir/r4/", include("api.fhir_urls")),
    path("admin/", admin.site.urls),
]

# Under /api/ and /fhir/ even Django's own error answers are JSON (api.errors).
handler400 = "api.errors.bad_request"
handler403 = "api.errors.permission_denied"
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"

admin.site.site_header = "MedTech eMAR administration"
admin.site.has_permission = permissions.admin_site_has_permission
admin.site.site_title = "MedTech eMAR"
