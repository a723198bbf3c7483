"""The REST API (v1, OpenAPI), the offline sync's endpoints and FHIR R4."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API and FHIR"
