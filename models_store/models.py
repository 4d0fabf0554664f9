"""A row per model file put into the store by ``models import`` / ``models pull``.

The file on disk is the truth (``store.model_state`` checks it); the row records where
the file came from and when, so the admin can show provenance next to the live state.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from models_store.registry import REGISTRY


class ModelFile(models.Model):
    """Provenance of one file in ``MODELS_DIR`` (one row per registry key)."""

    class Source(models.TextChoices):
        DOWNLOAD = "download", _("downloaded")
        IMPORT = "import", _("imported")

    key = models.CharField(_("model"), max_length=64, unique=True)
    filename = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.BigIntegerField(_("size (bytes)"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    added_at = models.DateTimeField(_("added"), auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("model file")
        verbose_name_plural = _("model files")

    def __str__(self) -> str:
        return self.key

    @property
    def display_name(self) -> str:
        spec = REGISTRY.get(self.key)
        return spec.name if spec else self.key
