from django.contrib import admin

from inventory.models import (
    CartAssignment,
    ControlledCount,
    ControlledCountLine,
    MedCart,
    ReorderRequest,
    StockItem,
    StockTransaction,
)
from medtech.core.admin import FacilityScopedAdmin, ReadOnlyAdmin, ReadOnlyInline


@admin.register(MedCart)
class MedCartAdmin(FacilityScopedAdmin, admin.ModelAdmin):
    facility_paths = ("facility",)
    list_display = ["name", "facility", "unit", "is_active"]
    list_filter = ["facility", "is_active"]
    search_fields = ["name"]
    ordering = ["facility", "name", "id"]


@admin.register(CartAssignment)
class CartAssignmentAdmin(ReadOnlyAdmin):
    facility_paths = ("cart__facility",)
    list_display = ["cart", "user", "started_at", "ended_at"]
    ordering = ["-started_at", "id"]


class StockTransactionInline(ReadOnlyInline):
    model = StockTransaction
    fk_name = "stock_item"


@admin.register(StockItem)
class StockItemAdmin(ReadOnlyAdmin):
    facility_paths = ("cart__facility",)
    list_display = ["medication", "resident", "cart", "quantity_on_hand", "unit", "expires_on"]
    list_filter = ["cart", "package"]
    search_fields = ["medication__generic_name", "resident__last_name", "rx_number", "lot"]
    list_select_related = ["medication", "resident", "cart"]
    ordering = ["cart", "resident", "id"]
    inlines = [StockTransactionInline]


@admin.register(StockTransaction)
class StockTransactionAdmin(ReadOnlyAdmin):
    facility_paths = ("stock_item__cart__facility",)
    list_display = ["stock_item", "kind", "quantity", "balance_after", "performed_by", "created_at"]
    list_filter = ["kind"]
    ordering = ["-created_at", "id"]


class ControlledCountLineInline(ReadOnlyInline):
    model = ControlledCountLine


@admin.register(ControlledCount)
class ControlledCountAdmin(ReadOnlyAdmin):
    facility_paths = ("cart__facility",)
    list_display = ["cart", "started_at", "outgoing_user", "incoming_user", "status"]
    list_filter = ["status"]
    ordering = ["-started_at", "id"]
    inlines = [ControlledCountLineInline]


@admin.register(ReorderRequest)
class ReorderRequestAdmin(ReadOnlyAdmin):
    facility_paths = ("resident__facility",)
    list_display = ["medication", "resident", "status", "requested_by", "requested_at"]
    list_filter = ["status"]
    ordering = ["-requested_at", "id"]
