"""The offline bundle's shape, for the OpenAPI schema (``GET /api/v1/offline/carts/{id}/``).

The bundle is built as plain data by ``mar.selectors_offline.offline_bundle_for_cart``;
these serializers only describe it (tests/api/test_openapi_strict.py checks a real bundle
against them strictly, so the two cannot drift apart unnoticed).
"""

from __future__ import annotations

from rest_framework import serializers


class _Out(serializers.Serializer):
    """Read-only description: never used to parse or render."""


class OfflineCartOut(_Out):
    id = serializers.UUIDField()
    name = serializers.CharField()


class OfflineFacilityOut(_Out):
    name = serializers.CharField()
    time_zone = serializers.CharField()


class OfflinePassOut(_Out):
    name = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class OfflineAllergyOut(_Out):
    allergen = serializers.CharField()
    reaction = serializers.CharField(allow_blank=True)


class OfflineResidentOut(_Out):
    id = serializers.UUIDField()
    name = serializers.CharField()
    room = serializers.CharField()
    photo_url = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    has_no_known_allergies = serializers.BooleanField()
    allergies = OfflineAllergyOut(many=True)
    page = serializers.CharField()


class OfflineRecordOut(_Out):
    id = serializers.UUIDField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    administered_at = serializers.DateTimeField()
    documented_at = serializers.DateTimeField()
    by = serializers.CharField(help_text="Initials of who charted it.")
    is_late_entry = serializers.BooleanField()


class OfflineDoseOut(_Out):
    id = serializers.UUIDField()
    resident = serializers.UUIDField()
    order = serializers.UUIDField()
    medication = serializers.CharField()
    dose = serializers.CharField()
    route = serializers.CharField()
    scheduled_at = serializers.DateTimeField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    state = serializers.CharField()
    required_vitals = serializers.ListField(child=serializers.CharField())
    record = OfflineRecordOut(allow_null=True)


class OfflinePrnRefusalWordsOut(_Out):
    too_soon = serializers.CharField(help_text="With {given_at} and {allowed_at} to fill in.")
    too_many = serializers.CharField(help_text="With {count}, {at} and {allowed_at} to fill in.")


class OfflinePrnOrderOut(_Out):
    id = serializers.UUIDField()
    resident = serializers.UUIDField()
    medication = serializers.CharField()
    dose = serializers.CharField()
    route = serializers.CharField()
    indication = serializers.CharField(allow_blank=True)
    min_interval_minutes = serializers.IntegerField(allow_null=True)
    max_per_24h = serializers.IntegerField(allow_null=True)
    recent_given_at = serializers.ListField(child=serializers.DateTimeField())
    allowed_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the next dose is allowed (mar/prn.py), as the pass page and the API "
        "say; null: now.",
    )
    refusal = serializers.CharField(
        allow_null=True, help_text="What charting a dose now would be refused with; null: none."
    )
    refusal_words = OfflinePrnRefusalWordsOut()


class OfflineChoiceOut(_Out):
    value = serializers.CharField()
    label = serializers.CharField()


class OfflinePinVerifierOut(_Out):
    algorithm = serializers.ChoiceField(choices=["argon2id"])
    salt = serializers.CharField(help_text="Used as its UTF-8 bytes.")
    iterations = serializers.IntegerField(help_text="Argon2id time cost.")
    memory_kib = serializers.IntegerField(help_text="Argon2id memory, KiB.")
    parallelism = serializers.IntegerField()
    verifier = serializers.CharField(
        help_text='Hex SHA-256 of "verify:" + the 32-byte Argon2id output of the right PIN.'
    )


class OfflineStaffOut(_Out):
    id = serializers.UUIDField()
    name = serializers.CharField()
    initials = serializers.CharField()
    role = serializers.CharField()
    pin = OfflinePinVerifierOut()


class OfflineBundleOut(_Out):
    cart = OfflineCartOut()
    facility = OfflineFacilityOut()
    generated_at = serializers.DateTimeField()
    pass_ = OfflinePassOut()
    next_pass = OfflinePassOut()
    pages = serializers.ListField(child=serializers.CharField())
    residents = OfflineResidentOut(many=True)
    doses = OfflineDoseOut(many=True)
    prn_orders = OfflinePrnOrderOut(many=True)
    not_given_choices = OfflineChoiceOut(many=True)
    staff = OfflineStaffOut(
        many=True, help_text="Who is on duty for this cart, for the offline PIN switch."
    )

    def get_fields(self):
        # "pass" is a Python keyword: declared as pass_, named "pass" in the bundle.
        fields = super().get_fields()
        fields["pass"] = fields.pop("pass_")
        return fields
