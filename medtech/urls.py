from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mar.views import offline
from medtech import health, permissions, views
from staff import views as staff_views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", staff_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health.healthz, name="healthz"),
    path("audit/", views.audit_search, name="audit_search"),
    path("sw.js", offline.service_worker, name="service_worker"),
    path("manifest.webmanifest", offline.manifest, name="manifest"),
    path("", include("mar.urls")),
    path("", include("staff.urls")),
    path("inventory/", include("inventory.urls")),
    path("residents/", include("residents.urls")),
    path("staff/", include("staff.manage_urls")),
    path("api/", include("mar.api.urls")),
    path("fhir/r4/", include("mar.api.fhir_urls")),
    path("admin/", admin.site.urls),
]

# Under /api/ and /fhir/ even Django's own error answers are JSON (mar.api.errors).
handler400 = "mar.api.errors.bad_request"
handler403 = "mar.api.errors.permission_denied"
handler404 = "mar.api.errors.page_not_found"
handler500 = "mar.api.errors.server_error"

admin.site.site_header = "MedTech eMAR administration"
admin.site.has_permission = permissions.admin_site_has_permission
admin.site.site_title = "MedTech eMAR"
