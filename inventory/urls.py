from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.index, name="index"),
    path("reorders/", views.reorders, name="reorders"),
    path("reorders/request/", views.reorder_request, name="reorder_request"),
    path(
        "reorders/<uuid:request_id>/received/",
        views.reorder_received,
        name="reorder_received",
    ),
    path("expiry/", views.expiry, name="expiry"),
    path("carts/<uuid:cart_id>/", views.cart_stock, name="cart_stock"),
    path("carts/<uuid:cart_id>/receive/", views.receive, name="receive"),
    path("carts/<uuid:cart_id>/counts/", views.counts, name="counts"),
    path("items/<uuid:item_id>/", views.item, name="item"),
    path("items/<uuid:item_id>/log/", views.item_log, name="item_log"),
    path("items/<uuid:item_id>/waste/", views.waste, name="waste"),
    path("items/<uuid:item_id>/return/", views.return_to_pharmacy, name="return"),
    path("items/<uuid:item_id>/adjust/", views.adjust, name="adjust"),
    path("items/<uuid:item_id>/transfer/", views.transfer, name="transfer"),
    path("counts/<uuid:count_id>/", views.count, name="count"),
    path("counts/<uuid:count_id>/sign/<str:side>/", views.count_sign, name="count_sign"),
    path("counts/<uuid:count_id>/cancel/", views.count_cancel, name="count_cancel"),
    path("counts/<uuid:count_id>/resolve/", views.count_resolve, name="count_resolve"),
    path("counts/<uuid:count_id>/sheet/", views.count_sheet, name="count_sheet"),
]
