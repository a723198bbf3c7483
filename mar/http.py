"""How charting refusals map to HTTP status codes, for the pages and the API alike."""

from mar.services import administrations as charting


def status_for_charting_error(error: charting.ChartingError) -> int:
    if isinstance(error, charting.ChartingInvalid):
        return 400
    if isinstance(error, charting.ChartingNotPermitted):
        return 403
    if isinstance(error, charting.DoseAlreadyCharted):
        return 409
    # The same idempotency key with another request, and refusals by a rule of the
    # domain (too early, PRN limit, hold parameter, no stock, scan mismatch, order
    # not chartable): the request was understood but cannot be carried out.
    return 422
