"""ImageFolder ZIPs: read, check and split (pure: Pillow, never torch or Django).

A ZIP of ``<class>/<image>`` (optionally under one root folder, optionally split as
``train/<class>/…`` and ``val/<class>/…``) read with the limits of ``ZipLimits``:
2–40 classes, a few hundred images, no more files or bytes than allowed, no member
whose declared size is a hundred times its compressed size (a zip bomb), no ``../``
or absolute names, no links; every image decoded by
``demos.common.imaging.decode_image``. Refusals are ``DatasetRefused`` (a translated
``BadInput``) naming the file at fault. ``augment_image`` is a run's random
crop and flip of one of these images (the tests' ZIP builders use it too).

Its own module so that the web worker checks an upload (``demos.widgets.
transfer_runs``, ``transfer_datasets``) without importing torch; ``demos.ml.
transfer`` trains on what it reads.
"""

from __future__ import annotations

import math
import random
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from PIL import Image

from demos.common.imaging import ImageLimits, ImageRefused, decode_image
from portal.lib.errors import TranslatedBadInput, gettext_noop

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
# Files that operating systems add to folders; skipped, never counted as images.
_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


class DatasetRefused(TranslatedBadInput):
    """A dataset ZIP that cannot be used, with the reason (and file) in the message."""


@dataclass(frozen=True)
class ZipLimits:
    """Caps checked before and while a ZIP is read."""

    min_classes: int = 2
    max_classes: int = 40
    min_images_per_class: int = 2
    max_images: int = 400
    max_files: int = 1000
    max_total_bytes: int = 200 * 2**20  # uncompressed, declared and actual
    max_ratio: float = 100.0  # declared size / compressed size of one member
    image: ImageLimits = ImageLimits(
        max_bytes=20 * 2**20, max_pixels=40_000_000, max_side=12_000, min_side=16
    )
    keep_side: int = 320  # images are kept at most this large (memory)


@dataclass
class LabelledImage:
    name: str  # the member's name in the ZIP
    label: int
    image: Image.Image  # RGB, longer side ≤ ZipLimits.keep_side


@dataclass
class ImageFolder:
    """Classes (sorted, as torchvision's ``ImageFolder``) and their images.

    ``val`` is empty unless the ZIP had ``train/`` and ``val/`` folders.
    """

    classes: list[str]
    train: list[LabelledImage]
    val: list[LabelledImage] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.classes, 0)
        for item in [*self.train, *self.val]:
            counts[self.classes[item.label]] += 1
        return counts


def _refuse(template: str, **params: object) -> DatasetRefused:
    return DatasetRefused(template, **params)


def _safe_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    name = info.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if (
        name.startswith(("/", "\\"))
        or (len(name) > 1 and name[1] == ":")
        or ".." in path.parts
    ):
        raise _refuse(
            gettext_noop("%(name)s: names with ../ or absolute paths are refused."),
            name=name,
        )
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise _refuse(gettext_noop("%(name)s: links are refused."), name=name)
    return path.parts


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(name.startswith(j) or j in parts for j in _JUNK) or any(
        part.startswith(".") for part in parts
    )


