"""Bad and unusual photos through the upload page (/demos/people/).

Each refusal is a form error naming the file and the reason, and leaves no row and
no file behind; each unusual-but-valid photo is accepted and stored re-encoded.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from demos.models import DemoRun, Detection
from tests.support import media_files, reencoded, upload

pytestmark = pytest.mark.django_db

COUNT_RE = re.compile(r'data-testid="person-count">(\d+)<')
ERROR_RE = re.compile(r'data-testid="upload-error">([^<]*)<')
VISIBLE_CROP_RE = re.compile(r'<li class="crop"\s+data-crop')  # hidden ones differ


def post_files(client, files: list, detector: str = "yolox-nano", **extra):
    return client.post(
        "/demos/people/", {"images": files, "detector": detector}, **extra
    )


def form_errors(response) -> list[str]:
    return ERROR_RE.findall(response.content.decode())


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("bad/empty.jpg", "The file is empty."),
        ("bad/text.jpg", "not an image we can read"),
        ("bad/html.jpg", "not an image we can read"),
        ("bad/not_an_image.bin", "not an image we can read"),
        ("bad/script.svg", "SVG and other markup files are not accepted"),
        ("bad/truncated.jpg", "corrupt or truncated"),
        ("bad/bomb.png", "far too many pixels"),
        ("bad/big_9000.png", "81.0 megapixels; the limit is 40 megapixels"),
        ("bad/tall_1x100000.png", "1x100000 pixels"),
        ("bad/tiny.png", "at least 16 pixels"),
    ],
)
def test_bad_sample_is_a_form_error_naming_the_file_and_nothing_is_stored(
    logged_in_client, samples_dir, models_ready, private_media, name, words
) -> None:
    response = post_files(logged_in_client, [upload(samples_dir, name)])

    errors = form_errors(response)
    assert response.status_code == 200
    assert len(errors) == 1
    assert errors[0].startswith(f"{Path(name).name} was not processed: ")
    assert words in errors[0]
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


@pytest.mark.parametrize(
    ("fmt", "suffix", "save"),
    [
        ("TIFF", ".tif", {}),
        ("BMP", ".bmp", {}),
        ("ICO", ".ico", {"sizes": [(64, 64)]}),
        ("PPM", ".jpg", {}),  # a renamed file is judged by its bytes, not its name
    ],
)
def test_formats_outside_the_allow_list_are_refused_by_name(
    logged_in_client, samples_dir, models_ready, private_media, fmt, suffix, save
) -> None:
    data = reencoded(samples_dir, "people/grace_hopper.jpg", fmt, **save)
    photo = SimpleUploadedFile(f"hopper{suffix}", data)

    response = post_files(logged_in_client, [photo])

    assert form_errors(response) == [
        f"hopper{suffix} was not processed: {fmt} images are not accepted; "
        "upload a JPEG, PNG, WEBP or GIF photo."
    ]
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


def test_file_over_the_size_cap_is_refused_before_decoding(
    logged_in_client, samples_dir, models_ready, private_media, settings
) -> None:
    settings.MAX_UPLOAD_BYTES = 100_000

    response = post_files(logged_in_client, [upload(samples_dir, "people/surfer.jpg")])

    assert form_errors(response) == [
        "surfer.jpg was not processed: The file is 0.2 MB; the limit is 0.1 MB."
    ]
    assert media_files(private_media) == []


def test_far_too_many_files_are_refused_unread_and_store_nothing(
    logged_in_client, samples_dir, private_media, settings
) -> None:
    # Above MAX_FILES_PER_REQUEST (only the transfer photos may send more)
    # the request is not even parsed.
    count = settings.MAX_FILES_PER_REQUEST + 1
    assert count < settings.DATA_UPLOAD_MAX_NUMBER_FILES
    files = [
        upload(samples_dir, "bad/tiny.png", as_name=f"p{i}.png") for i in range(count)
    ]

    response = post_files(logged_in_client, files)

    assert response.status_code == 400
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


@pytest.mark.parametrize(
    "name",
    [
        "bad/cmyk.jpg",
        "bad/gray16.png",
        "bad/palette.png",
        "bad/rgba.png",
        "bad/animated.gif",
        "bad/polyglot.png",
    ],
)
def test_unusual_photo_is_accepted_converted_and_stored_as_plain_rgb_jpegs(
    logged_in_client, samples_dir, models_ready, private_media, name
) -> None:
    response = post_files(logged_in_client, [upload(samples_dir, name)], follow=True)

    run = DemoRun.objects.get()
    assert COUNT_RE.search(response.content.decode()).group(1) == "1"
    for path in media_files(private_media):
        data = path.read_bytes()
        assert b"<script" not in data.lower()  # polyglot: the HTML tail is gone
        with Image.open(io.BytesIO(data)) as image:
            assert (image.format, image.mode) == ("JPEG", "RGB")
    # The photo and its thumbnail; crops are cut from the photo when asked for.
    assert len(media_files(private_media)) == 2 and run.detections.exists()


def test_animated_gif_counts_the_first_frame_only(
    logged_in_client, samples_dir, models_ready
) -> None:
    # Frames: the photo, a grey frame, the photo mirrored. Every frame would give 2.
    post_files(logged_in_client, [upload(samples_dir, "bad/animated.gif")])

    run = DemoRun.objects.get()
    assert (run.image_width, run.image_height) == (256, 300)
    shown = run.detections.filter(score__gte=run.score_threshold)
    assert shown.count() == 1
    assert shown.get().x2 > 200  # the unmirrored photo fills the frame to the right


def test_exif_rotated_photo_gives_upright_crops_and_no_gps_in_any_file(
    logged_in_client, samples_dir, models_ready, private_media
) -> None:
    post_files(logged_in_client, [upload(samples_dir, "bad/exif_rotated.jpg")])

    run = DemoRun.objects.get()
    crop = run.detections.order_by("-score").first()
    assert (run.image_width, run.image_height) == (512, 600)
    served = logged_in_client.get(
        f"/demos/people/{run.public_id}/crops/{crop.rank}.jpg"
    )
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.height > image.width
        assert not image.getexif()
    for path in media_files(private_media):
        data = path.read_bytes()
        assert b"Exif\x00\x00" not in data
        assert b"GPS" not in data


@pytest.mark.parametrize(
    ("sent_name", "shown_name"),
    [
        ("../../../etc/passwd.jpg", "passwd.jpg"),
        ("..\\..\\windows\\win.ini.jpg", "win.ini.jpg"),
        ("/var/www/index.jpg", "index.jpg"),
        ("x" * 300 + ".jpg", ("x" * 300 + ".jpg")[:120]),
    ],
)
def test_path_like_or_long_name_is_only_a_display_name(
    logged_in_client, samples_dir, models_ready, private_media, sent_name, shown_name
) -> None:
    photo = upload(samples_dir, "people/grace_hopper.jpg", as_name=sent_name)

    post_files(logged_in_client, [photo])

    run = DemoRun.objects.get()
    assert run.original_name == shown_name
    names = {
        p.relative_to(private_media / run.folder).as_posix()
        for p in media_files(private_media)
    }
    assert names == {"image.jpg", "thumb.jpg"}


def test_photo_with_nobody_counts_zero_and_stores_no_crops(
    logged_in_client, samples_dir, models_ready, private_media
) -> None:
    response = post_files(
        logged_in_client, [upload(samples_dir, "nobody/coffee.png")], follow=True
    )

    run = DemoRun.objects.get()
    html = response.content.decode()
    assert COUNT_RE.search(html).group(1) == "0"
    assert VISIBLE_CROP_RE.findall(html) == []
    assert not run.detections.filter(score__gte=run.score_threshold).exists()
    # No crop files at all: boxes under the threshold are rows, cut when shown.
    assert not (private_media / run.folder / "crops").exists()


def test_crowd_photo_serves_every_crop(
    logged_in_client, samples_dir, models_ready, private_media
) -> None:
    response = post_files(
        logged_in_client, [upload(samples_dir, "people/composite_2.png")], follow=True
    )

    run = DemoRun.objects.get()
    html = response.content.decode()
    shown = run.detections.filter(score__gte=run.score_threshold).count()
    assert COUNT_RE.search(html).group(1) == str(shown)
    assert len(VISIBLE_CROP_RE.findall(html)) == shown
    assert shown >= 4  # five pasted people; YOLOX-Nano finds at least four
    # Every stored box, shown or not, has its crop: the threshold can move later.
    assert Detection.objects.filter(run=run).count() >= shown
    for detection in run.detections.all():
        served = logged_in_client.get(
            f"/demos/people/{run.public_id}/crops/{detection.rank}.jpg"
        )
        with Image.open(io.BytesIO(served.content)) as image:
            assert image.size == (detection.width, detection.height)


def test_crowd_photo_failing_at_its_thumbnail_stores_nothing(
    logged_in_client, samples_dir, models_ready, private_media, monkeypatch
) -> None:
    from demos.people import services

    real_write = services._write
    written: list[Path] = []

    def write_until_the_thumbnail(path: Path, data: bytes) -> None:
        if path.name == "thumb.jpg":
            raise RuntimeError("crash while writing the thumbnail")
        real_write(path, data)
        written.append(path)

    monkeypatch.setattr(services, "_write", write_until_the_thumbnail)
    client = logged_in_client
    client.raise_request_exception = False

    response = post_files(client, [upload(samples_dir, "people/composite_2.png")])

    assert response.status_code == 500
    assert [p.name for p in written] == ["image.jpg"]  # it did get that far
    assert DemoRun.objects.count() == Detection.objects.count() == 0
    assert media_files(private_media) == []
