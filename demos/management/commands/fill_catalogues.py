"""``python manage.py fill_catalogues``: the architecture lessons' numbers on disk.

Computes, with torch, what the architecture comparison, the transfer-learning
widget and the autoencoder lesson show (``demos.ml.catalogues``) and writes it under
``<FEATURE_MAP_CACHE_DIR>/catalogues/``, so web workers read it without importing
torch. ``make run`` runs it; files already there for this code and these torch
versions are kept.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from demos.ml import catalogues
from demos.widgets import autoencoder_tsne


class Command(BaseCommand):
    help = (
        "Compute the architecture comparison and the transfer-learning counts once "
        "so web workers read them from disk."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(settings.FEATURE_MAP_CACHE_DIR) / "catalogues"
        for name, compute in (
            (catalogues.ARCHITECTURES, catalogues.architectures_catalogue),
            (catalogues.TRANSFER_COUNTS, catalogues.transfer_counts_catalogue),
        ):
            started = time.perf_counter()
            catalogues.load_or_compute(folder, name, compute)
            self.stdout.write(
                f"{catalogues.path_of(folder, name)} "
                f"({time.perf_counter() - started:.1f} s)"
            )
        started = time.perf_counter()
        # Through the disk, not this process's memo (which may predate the folder).
        autoencoder_tsne.autoencoder_demo.cache_clear()
        autoencoder_tsne.autoencoder_demo()
        self.stdout.write(
            f"{catalogues.AUTOENCODER} ({time.perf_counter() - started:.1f} s)"
        )
