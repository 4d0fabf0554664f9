"""Where a transfer run's images come from, besides a student's own ZIP: an
instructor's class dataset, or the student's photos per class.

A class dataset (``ClassDataset``) is an ImageFolder ZIP an instructor uploads in
the admin. It is checked by the one reader of such ZIPs
(``demos.ml.image_folder.read_image_folder_zip``: the same limits and reasons as a
student's upload) before anything is stored, then kept under
``datasets/<public id>/`` of the media storage with one preview strip per class
(``preview-<class index>.jpg``) for the admin. Students of its class (everyone,
when it has none) may train on it; runs read its ZIP, so it is never copied.

Photos per class (the page's Teachable-Machine flow) are packed here into an
ImageFolder ZIP (``<class>/<nnn>_<file name>``) that then takes the student-ZIP
path: one reader, one run code.
"""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from demos.common import media, sweeper
from demos.ml.image_folder import ImageFolder, ZipLimits, read_image_folder_zip
from demos.models import ClassDataset, TransferRun
from portal.lib.errors import BadInput

DATASET = "dataset.zip"
PREVIEW_PER_CLASS = 5
PREVIEW_SIDE = 64
CLASS_NAME_MAX = 40
_NAME_PUNCTUATION = " -_.()"


# ------------------------------------------------------------------ reading


