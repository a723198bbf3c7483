import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from residents.photos import MAX_SIDE, PhotoRejected, photo_reencode
from tests.residents.conftest import jpeg_upload


def test_it_reencodes_a_photo_as_a_bounded_jpeg_without_metadata():
    upload = jpeg_upload(size=(2400, 1800))

    photo = photo_reencode(upload=upload)

    with Image.open(io.BytesIO(photo.read())) as image:
        assert image.format == "JPEG"
        assert max(image.size) == MAX_SIDE
        assert not image.getexif()
    assert photo.name.endswith(".jpg")


def test_it_accepts_png_and_webp():
    for fmt in ("PNG", "WEBP"):
        buffer = io.BytesIO()
        Image.new("RGBA", (300, 400), (0, 0, 0, 0)).save(buffer, format=fmt)
        upload = SimpleUploadedFile(f"a.{fmt.lower()}", buffer.getvalue())

        photo = photo_reencode(upload=upload)

        with Image.open(io.BytesIO(photo.read())) as image:
            assert (image.format, image.size) == ("JPEG", (300, 400))


def test_it_refuses_a_file_that_only_claims_to_be_a_picture():
    upload = SimpleUploadedFile("face.jpg", b"<html><script>alert(1)</script>", "image/jpeg")

    with pytest.raises(PhotoRejected, match="not a picture"):
        photo_reencode(upload=upload)


def test_it_refuses_a_gif_and_a_picture_over_5_mb():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="GIF")
    gif = SimpleUploadedFile("a.gif", buffer.getvalue())
    big = SimpleUploadedFile("big.jpg", b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024))

    with pytest.raises(PhotoRejected, match="JPEG, PNG or WebP"):
        photo_reencode(upload=gif)
    with pytest.raises(PhotoRejected, match="5 MB"):
        photo_reencode(upload=big)
