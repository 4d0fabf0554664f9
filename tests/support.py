"""Helpers shared by the hardening tests: uploads, media listings, made-up images."""

from __future__ import annotations

import io
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def upload(samples_dir: Path, name: str, as_name: str | None = None):
    """A sample file as a browser would send it (under its own or another name)."""
    data = (samples_dir / name).read_bytes()
    return SimpleUploadedFile(as_name or Path(name).name, data)


def media_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def reencoded(samples_dir: Path, name: str, fmt: str, **save: object) -> bytes:
    """A sample photo saved again in another format (TIFF, BMP, ICO, ...)."""
    with Image.open(samples_dir / name) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, fmt, **save)
    return buffer.getvalue()


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content
