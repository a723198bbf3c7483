"""/fhir/r4/: read-only HL7 FHIR R4 (see ``api.fhir``)."""

from django.urls import path, re_path

from api import fhir, fhir_capability

app_name = "fhir"

urlpatterns = [
    path("metadata", fhir_capability.CapabilityView.as_view(), name="metadata"),
    path("Patient/<uuid:id>", fhir.PatientView.as_view(), name="Patient"),
    path(
        "MedicationRequest",
        fhir.MedicationRequestView.as_view(),
        name="MedicationRequest-search",
    ),
    path(
        "MedicationRequest/<uuid:id>",
        fhir.MedicationRequestView.as_view(),
        name="MedicationRequest",
    ),
    path(
        "MedicationAdministration",
        fhir.MedicationAdministrationView.as_view(),
        name="MedicationAdministration-search",
    ),
    path(
        "MedicationAdministration/<uuid:id>",
        fhir.MedicationAdministrationView.as_view(),
        name="MedicationAdministration",
    ),
    re_path(r"^[\s\S]*$", fhir.not_found),
]
