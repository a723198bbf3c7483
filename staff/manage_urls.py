from django.urls import path

from staff import manage_views as views

app_name = "staff_manage"

urlpatterns = [
    path("", views.staff_list, name="list"),
    path("new/", views.staff_new, name="new"),
    path("certifications/due/", views.certifications_due, name="expiring"),
    path(
        "certifications/<int:certification_id>/copy/",
        views.certification_document,
        name="certification_document",
    ),
    path("<uuid:user_id>/", views.staff_detail, name="detail"),
    path("<uuid:user_id>/certifications/", views.certification_add, name="certification_add"),
    path("<uuid:user_id>/deactivate/", views.staff_deactivate, name="deactivate"),
]
