from django.urls import path

from mar.views import medpass, notifications, offline
from medtech.csp import allow_webassembly

app_name = "mar"

urlpatterns = [
    path("sw.js", offline.service_worker, name="service_worker"),
    path("manifest.webmanifest", offline.manifest, name="manifest"),
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
    path(
        "pass/residents/<uuid:resident_id>/give-all/",
        medpass.pass_give_all,
        name="pass_give_all",
    ),
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
]
