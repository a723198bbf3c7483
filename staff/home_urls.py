"""The pages outside any namespace: home, sign-in and out, the audit trail."""

from django.contrib.auth import views as auth_views
from django.urls import path

from staff import home, views

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", home.audit_search, name="audit_search"),
]