def _members(archive: zipfile.ZipFile, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_files:
        raise _refuse(
            gettext_noop("The ZIP holds %(count)d files; at most %(limit)d are read."),
            count=len(infos),
            limit=limits.max_files,
        )
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_total_bytes:
        raise _refuse(
            gettext_noop(
                "The ZIP unpacks to %(size)d MB; at most %(limit)d MB are read."
            ),
            size=declared // 2**20,
            limit=limits.max_total_bytes // 2**20,
        )
    members = []
    for info in infos:
        _safe_parts(info)
        if info.is_dir() or _is_junk(info.filename):
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1_000_000 and ratio > limits.max_ratio:
            raise _refuse(
                gettext_noop(
                    "%(name)s unpacks to %(ratio).0f times its packed size: "
                    "refused as a zip bomb."
                ),
                name=info.filename,
                ratio=ratio,
            )
        members.append(info)
    return members


def _layout(
    members: list[zipfile.ZipInfo],
) -> list[tuple[zipfile.ZipInfo, str, str]]:
    """(member, split, class) for each file: split is "train", "val" or ""."""
    paths = [_safe_parts(info) for info in members]
    if not paths:
        raise _refuse(gettext_noop("The ZIP holds no images."))
    # One folder around everything (a zipped "dataset/" folder): look inside it.
    while all(len(p) > 2 for p in paths) and len({p[0] for p in paths}) == 1:
        paths = [p[1:] for p in paths]
    tops = {p[0] for p in paths if len(p) > 1}
    split = tops == {"train", "val"} and all(len(p) == 3 for p in paths)
    placed = []
    for info, parts in zip(members, paths, strict=True):
        if split:
            placed.append((info, parts[0], parts[1]))
        elif len(parts) == 2:
            placed.append((info, "", parts[0]))
        else:
            raise _refuse(
                gettext_noop(
                    "%(name)s is not inside a class folder: an ImageFolder ZIP "
                    "holds <class>/<image> (or train/<class>/<image> and "
                    "val/<class>/<image>)."
                ),
                name=info.filename,
            )
    return placed


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    with archive.open(info) as handle:
        data = handle.read(min(info.file_size, budget) + 1)
    if len(data) > info.file_size or len(data) > budget:
        raise _refuse(
            gettext_noop("%(name)s is larger than the ZIP declares: refused."),
            name=info.filename,
        )
    return data


def _decode(name: str, data: bytes, limits: ZipLimits) -> Image.Image:
    if not name.lower().endswith(IMAGE_SUFFIXES):
        raise _refuse(
            gettext_noop(
                "%(name)s is not an image file (JPEG, PNG, WEBP, GIF or BMP)."
            ),
            name=name,
        )
    try:
        decoded = decode_image(data, limits.image)
    except ImageRefused as exc:
        raise _refuse(
            gettext_noop("%(name)s: %(reason)s"), name=name, reason=str(exc)
        ) from exc
    image = Image.fromarray(decoded.rgb)
    image.thumbnail((limits.keep_side, limits.keep_side), Image.Resampling.BILINEAR)
    return image


def read_image_folder_zip(
    source: str | Path | BinaryIO, limits: ZipLimits | None = None
) -> ImageFolder:
    """An ImageFolder ZIP → ``ImageFolder``; ``DatasetRefused`` with a reason if not.

    Checks, in order: a readable ZIP; file count; declared total size; every name
    (no ``../``, no absolute path, no link); each member's packing ratio; the
    ``<class>/<image>`` layout; each file's real size while reading; each image;
    the number of classes, of images per class and in all.
    """
    limits = limits or ZipLimits()
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse(gettext_noop("This file is not a ZIP archive.")) from exc
    with archive:
        placed = _layout(_members(archive, limits))
        classes = sorted({cls for _info, _split, cls in placed})
        if len(classes) < limits.min_classes:
            raise _refuse(
                gettext_noop(
                    "The ZIP has one class (%(classes)s); transfer learning needs "
                    "at least %(limit)d class folders."
                ),
                classes=", ".join(classes),
                limit=limits.min_classes,
            )
        if len(classes) > limits.max_classes:
            raise _refuse(
                gettext_noop("The ZIP has %(count)d classes; at most %(limit)d."),
                count=len(classes),
                limit=limits.max_classes,
            )
        if len(placed) > limits.max_images:
            raise _refuse(
                gettext_noop("The ZIP has %(count)d images; at most %(limit)d."),
                count=len(placed),
                limit=limits.max_images,
            )
        folder = ImageFolder(classes=classes, train=[])
        budget = limits.max_total_bytes
        for info, split, cls in placed:
            data = _read_member(archive, info, budget)
            budget -= len(data)
            item = LabelledImage(
                info.filename, classes.index(cls), _decode(info.filename, data, limits)
            )
            (folder.val if split == "val" else folder.train).append(item)
    for cls, count in folder.counts.items():
        if count < limits.min_images_per_class:
            raise _refuse(
                gettext_noop(
                    "Class %(name)s has %(count)d image(s); each class needs at "
                    "least %(limit)d."
                ),
                name=cls,
                count=count,
                limit=limits.min_images_per_class,
            )
    return folder


def split_validation(
    folder: ImageFolder, fraction: float = 0.2, seed: int = 0
) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """(train, val): the ZIP's own split, else ``fraction`` of each class (at least
    one image, the same ones every time for a given seed)."""
    if folder.val:
        return folder.train, folder.val
    rng = random.Random(seed)
    train, val = [], []
    for label in range(len(folder.classes)):
        items = [item for item in folder.train if item.label == label]
        rng.shuffle(items)
        cut = max(1, round(len(items) * fraction))
        val.extend(items[:cut])
        train.extend(items[cut:])
    return train, val


def augment_image(image: Image.Image, rng: random.Random) -> Image.Image:
    """What ``transforms.RandomResizedCrop(scale=(0.6, 1))`` and
    ``RandomHorizontalFlip()`` do, with this run's random numbers: a random crop of
    60–100 % of the area at an aspect ratio of 3:4 to 4:3, mirrored half the time."""
    width, height = image.size
    for _ in range(10):
        area = width * height * rng.uniform(0.6, 1.0)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        w = round(math.sqrt(area * ratio))
        h = round(math.sqrt(area / ratio))
        if 0 < w <= width and 0 < h <= height:
            left = rng.randint(0, width - w)
            top = rng.randint(0, height - h)
            image = image.crop((left, top, left + w, top + h))
            break
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return image