def read_zip_upload(upload: Any) -> bytes:
    """An uploaded ZIP's bytes; ``BadInput`` above ``TRANSFER_MAX_ZIP_BYTES``."""
    limit = settings.TRANSFER_MAX_ZIP_BYTES
    if upload.size > limit:
        raise BadInput(
            _("The ZIP is larger than %(limit)d MB.") % {"limit": limit // 2**20}
        )
    return upload.read(limit + 1)


def check_dataset_zip(data: bytes) -> ImageFolder:
    """The ZIP read as an ImageFolder, or ``DatasetRefused`` (a ``BadInput``) with
    the reason: the same check a student's ZIP gets."""
    return read_image_folder_zip(io.BytesIO(data))


def dataset_zip(dataset: ClassDataset) -> io.BytesIO:
    """The class dataset's ZIP, read from the media storage (local or S3)."""
    return io.BytesIO(media.read_bytes(dataset.zip_path))


# ------------------------------------------------------------------ class datasets


def visible_class_datasets(user: AbstractBaseUser) -> QuerySet[ClassDataset]:
    """The datasets ``user`` may train on: those without a class and those of
    their classes; an instructor also those of the classes they teach and their
    own uploads; a superuser every one."""
    datasets = ClassDataset.objects.all()
    if not user.is_authenticated:
        return datasets.none()
    if user.is_superuser:
        return datasets
    shared = Q(cohort__isnull=True) | Q(cohort__memberships__student=user)
    if user.is_staff:
        shared |= Q(cohort__instructors=user) | Q(uploaded_by=user)
    return datasets.filter(pk__in=ClassDataset.objects.filter(shared).values("pk"))


def get_class_dataset_for_user(user: AbstractBaseUser, public_id: Any) -> ClassDataset:
    """A dataset ``user`` may use, else ``BadInput`` (the same for one that does
    not exist: nothing is revealed)."""
    dataset = visible_class_datasets(user).filter(public_id=public_id).first()
    if dataset is None:
        raise BadInput(
            _("This class dataset does not exist or is not shared with your class.")
        )
    return dataset


def preview_strips(folder: ImageFolder) -> list[bytes]:
    """One JPEG per class: its first ``PREVIEW_PER_CLASS`` images side by side,
    each cut to a ``PREVIEW_SIDE`` square."""
    from PIL import Image, ImageOps

    strips = []
    for label in range(len(folder.classes)):
        images = [
            item.image for item in [*folder.train, *folder.val] if item.label == label
        ][:PREVIEW_PER_CLASS]
        strip = Image.new("RGB", (PREVIEW_SIDE * len(images), PREVIEW_SIDE), "white")
        for index, image in enumerate(images):
            square = ImageOps.fit(image, (PREVIEW_SIDE, PREVIEW_SIDE))
            strip.paste(square, (index * PREVIEW_SIDE, 0))
        buffer = io.BytesIO()
        strip.save(buffer, "JPEG", quality=80)
        strips.append(buffer.getvalue())
    return strips


def preview_name(dataset: ClassDataset, index: int) -> str:
    return f"{dataset.folder}/preview-{index}.jpg"


def preview_data_urls(dataset: ClassDataset) -> list[str]:
    """Each class's preview strip as a ``data:`` URL ("" where one is missing)."""
    urls = []
    for index in range(len(dataset.classes)):
        try:
            data = media.read_bytes(preview_name(dataset, index))
        except FileNotFoundError:
            urls.append("")
            continue
        urls.append("data:image/jpeg;base64," + base64.b64encode(data).decode())
    return urls


def create_class_dataset(
    *,
    name: str,
    description: str,
    cohort: Any,
    uploaded_by: AbstractBaseUser | None,
    data: bytes,
    folder: ImageFolder | None = None,
) -> ClassDataset:
    """Store a checked ImageFolder ZIP as a class dataset: files first, then the
    row; if anything fails the folder is removed again (no row, no files).

    ``folder``: the ZIP as ``check_dataset_zip`` read it (read again if not given).
    """
    folder = folder or check_dataset_zip(data)
    counts = folder.counts
    dataset = ClassDataset(
        name=name,
        description=description,
        cohort=cohort,
        uploaded_by=uploaded_by,
        zip_bytes=len(data),
        classes=[{"name": cls, "count": counts[cls]} for cls in folder.classes],
        image_count=sum(counts.values()),
    )
    dataset.zip_path = f"{dataset.folder}/{DATASET}"
    dataset.full_clean()
    try:
        media.save_bytes(dataset.zip_path, data)
        for index, strip in enumerate(preview_strips(folder)):
            media.save_bytes(preview_name(dataset, index), strip)
        with transaction.atomic():
            dataset.save()
    except BaseException:
        media.delete_tree(dataset.folder)
        raise
    return dataset


def delete_class_dataset(*, dataset: ClassDataset) -> None:
    """Delete the row, then its files. Runs still waiting on it fail with a
    reason; finished runs keep what they learnt (their trained part is theirs)."""
    with transaction.atomic():
        dataset.runs.filter(
            state__in=[TransferRun.State.QUEUED, TransferRun.State.RUNNING]
        ).update(
            state=TransferRun.State.FAILED,
            detail=_("Its class dataset was deleted."),
            finished=timezone.now(),
        )
        dataset.delete()
    media.delete_tree(dataset.folder)


def _judge_dataset_files(names: list[str]) -> dict[str, sweeper.Verdict]:
    """``<public id>/<file>`` under ``datasets/``: live while its row exists."""
    ids = {
        str(public_id)
        for public_id in ClassDataset.objects.values_list("public_id", flat=True)
    }
    return {
        name: sweeper.Verdict.LIVE for name in names if name.partition("/")[0] in ids
    }


# Files are written before the row commits (``create_class_dataset``): an hour's grace.
DATASET_FILES = sweeper.register(
    sweeper.Owner(
        key="datasets",
        prefix="datasets",
        judge=_judge_dataset_files,
        summary="{removed} file(s) of deleted class datasets.",
        item="dataset file",
    )
)


# ------------------------------------------------------------------ photos per class


def check_class_name(name: str) -> str:
    """A class name usable as a folder: letters (any script), digits, spaces and
    ``-_.()``, not starting with a dot, at most ``CLASS_NAME_MAX`` characters."""
    clean = name.strip()
    if (
        not clean
        or len(clean) > CLASS_NAME_MAX
        or clean.startswith(".")
        or not all(ch.isalnum() or ch in _NAME_PUNCTUATION for ch in clean)
    ):
        raise BadInput(
            _(
                "Class name “%(name)s”: use letters, digits, spaces and - _ . ( ), "
                "at most %(limit)d characters, not starting with a dot."
            )
            % {"name": name[:60], "limit": CLASS_NAME_MAX}
        )
    return clean


def _file_name(name: str | None) -> str:
    base = PurePosixPath((name or "").replace("\\", "/")).name.lstrip(".")
    return base[-60:] or "photo.jpg"


def photos_zip(labels: Sequence[str], photos: Sequence[Any]) -> bytes:
    """The student's photos (uploaded files) with their class names, packed as an
    ImageFolder ZIP for ``start_transfer_run``, which then checks every image.

    Refused with a reason (``BadInput``): lists of different lengths, more than
    ``TRANSFER_MAX_PHOTOS`` photos, a photo above ``MAX_UPLOAD_BYTES``, more than
    ``TRANSFER_MAX_ZIP_BYTES`` in all, a bad class name, too few or too many
    classes, a class with too few photos.
    """
    limits = ZipLimits()
    if len(labels) != len(photos):
        raise BadInput(
            _(
                "Send one class name (labels) for each photo (photos): got %(labels)d "
                "names for %(photos)d photos."
            )
            % {"labels": len(labels), "photos": len(photos)}
        )
    if len(photos) > settings.TRANSFER_MAX_PHOTOS:
        raise BadInput(
            _("You sent %(count)d photos; at most %(limit)d at once.")
            % {"count": len(photos), "limit": settings.TRANSFER_MAX_PHOTOS}
        )
    names = [check_class_name(label) for label in labels]
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    if not limits.min_classes <= len(counts) <= limits.max_classes:
        raise BadInput(
            _("Add between %(low)d and %(high)d classes; you have %(count)d.")
            % {
                "low": limits.min_classes,
                "high": limits.max_classes,
                "count": len(counts),
            }
        )
    for name, count in counts.items():
        if count < limits.min_images_per_class:
            raise BadInput(
                _("Class “%(name)s” has %(count)d photo(s); add at least %(limit)d.")
                % {"name": name, "count": count, "limit": limits.min_images_per_class}
            )
    buffer = io.BytesIO()
    total = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for index, (name, photo) in enumerate(zip(names, photos, strict=True), 1):
            shown = _file_name(getattr(photo, "name", None))
            if photo.size > settings.MAX_UPLOAD_BYTES:
                raise BadInput(
                    _("%(name)s is larger than %(limit)d MB.")
                    % {"name": shown, "limit": settings.MAX_UPLOAD_BYTES // 2**20}
                )
            total += photo.size
            if total > settings.TRANSFER_MAX_ZIP_BYTES:
                raise BadInput(
                    _("The photos add up to more than %(limit)d MB.")
                    % {"limit": settings.TRANSFER_MAX_ZIP_BYTES // 2**20}
                )
            archive.writestr(
                f"{name}/{index:03d}_{shown}", photo.read(settings.MAX_UPLOAD_BYTES + 1)
            )
    return buffer.getvalue()
