"""The architecture lessons' numbers come from disk once computed
(demos/ml/catalogues.py): the same numbers as computing them, and a process that
finds them there never imports torch."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management import call_command

from demos.ml import catalogues
from demos.ml.freezing import TRANSFER_STRATEGIES, transfer_learning_counts
from demos.ml.profiling import architecture_summary
from tests.fresh_process import run_in_fresh_process


def test_the_catalogue_holds_the_computed_numbers(tmp_path: Path) -> None:
    data = catalogues.load_or_compute(
        tmp_path, catalogues.ARCHITECTURES, catalogues.architectures_catalogue
    )
    resnet = next(row for row in data["models"] if row["key"] == "resnet50")
    assert resnet == json.loads(
        json.dumps(architecture_summary("resnet50").as_dict(with_layers=True))
    )
    counts = catalogues.load_or_compute(
        tmp_path, catalogues.TRANSFER_COUNTS, catalogues.transfer_counts_catalogue
    )
    assert set(counts) == set(TRANSFER_STRATEGIES)
    for key in TRANSFER_STRATEGIES:
        assert counts[key]["trainable"] == transfer_learning_counts(key).trainable


def test_a_written_catalogue_is_read_not_computed(tmp_path: Path) -> None:
    calls = []

    def compute() -> dict:
        calls.append(1)
        return {"n": len(calls)}

    assert catalogues.load_or_compute(tmp_path, "x", compute) == {"n": 1}
    assert catalogues.load_or_compute(tmp_path, "x", compute) == {"n": 1}
    assert len(calls) == 1
    assert catalogues.path_of(tmp_path, "x").name.startswith("x-")


def test_widgets_read_the_filled_catalogues_without_torch_or_sklearn(
    settings, tmp_path: Path
) -> None:
    settings.FEATURE_MAP_CACHE_DIR = tmp_path / "cache"
    call_command("fill_catalogues", stdout=__import__("io").StringIO())
    code = """
import django, sys
django.setup()
from demos.widgets import architectures, autoencoder_tsne, transfer_learning
a = architectures.architectures_payload()
d = autoencoder_tsne.autoencoder_demo()
assert len(d["digits"]) == len(d["reconstructions"]) > 100 and d["tsne"], d.keys()
t = transfer_learning.transfer_payload()
assert len(a["models"]) > 3 and a["blocks"]["params_ratio"] > 1, a
assert architectures.architecture_dict("vgg16", with_layers=False).get("layers") is None
assert t["strategies"][0]["trainable"] > 0, t
print(*(m in sys.modules for m in ("torch", "torchvision", "sklearn")))
"""
    last = run_in_fresh_process(code, cache_dir=tmp_path / "cache")
    assert last.split()[-3:] == ["False", "False", "False"]
