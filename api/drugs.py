"""The drug reference in the REST API: search (brand, generic, NDC), a package scan, and
picking a product into the catalog. Thin: parse, one selector or service, render; the
directory's date is in every answer."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as s
from api.exceptions import ReferenceNotFound
from api.views import ApiView, errors, require_role
from drugref import selectors
from drugref.models import Product
from mar.services import drug_reference as services
from medtech.core.permissions import Area


class ProductOut(serializers.Serializer):
    id = serializers.CharField(source="product_id", help_text="The FDA PRODUCTID.")
    product_ndc = serializers.CharField()
    name = serializers.CharField(source="display_name")
    brand_name = serializers.CharField(source="proprietary_name")
    generic_name = serializers.CharField(source="nonproprietary_name")
    strength = serializers.CharField(source="strength_text")
    dosage_form = serializers.CharField()
    route = serializers.CharField()
    ingredients = serializers.ListField(child=serializers.CharField())
    epc_classes = serializers.ListField(child=serializers.CharField())
    moa_classes = serializers.ListField(child=serializers.CharField())
    chemical_classes = serializers.ListField(child=serializers.CharField())
    dea_schedule = serializers.CharField()
    is_listed = serializers.BooleanField()


class SearchIn(serializers.Serializer):
    q = serializers.CharField(
        max_length=100, help_text="Brand or generic name words, or an NDC (any spelling)."
    )


class SearchOut(serializers.Serializer):
    data_date = serializers.CharField(help_text="Which FDA NDC Directory is loaded.")
    results = ProductOut(many=True)


class ScanIn(serializers.Serializer):
    code = serializers.CharField(
        max_length=80, help_text="A package NDC: 10 or 11 digits, any hyphenation, a barcode."
    )


class ScanOut(serializers.Serializer):
    data_date = serializers.CharField()
    ndc = serializers.CharField(help_text="The package NDC as the FDA writes it.")
    ndc11 = serializers.CharField()
    description = serializers.CharField()
    product = ProductOut()


class PickIn(serializers.Serializer):
    product = serializers.CharField(max_length=80, help_text="The FDA PRODUCTID.")
    package_code = serializers.CharField(
        max_length=80,
        required=False,
        allow_blank=True,
        default="",
        help_text="The scanned package, if any.",
    )


class ProductSearchView(ApiView):
    @extend_schema(
        operation_id="drugref_products_search",
        parameters=[SearchIn],
        responses={200: SearchOut, **errors(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        require_role(request.user, Area.RECORDS_READ, "Only staff read the drug reference.")
        query = self.query(SearchIn)["q"]
        results = selectors.products_search(query=query)
        return Response(
            SearchOut({"data_date": selectors.reference_date(), "results": results}).data
        )


class PackageScanView(ApiView):
    @extend_schema(
        operation_id="drugref_scan",
        parameters=[ScanIn],
        responses={200: ScanOut, **errors(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        require_role(request.user, Area.RECORDS_READ, "Only staff read the drug reference.")
        package = selectors.package_for_scan(code=self.query(ScanIn)["code"])
        if package is None:
            raise ReferenceNotFound(field="code", what="package")
        out = {
            "data_date": selectors.reference_date(),
            "ndc": package.ndc,
            "ndc11": package.ndc11,
            "description": package.description,
            "product": package.product,
        }
        return Response(ScanOut(out).data)


class MedicationPickView(ApiView):
    @extend_schema(
        operation_id="drugref_medication_pick",
        request=PickIn,
        responses={201: s.MedicationOut, **errors(400, 401, 403, 404)},
        description="Nurses add a reference product to the catalog (the same medication "
        "when it is there already): ingredients, classes and DEA schedule come with it.",
    )
    def post(self, request: Request) -> Response:
        require_role(request.user, Area.ORDER_ENTER, "Only a nurse adds to the catalog.")
        data = self.body(PickIn)
        product = Product.objects.filter(product_id=data["product"]).first()
        if product is None:
            raise ReferenceNotFound(field="product", what="product")
        package = None
        if data["package_code"]:
            package = selectors.package_for_scan(code=data["package_code"])
            if package is None or package.product_id != product.pk:
                raise ReferenceNotFound(field="package_code", what="package of this product")
        medication = services.medication_from_product(
            user=request.user, product=product, package=package, now=timezone.now()
        )
        return Response(s.MedicationOut(medication).data, status=status.HTTP_201_CREATED)
