from django.urls import path

from medtech.csp import allow_webassembly
from staff import views

app_name = "staff"

urlpatterns = [
    path("me/pin/", views.pin_settings, name="pin"),
    path("tablet/lock/", allow_webassembly(views.lock), name="lock"),
    path("tablet/unlock/", views.unlock, name="unlock"),
]
