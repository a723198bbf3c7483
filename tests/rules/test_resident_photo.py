"""The resident's photo (``templates/_partials/_photo.html``): every page and the offline
bundle show it through the scoped photo view, never the file's own media URL, and the
view refuses another community."""

import pytest
from django.urls import reverse

from inventory.services import cart_assignment_start
from residents.photos import photo_reencode
from tests.api.conftest import AT
from tests.residents.conftest import jpeg_upload


@pytest.fixture
def photographed(community):
    resident = community.resident
    photo = photo_reencode(upload=jpeg_upload(size=(600, 800)))
    resident.photo.save("photo.jpg", photo, save=True)
    return resident


def test_the_pass_the_record_and_the_bundle_show_the_photo_through_its_view(
    client, api_as, community, photographed, dose
):
    cart_assignment_start(cart=community.cart, user=community.tech, now=AT)
    view_url = reverse("residents:photo", args=[photographed.public_id])
    client.force_login(community.tech)

    pass_page = client.get(reverse("mar:pass_resident", args=[photographed.public_id]))
    bundle = api_as(community.tech).get(f"/api/v1/offline/carts/{community.cart.public_id}/")
    client.force_login(community.nurse)
    record = client.get(reverse("nurse:resident_record", args=[photographed.public_id]))
    photo = client.get(view_url)

    for page in (pass_page, record):
        assert f'src="{view_url}"' in page.content.decode()
        assert photographed.photo.url not in page.content.decode()
    assert bundle.json()["residents"][0]["photo_url"] == view_url
    assert (photo.status_code, photo["Content-Type"]) == (200, "image/jpeg")


def test_the_photo_view_answers_404_to_another_community(client, other, photographed):
    client.force_login(other.nurse)

    response = client.get(reverse("residents:photo", args=[photographed.public_id]))

    assert response.status_code == 404
