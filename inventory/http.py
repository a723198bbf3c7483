"""How stock refusals map to HTTP status codes, for the pages and the API alike."""

from inventory import services


def status_for_stock_error(error: services.StockError) -> int:
    if isinstance(error, services.StockNotPermitted):
        return 403
    if isinstance(error, services.CountClosed):
        return 409
    if isinstance(error, services.StockInvalid | services.SignatureRefused):
        return 400
    # Not enough on hand (or nothing usable): understood, but cannot be carried out.
    return 422
