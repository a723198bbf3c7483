"""Seal the administrations and amendments written before the hash chain existed, so
``verify_chain`` starts from a complete chain: per facility, in the order they were
documented (administrations by documented_at, amendments by amended_at, then id).

Uses the chain's own hash functions: the serialization they define is the chain's
format, and a change to it would need a migration of its own anyway.
"""

from django.db import migrations


def seal_existing(apps, schema_editor):
    from mar.services.chain import (
        GENESIS_HASH,
        SEALED_FIELDS,
        SEALED_WHEN_SET,
        link_hash,
        record_hash,
    )

    Administration = apps.get_model("mar", "Administration")
    Amendment = apps.get_model("mar", "Amendment")
    RecordSeal = apps.get_model("mar", "RecordSeal")
    if RecordSeal.objects.exists():
        return
    def sealed(model, record_type):
        # Fields sealed only when set exist in later states of the model, not in this one.
        columns = {field.attname for field in model._meta.concrete_fields}
        optional = [name for name in SEALED_WHEN_SET[record_type] if name in columns]
        return (*SEALED_FIELDS[record_type], *optional)

    records = []
    fields = sealed(Administration, "administration")
    for row in Administration.objects.values("pk", "resident__facility_id", *fields):
        records.append(
            (row["resident__facility_id"], row["documented_at"], 0, "administration", row)
        )
    fields = sealed(Amendment, "amendment")
    for row in Amendment.objects.values("pk", "administration__resident__facility_id", *fields):
        facility_id = row["administration__resident__facility_id"]
        records.append((facility_id, row["amended_at"], 1, "amendment", row))
    records.sort(key=lambda r: (r[0], r[1], r[2], r[4]["pk"]))
    seals, last = [], {}
    for facility_id, at, _, record_type, row in records:
        sequence, previous = last.get(facility_id, (0, GENESIS_HASH))
        digest = record_hash(record_type=record_type, record_id=row["pk"], values=row)
        chain = link_hash(previous_hash=previous, record_hash=digest)
        seals.append(
            RecordSeal(
                facility_id=facility_id,
                sequence=sequence + 1,
                record_type=record_type,
                record_id=row["pk"],
                record_hash=digest,
                previous_hash=previous,
                chain_hash=chain,
                sealed_at=at,
            )
        )
        last[facility_id] = (sequence + 1, chain)
    RecordSeal.objects.bulk_create(seals, batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("mar", "0005_record_seal_and_append_only"),
    ]

    operations = [
        migrations.RunPython(seal_existing, migrations.RunPython.noop, elidable=True),
    ]
