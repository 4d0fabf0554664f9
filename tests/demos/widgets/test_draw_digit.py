"""Parallel digit predictions in a cold process (finding 8 of issue 11).

torch.fx patches ``nn.Module.__call__`` for every thread while it traces a feature
extractor, so a model run in one thread while another thread traces fails. The
first predictions after a restart used to do exactly that: one thread traced the
digits CNN's extractor while the others already ran the model it had been handed.
Each case runs in a fresh interpreter (nothing built yet) with 16 threads released
at once, a few rounds from an empty model cache; every prediction must succeed
with the same answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_DIR

THREADS = 16
# Rounds per process, each from an empty model cache: the race is a matter of
# timing, and one round alone missed it about half the time.
ROUNDS = 4

SCRIPT = r"""
import json, sys, threading, traceback
import cv2, numpy as np, django
django.setup()
from demos.widgets import activations as w_activations
from demos.widgets import draw_digit as w_draw_digit

pad = np.full((300, 300), 255, dtype=np.uint8)
cv2.line(pad, (20, 20), (150, 20), 0, 18)
cv2.line(pad, (150, 20), (70, 190), 0, 18)
drawing = cv2.imencode(".png", pad)[1].tobytes()
mode, count = sys.argv[1], int(sys.argv[2])
start = threading.Barrier(count)
results = [None] * count

def predict(index):
    start.wait()
    try:
        if mode == "mixed" and index % 2:
            demo = w_activations.activation_demo(sample="astronaut", channel=0)
            results[index] = {"ok": True, "activation": sorted(demo)}
            return
        prediction = w_draw_digit.predict_digit(image_bytes=drawing, owner_id=index)
        results[index] = {
            "ok": True,
            "digit": prediction.digit,
            "probabilities": prediction.probabilities,
            "cam": prediction.cam,
        }
    except Exception:
        results[index] = {"ok": False, "error": traceback.format_exc()[-1500:]}

from models_store import loading

everything = []
for _round in range(int(sys.argv[3])):
    loading.clear_cache()  # cold again: nothing built, nothing traced
    threads = [threading.Thread(target=predict, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything.extend(results)
print(json.dumps(everything))
"""


def run_cold(mode: str, tmp_path: Path) -> list[dict]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")
    } | {
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "PORTAL_MEDIA_ROOT": str(tmp_path / "media"),
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "PORTAL_SHARED_DIR": os.environ.get("PORTAL_SHARED_DIR", ""),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(THREADS), str(ROUNDS)],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sixteen_cold_parallel_predictions_all_succeed_alike(tmp_path: Path) -> None:
    results = run_cold("predict", tmp_path)

    errors = [r["error"] for r in results if not r["ok"]]
    assert errors == []
    assert {r["digit"] for r in results} == {7}
    assert all(r["probabilities"] == results[0]["probabilities"] for r in results)
    assert all(r["cam"] == results[0]["cam"] for r in results)


def test_predictions_and_activation_demos_in_a_cold_process_all_succeed(
    tmp_path: Path,
) -> None:
    results = run_cold("mixed", tmp_path)

    errors = [r["error"] for r in results if not r["ok"]]
    assert errors == []
    predictions = [r for r in results if "digit" in r]
    assert len(predictions) == ROUNDS * THREADS // 2
    assert all(
        r["probabilities"] == predictions[0]["probabilities"] for r in predictions
    )
