"""Database triggers that keep records of care append-only (django-pgtrigger).

The rule "never updated in place, never deleted" is enforced by PostgreSQL itself, so
neither a bug, the Django admin nor raw SQL from the application can rewrite history.
A refused statement raises a ``django.db.DatabaseError`` ("pgtrigger: Cannot update
rows from ... table") and rolls back its transaction.

Not covered: TRUNCATE (the test runner empties tables between transactional tests
with it; only the schema owner can truncate) and a superuser who disables the
triggers; the hash chain (``mar.services.chain``) makes the latter evident.
"""

from __future__ import annotations

import pgtrigger


def append_only(name: str, *, settable_once: tuple[str, str] | None = None) -> list:
    """Triggers refusing DELETE and UPDATE on a model's table.

    ``settable_once`` is ``(column, condition)``: an UPDATE that changes only ``column``
    and meets ``condition`` (SQL over ``OLD`` and ``NEW``, e.g. a flag going from false to
    true) is let through; any other change to any column is refused.
    """
    update = pgtrigger.Protect(name=f"{name}_no_update", operation=pgtrigger.Update)
    if settable_once is not None:
        column, permitted = settable_once
        # Every column but the settable one must stay as it was: comparing the whole row
        # as jsonb keeps this true for columns added later.
        unchanged = f"(to_jsonb(OLD) - '{column}') = (to_jsonb(NEW) - '{column}')"
        update = pgtrigger.Protect(
            name=f"{name}_no_update",
            operation=pgtrigger.Update,
            condition=pgtrigger.Condition(f"NOT (({permitted}) AND {unchanged})"),
        )
    return [
        pgtrigger.Protect(name=f"{name}_no_delete", operation=pgtrigger.Delete),
        update,
    ]
