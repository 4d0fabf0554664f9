"""``python manage.py train_lstm``: train the recurrent-networks lesson's LSTM.

Trains ``Forecaster`` (``nn.LSTM(1, 8)`` and a linear head, 361 parameters) on
sine and sawtooth waves made on the fly, with a fixed seed, and writes
``demos/ml/weights/sequence_lstm.pth`` + ``.json`` (test MSE, steps, seed, date,
command, SHA-256). The files are committed (a few kilobytes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demos.lessons import lstm
from demos.widgets import lstm_gates as w_lstm_gates

MAX_TEST_MSE = 0.05


class Command(BaseCommand):
    help = (
        "Train the small LSTM of the recurrent-networks lesson on made-up sine and "
        "sawtooth waves and write its weights."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--steps", type=int, default=4000)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--out",
            type=Path,
            default=lstm.WEIGHTS_DIR,
            help="Folder for the weights and metadata (default: demos/ml/weights).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["steps"] < 1:
            raise CommandError("--steps must be at least 1.")
        if options["verbosity"] >= 1:
            self.stdout.write("Training the LSTM on sine and sawtooth waves…")
        meta = w_lstm_gates.train_sequence_model(
            out_dir=options["out"], steps=options["steps"], seed=options["seed"]
        )
        summary = (
            f"LSTM: next-step test MSE {meta['test_mse']:.4f}, {meta['params']} "
            f"parameters, written to {options['out']}."
        )
        if meta["test_mse"] > MAX_TEST_MSE:
            raise CommandError(summary + f" Above the allowed {MAX_TEST_MSE}.")
        if options["verbosity"] >= 1:
            self.stdout.write(self.style.SUCCESS(summary))
