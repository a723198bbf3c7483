"""The REST API (``/api/v1/``) and read-only HL7 FHIR R4 (``/fhir/r4/``).

Thin interfaces: each view parses input with an input serializer, makes one selector or
service call, and renders with an output serializer. Domain refusals are raised by the
services and turned into JSON errors in one place (``exceptions.api_exception_handler``).
"""
