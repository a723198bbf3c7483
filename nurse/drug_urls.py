from django.urls import path

from nurse.views import drugs as views

app_name = "drugref"

urlpatterns = [
    path("", views.reference_search, name="search"),
    path("pick/<str:product_id>/", views.reference_pick, name="pick"),
]
