"""``python manage.py export_onnx``: EfficientNet-Lite0 as ONNX for the web workers.

Exports the feature-map lesson's network (``demos.ml.efficientnet_onnx``: logits and
every ``features[i]`` as outputs, plus the stem and classifier weights the lesson
shows) into ``<MODELS_DIR>/exports/`` with the SHA-256 of every file in a manifest.
Web workers then run the lesson on ONNX Runtime without importing torch; without
the export they fall back to the torch model. ``make run`` runs this command; it
does nothing when an intact export of the installed weights is already there
(``--force`` exports again).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demos.ml import efficientnet_onnx, imagenet
from demos.ml import networks as cnn_models


class Command(BaseCommand):
    help = (
        "Export EfficientNet-Lite0 (the feature-map lesson's CNN) to ONNX so web "
        "workers run it without torch."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Export even if an export is intact."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder = cnn_models.onnx_exports_dir()
        try:
            weights = imagenet.weights_path()
        except imagenet.WeightsUnavailable as exc:
            raise CommandError(str(exc)) from exc
        if not options["force"]:
            try:
                files = cnn_models.efficientnet_onnx_files()
            except efficientnet_onnx.ExportMissing:
                pass
            else:
                self.stdout.write(
                    f"EfficientNet-Lite0 ONNX export is intact: {files.onnx}"
                )
                return
        started = time.perf_counter()
        try:
            manifest = efficientnet_onnx.export(folder, weights)
        except imagenet.ChecksumMismatch as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                "Exported EfficientNet-Lite0 to "
                f"{folder / efficientnet_onnx.ONNX_NAME} "
                f"in {time.perf_counter() - started:.1f} s "
                f"(SHA-256 {manifest['onnx_sha256']})."
            )
        )
