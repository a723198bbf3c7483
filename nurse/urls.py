"""The supervising nurse's screens: concerns, orders, the review, the record, reports."""

from django.urls import path

from nurse.views import concerns, orders, record, reports, review

app_name = "nurse"

urlpatterns = [
    path("concerns/", concerns.concern_list, name="concerns"),
    path(
        "concerns/<uuid:report_id>/acknowledge/",
        concerns.concern_acknowledge,
        name="concern_acknowledge",
    ),
    path("orders/pending/", orders.orders_pending, name="orders_pending"),
    path("orders/<uuid:order_id>/", orders.order_detail, name="order_detail"),
    path("orders/<uuid:order_id>/verify/", orders.order_verify, name="order_verify"),
    path(
        "orders/<uuid:order_id>/allergy-review/",
        orders.order_allergy_review,
        name="order_allergy_review",
    ),
    path("orders/<uuid:order_id>/hold/", orders.order_hold, name="order_hold"),
    path("orders/<uuid:order_id>/resume/", orders.order_resume, name="order_resume"),
    path(
        "orders/<uuid:order_id>/discontinue/",
        orders.order_discontinue,
        name="order_discontinue",
    ),
    path("record/<uuid:resident_id>/", record.resident_record, name="resident_record"),
    path("record/<uuid:resident_id>/orders/new/", orders.order_new, name="order_new"),
    path("records/<uuid:record_id>/", record.administration_detail, name="administration_detail"),
    path("review/", review.review_list, name="review"),
    path("review/overdue/", review.overdue_board, name="overdue_board"),
    path("review/acknowledge/", review.review_acknowledge, name="review_acknowledge"),
    path("review/followups/<uuid:followup_id>/done/", review.followup_done, name="followup_done"),
    path("reports/", reports.reports, name="reports"),
    path("reports/<slug:name>.csv", reports.report_csv, name="report_csv"),
]
