"""``GET /fhir/r4/metadata``: the CapabilityStatement, what many FHIR clients ask first.

It is built from the views themselves (their search parameters), so it cannot promise
what the server does not do. Open to anyone, as FHIR and SMART clients expect: it says
what the server can do, nothing about any resident.
"""

from __future__ import annotations

from django.urls import reverse
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from api import fhir

# When this statement last changed (FHIR requires a date); change it with the statement.
PUBLISHED = "2026-11-20"
SEARCH_TYPES = {"patient": "reference", "effective-time": "date"}
DOCUMENTATION = {
    "patient": "The Patient's id (Patient/{id} or {id}).",
    "effective-time": "When the dose was given, as amended; prefixes eq, gt, ge, lt, le. A "
    "date alone is a day in the patient's community's time zone.",
}


def _resource(resource_type: str, view: type[fhir.FhirView]) -> dict:
    interactions = [{"code": "read"}]
    if view.search_parameters:
        interactions.append({"code": "search-type"})
    entry: dict = {
        "type": resource_type,
        "interaction": interactions,
        "versioning": "versioned",
        "readHistory": False,
        "updateCreate": False,
    }
    if view.search_parameters:
        entry["searchParam"] = [
            {"name": name, "type": SEARCH_TYPES[name], "documentation": DOCUMENTATION[name]}
            for name in sorted(view.search_parameters)
        ]
    return entry


def capability_statement(*, base_url: str) -> dict:
    resources = {
        "Patient": fhir.PatientView,
        "MedicationRequest": fhir.MedicationRequestView,
        "MedicationAdministration": fhir.MedicationAdministrationView,
    }
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": PUBLISHED,
        "publisher": "MedTech eMAR",
        "kind": "instance",
        "software": {"name": "MedTech eMAR"},
        "implementation": {
            "description": "Read-only HL7 FHIR R4 of the electronic MAR",
            "url": base_url,
        },
        "fhirVersion": "4.0.1",
        "format": [fhir.FHIR_JSON],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read and search only. Paged with _count (at most "
                f"{fhir.MAX_COUNT}) and _offset. Scoped to the caller's communities.",
                "security": {
                    "description": "Authorization: Token <token> from POST "
                    f"{reverse('api:token')}, or a signed-in session. Everything but this "
                    "statement needs one.",
                },
                "resource": [_resource(name, view) for name, view in resources.items()],
            }
        ],
    }


class CapabilityView(fhir.FhirView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        self.check_parameters(request)
        base_url = request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("metadata")
        return Response(capability_statement(base_url=base_url))
