from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from medtech import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health.healthz, name="healthz"),
    path("", include("mar.urls")),
    path("", include("staff.urls")),
    path("inventory/", include("inventory.urls")),
    path("api/", include("mar.api.urls")),
    path("fhir/r4/", include("mar.api.fhir_urls")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "MedTech eMAR administration"
admin.site.site_title = "MedTech eMAR"
