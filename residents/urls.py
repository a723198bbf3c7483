from django.urls import path

from residents import views

app_name = "residents"

urlpatterns = [
    path("", views.resident_list, name="list"),
    path("admit/", views.resident_admit, name="admit"),
    path("<uuid:resident_id>/", views.resident_stay, name="stay"),
    path("<uuid:resident_id>/move/", views.resident_move, name="move"),
    path("<uuid:resident_id>/leave/", views.resident_leave, name="leave"),
    path("<uuid:resident_id>/return/", views.resident_return, name="return"),
    path("<uuid:resident_id>/discharge/", views.resident_discharge, name="discharge"),
    path("<uuid:resident_id>/allergies/", views.resident_allergy_add, name="allergy_add"),
    path("<uuid:resident_id>/photo/", views.resident_photo, name="photo"),
    path("settings/", views.facility_settings, name="facility_settings"),
    path("settings/<uuid:facility_id>/units/", views.unit_add, name="unit_add"),
    path("settings/<uuid:facility_id>/carts/", views.cart_add, name="cart_add"),
    path("settings/<uuid:facility_id>/rooms/", views.room_save, name="room_save"),
]
