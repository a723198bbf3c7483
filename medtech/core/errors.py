"""The one family of domain errors, and the one map from it to HTTP status.

Every app's refusals (``ChartingError``, ``OrderError``, ``StockError``, ...) keep their
names and messages and sit under one of five kinds:

- ``NotPermitted`` (403): this person may not do this here (role, community).
- ``NotFound`` (404): nothing with this id that the person can see.
- ``Invalid`` (400): bad input; ``field`` names the input at fault, when there is one.
- ``Conflict`` (409): the record is not in the state the request needs (already charted,
  already reviewed, a count already closed).
- ``Refused`` (422): the request was understood, but a rule of the domain refuses it (too
  early, a PRN limit, no stock, a scan that does not match).

An app's root class (``ChartingError``) is a ``DomainError``; each of its leaves also says
its kind, first among its bases, so ``http_status`` reads one attribute. A class that must
answer otherwise (a PIN locked out: 429) sets ``status`` itself. The API's exception handler
and the pages both ask ``http_status``; there is no second map.
"""

from __future__ import annotations


class DomainError(Exception):
    """A change or read the domain refuses; the message says why and what to do."""

    status = 400

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotPermitted(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Invalid(DomainError):
    status = 400


class Conflict(DomainError):
    status = 409


class Refused(DomainError):
    status = 422


def http_status(error: DomainError) -> int:
    """The HTTP status a page or the API answers ``error`` with."""
    return type(error).status
