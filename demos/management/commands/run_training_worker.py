"""``manage.py run_training_worker``: the one process that trains runs without Redis.

``make run`` starts it beside gunicorn (a systemd unit in production:
docs/deploy.md). It claims queued training and transfer runs from the database and
trains them (``demos/widgets/runner.py``), so restarting the web workers never waits
for, nor loses, a run. With ``TRAINING_RUN_BACKEND=celery`` (Redis) Celery workers
train instead and this command says so and exits. ``--once`` trains what is queued,
exports finished transfer runs that lack their ONNX predictor (with Celery, run it
once after upgrading) and exits.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from demos.widgets import transfer_runs
from demos.widgets.runner import Runner


class Command(BaseCommand):
    help = "Train queued training and transfer runs (the runner beside gunicorn)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--poll", type=float, default=1.0, help="Seconds between polls (1)."
        )
        parser.add_argument(
            "--grace",
            type=float,
            default=10.0,
            help="On stop: seconds runs in flight may take to finish (10).",
        )
        parser.add_argument(
            "--once", action="store_true", help="Train what is queued, then exit."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        mode = settings.TRAINING_RUN_BACKEND
        if mode != "runner" and not options["once"]:
            self.stdout.write(
                f"TRAINING_RUN_BACKEND is {mode!r}: runs are not trained here"
                + (" (Celery workers train them)." if mode == "celery" else ".")
            )
            return
        import torch

        torch.set_num_threads(max(1, int(settings.TORCH_THREADS)))
        runner = Runner(poll=options["poll"])
        if options["once"]:
            runner.drain()
            exported = transfer_runs.export_missing_predictors()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Queued runs trained; {exported} finished transfer run(s) "
                    "exported for predictions."
                )
            )
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        if options["verbosity"] >= 1:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Training runner: {runner.lanes[0].slots} training run(s) and "
                    "1 transfer run at a time; Ctrl-C or SIGTERM stops it."
                )
            )
        runner.serve(stop, grace=options["grace"])
        self.stdout.write("Training runner stopped.")
