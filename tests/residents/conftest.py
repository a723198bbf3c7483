import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from staff.models import User
from tests.factories import (
    FacilityFactory,
    MedCartFactory,
    RoomFactory,
    UserFactory,
)
from tests.world import person


def jpeg_upload(name: str = "face.jpg", size=(1600, 1200), exif: bool = True) -> SimpleUploadedFile:
    image = Image.new("RGB", size, (180, 140, 120))
    buffer = io.BytesIO()
    if exif:
        metadata = Image.Exif()
        metadata[0x010F] = "TabletCam"  # Make
        metadata[0x0131] = "secret-software"  # Software
        image.save(buffer, format="JPEG", exif=metadata)
    else:
        image.save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


class Community:
    """One facility with two units, a cart per unit, rooms, an administrator, a nurse
    and a med tech; and another facility next door with its own administrator."""

    def __init__(self) -> None:
        self.facility = FacilityFactory(name="Maple Grove", requires_second_check=False)
        self.cart = MedCartFactory(facility=self.facility, name="Cart A")
        self.other_cart = MedCartFactory(facility=self.facility, name="Cart B")
        self.room = RoomFactory(
            facility=self.facility, unit=self.cart.unit, cart=self.cart, number="101"
        )
        self.other_room = RoomFactory(
            facility=self.facility, unit=self.other_cart.unit, cart=self.other_cart, number="201"
        )
        self.admin = person(
            self.facility,
            User.Role.ADMINISTRATOR,
            certified=False,
            initials="AD",
            title="Administrator",
        )
        self.nurse = person(self.facility, User.Role.NURSE, initials="RN", title="RN")
        self.tech = person(self.facility, User.Role.MED_TECH, initials="MT")
        self.elsewhere = FacilityFactory(name="Oak Hollow")
        self.elsewhere_room = RoomFactory(facility=self.elsewhere, number="9")
        self.elsewhere_admin = UserFactory(
            role=User.Role.ADMINISTRATOR, initials="OH", facility=self.elsewhere
        )


@pytest.fixture
def community(db) -> Community:
    return Community()
