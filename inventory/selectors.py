from inventory.models import CartAssignment


def on_duty_by_cart(*, cart_ids: set[int]) -> dict[int, list[int]]:
    """User ids on duty for each cart (open assignments): who gets the cart's reminders."""
    on_duty: dict[int, list[int]] = {}
    for cart_id, user_id in (
        CartAssignment.objects.filter(cart_id__in=cart_ids, ended_at__isnull=True)
        .order_by("id")
        .values_list("cart_id", "user_id")
    ):
        on_duty.setdefault(cart_id, []).append(user_id)
    return on_duty
