"""/api/: the REST API (v1), its OpenAPI schema and Swagger UI."""

from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import drugs as drug_api
from api import offline, views

app_name = "api"

v1 = [
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("drugref/products/", drug_api.ProductSearchView.as_view(), name="drugref_search"),
    path("drugref/scan/", drug_api.PackageScanView.as_view(), name="drugref_scan"),
    path("drugref/medications/", drug_api.MedicationPickView.as_view(), name="drugref_pick"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("auth/logout-all/", views.LogoutAllView.as_view(), name="logout_all"),
    path("residents/", views.ResidentListView.as_view(), name="residents"),
    path("residents/<uuid:id>/", views.ResidentDetailView.as_view(), name="resident"),
    path("residents/<uuid:id>/mar.pdf", views.ResidentMarView.as_view(), name="resident_mar"),
    path("orders/", views.OrderListView.as_view(), name="orders"),
    path("orders/<uuid:id>/", views.OrderDetailView.as_view(), name="order"),
    path("orders/<uuid:id>/verify/", views.OrderVerifyView.as_view(), name="order_verify"),
    path(
        "orders/<uuid:id>/allergy-review/",
        views.OrderAllergyReviewView.as_view(),
        name="order_allergy_review",
    ),
    path("orders/<uuid:id>/hold/", views.OrderHoldView.as_view(), name="order_hold"),
    path("orders/<uuid:id>/resume/", views.OrderResumeView.as_view(), name="order_resume"),
    path(
        "orders/<uuid:id>/discontinue/",
        views.OrderDiscontinueView.as_view(),
        name="order_discontinue",
    ),
    path("doses/", views.DoseListView.as_view(), name="doses"),
    path("administrations/", views.AdministrationListView.as_view(), name="administrations"),
    path(
        "administrations/<uuid:id>/",
        views.AdministrationDetailView.as_view(),
        name="administration",
    ),
    path(
        "administrations/<uuid:id>/amendments/",
        views.AmendmentView.as_view(),
        name="administration_amendments",
    ),
    path(
        "administrations/<uuid:id>/effectiveness/",
        views.EffectivenessView.as_view(),
        name="administration_effectiveness",
    ),
    path("overrides/", views.DoseOverrideView.as_view(), name="overrides"),
    path("exceptions/", views.ExceptionListView.as_view(), name="exceptions"),
    path(
        "exceptions/<uuid:id>/acknowledge/",
        views.ExceptionAcknowledgeView.as_view(),
        name="exception_acknowledge",
    ),
    path(
        "offline/carts/<uuid:id>/", offline.CartOfflineBundleView.as_view(), name="offline_bundle"
    ),
    path("stock/", views.StockListView.as_view(), name="stock"),
    path("stock/<uuid:id>/", views.StockDetailView.as_view(), name="stock_item"),
    path(
        "stock/<uuid:id>/transactions/",
        views.StockTransactionView.as_view(),
        name="stock_transactions",
    ),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI from the app's own static files, under the app's own CSP (its start
    # script is a separate file: the "split" view); a signed-in person's page.
    path(
        "docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
    path("v1/", include(v1)),
    re_path(r"^[\s\S]*$", views.not_found),
]
