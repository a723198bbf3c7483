"""The printed documents: monthly MARs, downtime sheets, count sheets, face sheets."""

from django.urls import path

from printing import views

app_name = "printing"

urlpatterns = [
    path("residents/<uuid:resident_id>/face-sheet.pdf", views.face_sheet_pdf, name="face_sheet"),
    path("print/", views.print_home, name="print_home"),
    path(
        "print/residents/<uuid:resident_id>/<str:month>/",
        views.resident_month_pdf,
        name="resident_month_pdf",
    ),
    path(
        "print/communities/<uuid:facility_id>/<str:month>/",
        views.community_month_print,
        name="community_month_print",
    ),
    path("print/jobs/<uuid:job_id>/", views.print_job, name="print_job"),
    path("print/jobs/<uuid:job_id>/file/", views.print_job_file, name="print_job_file"),
    path(
        "print/carts/<uuid:cart_id>/downtime/",
        views.downtime_sheet_pdf,
        name="downtime_sheet_pdf",
    ),
    path(
        "print/carts/<uuid:cart_id>/count-sheet/",
        views.count_sheet_pdf,
        name="count_sheet_pdf",
    ),
]
