"""Tamper evidence: a hash chain per facility over the legal records.

Every administration and amendment is sealed by a ``RecordSeal`` row written as the
last statement of the transaction that wrote it (``chain_seal``). The seal holds the
SHA-256 of a canonical serialization of the record's legal fields and links to the
facility's previous seal: ``chain_hash = SHA-256(previous chain_hash + record_hash)``.

Appends to one facility's chain are serialised by a transaction-scoped advisory lock
on the facility, taken just before the seal's INSERT and released by the commit, so
charting holds it only for one small insert and the commit; everything else in the
charting transaction runs in parallel. Sequences are gap-free because a seal is only
visible once its transaction commits, and the next appender takes the lock only after
that (the INSERT runs in a new statement, so it sees the committed previous link).

``chain_verify`` recomputes every record's hash and every link, and names the rows
changed or deleted behind the application's back (with the triggers disabled), the
seals removed from the chain, and records that were never sealed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, models

from mar.models import Administration, Amendment, RecordSeal
from residents.models import Facility

# pg_advisory_xact_lock(namespace, facility id): the namespace keeps these locks apart
# from any other advisory lock the project takes.
CHAIN_LOCK_NAMESPACE = 0x4D4152  # "MAR"
GENESIS_HASH = "0" * 64

# The legal content of each record type. ``is_entered_in_error`` is left out on purpose:
# it is the one column the database lets change (false -> true), and its change is itself
# a sealed ENTERED_IN_ERROR amendment; ``chain_verify`` checks that flag and amendment agree.
SEALED_FIELDS: dict[str, tuple[str, ...]] = {
    RecordSeal.RecordType.ADMINISTRATION: (
        "public_id",
        "scheduled_dose_id",
        "order_id",
        "resident_id",
        "status",
        "reason",
        "note",
        "dose_amount",
        "administered_at",
        "documented_at",
        "administered_by_id",
        "witness_id",
        "vitals",
        "prn_reason",
        "is_late",
        "is_late_entry",
        "override_reason",
        "idempotency_key",
    ),
    RecordSeal.RecordType.AMENDMENT: (
        "administration_id",
        "field",
        "old_value",
        "new_value",
        "reason",
        "amended_by_id",
        "amended_at",
    ),
}
# Legal fields added after records were first sealed: hashed only when they hold a value,
# so a record sealed before they existed keeps the hash it was sealed with.
SEALED_WHEN_SET: dict[str, tuple[str, ...]] = {
    RecordSeal.RecordType.ADMINISTRATION: (
        "override_id",
        "scanned_code",
        "scan_skipped",
        "source",
    ),
    RecordSeal.RecordType.AMENDMENT: (),
}
MODELS: dict[str, type[models.Model]] = {
    RecordSeal.RecordType.ADMINISTRATION: Administration,
    RecordSeal.RecordType.AMENDMENT: Amendment,
}


def _canonical(value: Any) -> Any:
    """One spelling per value, the same from a fresh instance and from the database."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def record_hash(*, record_type: str, record_id: int, values: dict[str, Any]) -> str:
    """SHA-256 over the record's type, id and legal fields as canonical JSON."""
    fields = {name: _canonical(values[name]) for name in SEALED_FIELDS[record_type]}
    fields |= {
        name: _canonical(values[name])
        for name in SEALED_WHEN_SET[record_type]
        if values.get(name) not in (None, "")
    }
    payload = {"type": record_type, "id": record_id, "fields": fields}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _sealed(record_type: str) -> tuple[str, ...]:
    return SEALED_FIELDS[record_type] + SEALED_WHEN_SET[record_type]


def link_hash(*, previous_hash: str, record_hash: str) -> str:
    """The chain hash of a link (the INSERT in ``chain_seal`` computes the same in SQL)."""
    return hashlib.sha256((previous_hash + record_hash).encode()).hexdigest()


def _record_type(record: Administration | Amendment) -> str:
    if isinstance(record, Administration):
        return RecordSeal.RecordType.ADMINISTRATION
    return RecordSeal.RecordType.AMENDMENT


