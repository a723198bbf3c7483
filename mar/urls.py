from django.urls import path

from mar.views import concerns, medpass, notifications, orders, printing, record, reports, review
from medtech.csp import allow_webassembly

app_name = "mar"

urlpatterns = [
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/bell/", notifications.notification_bell, name="notification_bell"),
    path(
        "notifications/read-all/",
        notifications.notifications_read_all,
        name="notifications_read_all",
    ),
    path(
        "notifications/<int:notification_id>/read/",
        notifications.notification_read,
        name="notification_read",
    ),
    path("concerns/", concerns.concern_list, name="concerns"),
    path(
        "concerns/<uuid:report_id>/acknowledge/",
        concerns.concern_acknowledge,
        name="concern_acknowledge",
    ),
    path("pass/", medpass.pass_start, name="pass_start"),
    path("pass/hand-over/", medpass.cart_hand_over, name="cart_hand_over"),
    path("pass/carts/<uuid:cart_id>/", allow_webassembly(medpass.pass_cart), name="pass_cart"),
    path("pass/carts/<uuid:cart_id>/take/", medpass.cart_take, name="cart_take"),
    path(
        "pass/residents/<uuid:resident_id>/",
        allow_webassembly(medpass.pass_resident),
        name="pass_resident",
    ),
    path("pass/residents/<uuid:resident_id>/concern/", medpass.concern_new, name="concern_new"),
    path("pass/doses/<uuid:dose_id>/chart/", medpass.dose_chart, name="dose_chart"),
    path("pass/prn/<uuid:order_id>/give/", medpass.prn_give, name="prn_give"),
    path("pass/override/ask/", medpass.override_ask, name="override_ask"),
    path("overrides/doses/<uuid:dose_id>/", medpass.override_dose, name="override_dose"),
    path("overrides/prn/<uuid:order_id>/", medpass.override_prn, name="override_prn"),
    path("pass/records/<uuid:record_id>/undo/", medpass.record_undo, name="record_undo"),
    path(
        "pass/records/<uuid:record_id>/effectiveness/",
        medpass.record_effectiveness,
        name="record_effectiveness",
    ),
    # The supervising nurse (issue 7): orders, the review, the record, reports.
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
    path("print/", printing.print_home, name="print_home"),
    path(
        "print/residents/<uuid:resident_id>/<str:month>/",
        printing.resident_month_pdf,
        name="resident_month_pdf",
    ),
    path(
        "print/communities/<uuid:facility_id>/<str:month>/",
        printing.community_month_print,
        name="community_month_print",
    ),
    path("print/jobs/<uuid:job_id>/", printing.print_job, name="print_job"),
    path("print/jobs/<uuid:job_id>/file/", printing.print_job_file, name="print_job_file"),
    path(
        "print/carts/<uuid:cart_id>/downtime/",
        printing.downtime_sheet_pdf,
        name="downtime_sheet_pdf",
    ),
    path(
        "print/carts/<uuid:cart_id>/count-sheet/",
        printing.count_sheet_pdf,
        name="count_sheet_pdf",
    ),
]
