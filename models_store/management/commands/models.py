"""``python manage.py models list|pull|import|verify``: the model store from a shell.

A thin wrapper over ``models_store.store``; every subcommand exits non-zero (via
``CommandError``) when the store is not in the state the user asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from models_store import licences, store
from models_store.download import ChecksumMismatch, WeightsUnavailable
from models_store.registry import FUSED_DETECTOR, UnknownModel, specs


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / (1024 * 1024):.1f} MB"


class Command(BaseCommand):
    help = (
        "Manage detector and classifier files: list their state, pull (download) one "
        "or the default detector, import files from a folder, verify every file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("list", help="Show every model and its state.")
        pull = sub.add_parser("pull", help="Download a model into the store.")
        which = pull.add_mutually_exclusive_group(required=True)
        which.add_argument("key", nargs="?", help="Registry key, e.g. yolox-nano.")
        which.add_argument(
            "--default",
            action="store_true",
            help=f"The default person detector ({FUSED_DETECTOR}: both its parts).",
        )
        pull.add_argument(
            "--timeout", type=float, default=30, help="Network timeout in seconds."
        )
        imp = sub.add_parser("import", help="Import model files from a file or folder.")
        imp.add_argument("path", type=Path, help="A model file or a folder of them.")
        sub.add_parser("verify", help="Re-check the SHA-256 of every file.")
        licences = sub.add_parser(
            "licences", help="Print THIRD_PARTY.md (model files and packages)."
        )
        licences.add_argument(
            "--write", action="store_true", help="Rewrite THIRD_PARTY.md instead."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = int(options["verbosity"])
        action = options["action"]
        try:
            if action == "list":
                self.list_models()
            elif action == "pull":
                key = FUSED_DETECTOR if options["default"] else options["key"]
                self.pull(key, options["timeout"])
            elif action == "import":
                self.import_models(options["path"])
            elif action == "licences":
                self.licences(write=options["write"])
            else:
                self.verify()
        except (UnknownModel, WeightsUnavailable, ChecksumMismatch) as exc:
            raise CommandError(str(exc)) from exc

    def licences(self, *, write: bool) -> None:
        text = licences.third_party_markdown()
        if not write:
            self.stdout.write(text, ending="")
            return
        licences.THIRD_PARTY.write_text(text, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {licences.THIRD_PARTY.name}."))

    def _table(self, states: list[store.ModelState]) -> None:
        rows = [
            (s.key, s.spec.task, s.state, _size(s.size), s.spec.license) for s in states
        ]
        header = ("KEY", "TASK", "STATE", "SIZE", "LICENCE")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        for row in [header, *rows]:
            cells = [
                cell.ljust(width) for cell, width in zip(row, widths, strict=False)
            ]
            line = "  ".join([*cells, row[4]])
            style = {
                "ready": self.style.SUCCESS,
                "corrupt": self.style.ERROR,
                "missing": self.style.WARNING,
            }.get(row[2], str)
            self.stdout.write(style(line) if row is not header else line)
        if self.verbosity >= 2:
            for s in states:
                if s.fix:
                    self.stdout.write(f"{s.key}: {s.reason} Fix: {s.fix}")

    def list_models(self) -> None:
        self._table(store.all_states())

    def pull(self, key: str, timeout: float) -> None:
        state = store.model_state(key)
        if state.spec.is_fusion:
            for part in state.spec.parts:  # no file of its own: fetch its parts
                self.pull(part, timeout)
            return
        if state.state == "builtin":
            self.stdout.write(f"{key} is built in; nothing to download.")
            return
        if state.state == "ready":
            if self.verbosity >= 1:
                self.stdout.write(self.style.SUCCESS(f"{key} is already ready."))
            return
        shown = False

        def show(done: int, total: int | None) -> None:
            # Called only once the server answered, so an offline failure prints
            # nothing but its one-line error.
            nonlocal shown
            if self.verbosity < 1:
                return
            if not shown:
                self.stdout.write(f"Downloading {key} from {state.spec.url}")
                shown = True
            if total:
                filled = int(30 * done / total)
                bar = "#" * filled + "." * (30 - filled)
                progress = f"[{bar}] {100 * done / total:5.1f}% of {_size(total)}"
            else:
                progress = _size(done)
            self.stdout.write(f"\r{progress}", ending="")
            self.stdout.flush()

        try:
            path = store.pull(key, progress=show, timeout=timeout)
        finally:
            if shown:
                self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"{key} is ready: {path}"))

    def import_models(self, path: Path) -> None:
        if not path.exists():
            raise CommandError(f"{path} does not exist.")

        def skipped(file: Path, why: str) -> None:
            # Licences and class lists sit next to weights: only mention them if asked.
            if self.verbosity >= 2:
                self.stdout.write(f"skipped {file}: {why}")

        try:
            imported = store.import_path(path, on_skip=skipped)
        except ChecksumMismatch as exc:
            for spec in getattr(exc, "imported", []):
                self.stdout.write(self.style.SUCCESS(f"imported {spec.key}"))
            raise
        if not imported:
            raise CommandError(
                f"No registered model file found in {path}. "
                f"Known files: {', '.join(s.filename for s in specs() if s.filename)}."
            )
        for spec in imported:
            self.stdout.write(
                self.style.SUCCESS(f"imported {spec.key} ({spec.filename})")
            )

    def verify(self) -> None:
        states = store.verify_all()
        self._table(states)
        corrupt = [s for s in states if s.state == "corrupt"]
        if corrupt:
            raise CommandError(
                "Corrupt: "
                + "; ".join(f"{s.key} ({s.reason} Fix: {s.fix})" for s in corrupt)
            )