_LOCK_SQL = (
    "SELECT r.facility_id, pg_advisory_xact_lock(%s::int4, r.facility_id::int4) "
    "FROM residents_resident r WHERE r.id = %s"
)
_APPEND_SQL = """
INSERT INTO mar_recordseal
    (facility_id, sequence, record_type, record_id, record_hash, previous_hash, chain_hash,
     sealed_at)
SELECT %(facility)s, COALESCE(prev.sequence, 0) + 1, %(type)s, %(id)s, %(hash)s,
       COALESCE(prev.chain_hash, %(genesis)s),
       encode(sha256(convert_to(COALESCE(prev.chain_hash, %(genesis)s) || %(hash)s, 'UTF8')),
              'hex'),
       %(now)s
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT s.sequence, s.chain_hash FROM mar_recordseal s
    WHERE s.facility_id = %(facility)s ORDER BY s.sequence DESC LIMIT 1
) AS prev ON TRUE
RETURNING sequence
"""


def chain_seal(*, record: Administration | Amendment, resident_id: int, now: dt.datetime) -> int:
    """Append ``record`` to its facility's chain; returns the link's sequence.

    Call it as the LAST statement of the transaction that wrote the record: the
    facility's lock is held from here to the commit."""
    if not connection.in_atomic_block:
        raise RuntimeError("chain_seal runs inside the transaction that wrote the record.")
    record_type = _record_type(record)
    values = {name: getattr(record, name) for name in _sealed(record_type)}
    digest = record_hash(record_type=record_type, record_id=record.pk, values=values)
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [CHAIN_LOCK_NAMESPACE, resident_id])
        facility_id, _ = cursor.fetchone()
        # A new statement, so a new snapshot: it sees the link committed by whoever held
        # the lock before us.
        cursor.execute(
            _APPEND_SQL,
            {
                "facility": facility_id,
                "type": record_type,
                "id": record.pk,
                "hash": digest,
                "genesis": GENESIS_HASH,
                "now": now,
            },
        )
        (sequence,) = cursor.fetchone()
    return sequence


# --- Verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainProblem:
    facility_id: int
    kind: str  # altered | missing | link_broken | seal_altered | unsealed | flag_mismatch
    record_type: str
    record_id: int | None
    sequence: int | None
    detail: str

    def __str__(self) -> str:
        where = f"facility {self.facility_id}"
        if self.sequence is not None:
            where += f", link #{self.sequence}"
        what = f"{self.record_type} {self.record_id}" if self.record_id is not None else ""
        return f"{self.kind.upper()}: {what} ({where}): {self.detail}"


@dataclass
class ChainReport:
    links: dict[int, int] = field(default_factory=dict)  # facility id -> links checked
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def is_intact(self) -> bool:
        return not self.problems


def _seal_batches(facility_id: int, batch_size: int) -> Iterator[list[RecordSeal]]:
    after = 0
    while True:
        batch = list(
            RecordSeal.objects.filter(facility_id=facility_id, sequence__gt=after).order_by(
                "sequence", "id"
            )[:batch_size]
        )
        if not batch:
            return
        yield batch
        after = batch[-1].sequence


def _current_hashes(record_type: str, ids: list[int]) -> dict[int, str]:
    rows = MODELS[record_type].objects.filter(pk__in=ids).values("pk", *_sealed(record_type))
    return {
        row["pk"]: record_hash(record_type=record_type, record_id=row["pk"], values=row)
        for row in rows
    }


def _check_links(facility_id: int, batch_size: int, report: ChainReport) -> None:
    expected_sequence, previous_chain = 1, GENESIS_HASH
    for batch in _seal_batches(facility_id, batch_size):
        current = {
            record_type: _current_hashes(
                record_type, [s.record_id for s in batch if s.record_type == record_type]
            )
            for record_type in MODELS
        }
        for seal in batch:
            problem = _link_problem(seal, expected_sequence, previous_chain)
            if problem:
                report.problems.append(problem)
            found = current[seal.record_type].get(seal.record_id)
            if found is None:
                report.problems.append(
                    _problem(seal, "missing", "the sealed record no longer exists (deleted)")
                )
            elif found != seal.record_hash:
                report.problems.append(
                    _problem(seal, "altered", "the record differs from what was sealed")
                )
            expected_sequence, previous_chain = seal.sequence + 1, seal.chain_hash
        report.links[facility_id] = report.links.get(facility_id, 0) + len(batch)


