from django.urls import path

from staff import views

app_name = "staff"

urlpatterns = [
    path("me/pin/", views.pin_settings, name="pin"),
    path("tablet/lock/", views.lock, name="lock"),
    path("tablet/unlock/", views.unlock, name="unlock"),
]
