"""``python manage.py train_digits``: train the embedded digits CNN and autoencoder.

Trains on scikit-learn's bundled digits (no download) with a fixed seed in well under
a minute on 2 cores, then writes ``demos/ml/weights/digits_cnn.pth`` + ``.json`` (test
accuracy, epochs, seed, date, command, SHA-256), ``digits_autoencoder.pth`` + ``.json``
and ``digits_tsne.json`` (the t-SNE maps of lesson 11). The files are committed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext

from demos.ml import digits as digits_model
from demos.ml import digits_training, networks
from demos.widgets.autoencoder_tsne import autoencoder_demo

MIN_ACCURACY = 0.95


class Command(BaseCommand):
    help = (
        "Train the digits CNN (LeNet-style) and the digits autoencoder on "
        "scikit-learn's digits, record their test scores and write the weights."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--epochs", type=int, default=20)
        parser.add_argument("--autoencoder-epochs", type=int, default=100)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--out",
            type=Path,
            default=digits_model.WEIGHTS_DIR,
            help="Folder for the weights and metadata (default: demos/ml/weights).",
        )
        parser.add_argument(
            "--no-tsne", action="store_true", help="Skip the t-SNE maps (faster)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["epochs"] < 1 or options["autoencoder_epochs"] < 1:
            raise CommandError("--epochs and --autoencoder-epochs must be at least 1.")
        verbose = options["verbosity"] >= 1

        def progress(message: str) -> None:
            if verbose:
                self.stdout.write(gettext(message))

        meta = digits_training.train_digits_models(
            out_dir=options["out"],
            epochs=options["epochs"],
            autoencoder_epochs=options["autoencoder_epochs"],
            seed=options["seed"],
            with_tsne=not options["no_tsne"],
            progress=progress,
            threads=settings.TORCH_THREADS,
        )
        # Models built from the old files are dropped: the next request loads these.
        networks.clear_cache()
        autoencoder_demo.cache_clear()
        summary = (
            f"Digits CNN: test accuracy {meta['accuracy']:.2%} on {meta['test_size']} "
            f"digits, {meta['params']:,} parameters, written to {options['out']}."
        )
        if meta["accuracy"] < MIN_ACCURACY:
            raise CommandError(summary + f" Below the required {MIN_ACCURACY:.0%}.")
        if verbose:
            self.stdout.write(self.style.SUCCESS(summary))