def _problem(seal: RecordSeal, kind: str, detail: str) -> ChainProblem:
    return ChainProblem(
        facility_id=seal.facility_id,
        kind=kind,
        record_type=seal.record_type,
        record_id=seal.record_id,
        sequence=seal.sequence,
        detail=detail,
    )


def _link_problem(
    seal: RecordSeal, expected_sequence: int, previous_chain: str
) -> ChainProblem | None:
    if seal.sequence != expected_sequence:
        return _problem(
            seal,
            "link_broken",
            f"link(s) #{expected_sequence}-#{seal.sequence - 1} are missing before this one",
        )
    if seal.previous_hash != previous_chain:
        return _problem(seal, "link_broken", "does not follow from the previous link")
    if link_hash(previous_hash=seal.previous_hash, record_hash=seal.record_hash) != (
        seal.chain_hash
    ):
        return _problem(seal, "seal_altered", "the link's own hashes do not match")
    return None


def _unsealed(facility_ids: list[int], report: ChainReport) -> None:
    """Records with no seal: written behind the application's back (or a seal deleted)."""
    for record_type, model in MODELS.items():
        resident_path = "resident" if model is Administration else "administration__resident"
        sealed = RecordSeal.objects.filter(record_type=record_type, record_id=models.OuterRef("pk"))
        rows = (
            model.objects.filter(**{f"{resident_path}__facility_id__in": facility_ids})
            .filter(~models.Exists(sealed))
            .values_list("pk", f"{resident_path}__facility_id")
            .order_by("pk")
        )
        report.problems.extend(
            ChainProblem(
                facility_id=facility_id,
                kind="unsealed",
                record_type=record_type,
                record_id=pk,
                sequence=None,
                detail="the record is in no chain",
            )
            for pk, facility_id in rows
        )


def _flag_mismatches(facility_ids: list[int], report: ChainReport) -> None:
    """``is_entered_in_error`` must be true exactly when an ENTERED_IN_ERROR amendment
    exists: the flag is outside the record's hash, the amendment is inside the chain."""
    amended = Amendment.objects.filter(
        administration=models.OuterRef("pk"), field=Amendment.Field.ENTERED_IN_ERROR
    )
    rows = (
        Administration.objects.filter(resident__facility_id__in=facility_ids)
        .annotate(has_amendment=models.Exists(amended))
        .filter(
            models.Q(is_entered_in_error=True, has_amendment=False)
            | models.Q(is_entered_in_error=False, has_amendment=True)
        )
        .values_list("pk", "resident__facility_id", "is_entered_in_error")
        .order_by("pk")
    )
    report.problems.extend(
        ChainProblem(
            facility_id=facility_id,
            kind="flag_mismatch",
            record_type=RecordSeal.RecordType.ADMINISTRATION,
            record_id=pk,
            sequence=None,
            detail=(
                "marked entered in error without an amendment saying so"
                if flag
                else "an entered-in-error amendment exists but the record is not marked"
            ),
        )
        for pk, facility_id, flag in rows
    )


def chain_verify(
    *, facility_ids: Iterable[int] | None = None, batch_size: int = 2000
) -> ChainReport:
    """Recompute every facility's chain (or the given facilities') and report each row
    that does not match: altered or deleted records, removed or forged links, records
    in no chain, and entered-in-error flags without their amendment."""
    ids = (
        sorted(facility_ids)
        if facility_ids is not None
        else list(Facility.objects.order_by("id").values_list("id", flat=True))
    )
    report = ChainReport()
    for facility_id in ids:
        report.links[facility_id] = 0
        _check_links(facility_id, batch_size, report)
    _unsealed(ids, report)
    _flag_mismatches(ids, report)
    return report
