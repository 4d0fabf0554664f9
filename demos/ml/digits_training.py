"""Train and save the digits CNN and autoencoder (``manage.py train_digits``)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from demos.common.atomic import write_bytes
from portal.lib.errors import gettext_noop

if TYPE_CHECKING:
    import torch


def train_digits_models(
    *,
    out_dir: Path,
    epochs: int = 20,
    autoencoder_epochs: int = 100,
    seed: int = 0,
    with_tsne: bool = True,
    progress: Any = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Train the digits CNN and autoencoder, write weights, metadata and t-SNE.

    Writes ``digits_cnn.pth/.npz/.json``, ``digits_autoencoder.pth/.json`` and
    ``digits_tsne.json`` into ``out_dir``; returns the CNN's metadata.
    ``progress(message)`` is called between steps with an English msgid (the
    command translates it); ``threads`` caps torch's threads.
    """
    import torch

    from demos.ml import digits as digits_model

    say = progress or (lambda message: None)
    # More threads than free cores slows these tiny models down many times over.
    torch.set_num_threads(threads)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = digits_model.load_digits_split()
    command = (
        f"python manage.py train_digits --epochs {epochs} "
        f"--autoencoder-epochs {autoencoder_epochs} --seed {seed}"
    )
    now = datetime.now(UTC).isoformat(timespec="seconds")

    say(gettext_noop("Training the digits CNN…"))
    cnn, cnn_result = digits_model.train_digits_cnn(data, epochs=epochs, seed=seed)
    cnn_meta = save_model(
        cnn,
        out_dir / digits_model.CNN_WEIGHTS.name,
        {
            "model": "DigitsCNN (LeNet-5 with batch norm and dropout)",
            "input": "1x32x32, 8x8 sklearn digits (0..16) upsampled bilinearly",
            "accuracy": round(cnn_result.test_accuracy, 4),
            "test_loss": round(cnn_result.test_loss, 4),
            "epochs": epochs,
            "seed": seed,
            "split_seed": digits_model.SPLIT_SEED,
            "train_size": cnn_result.train_size,
            "test_size": cnn_result.test_size,
            "params": cnn_result.params,
            "date": now,
            "command": command,
            "torch": torch.__version__,
        },
        numpy_copy=True,
    )
    say(gettext_noop("Training the autoencoder…"))
    autoencoder, ae_result = digits_model.train_autoencoder(
        data, epochs=autoencoder_epochs, seed=seed
    )
    save_model(
        autoencoder,
        out_dir / digits_model.AUTOENCODER_WEIGHTS.name,
        {
            "model": "DigitsAutoencoder (64-32-8-32-64, fully connected)",
            "test_mse": round(ae_result.test_loss, 5),
            "epochs": autoencoder_epochs,
            "seed": seed,
            "split_seed": digits_model.SPLIT_SEED,
            "params": ae_result.params,
            "date": now,
            "command": command,
            "torch": torch.__version__,
        },
    )
    if with_tsne:
        say(gettext_noop("Computing t-SNE maps of the test digits…"))
        features = digits_model.feature_sets(cnn, autoencoder, data.test_images)
        maps = {
            perplexity: {
                name: np.round(
                    digits_model.tsne_2d(
                        values, seed=seed, perplexity=perplexity
                    ).astype(np.float64),
                    4,
                ).tolist()
                for name, values in features.items()
            }
            for perplexity in digits_model.TSNE_PERPLEXITIES
        }
        main = digits_model.TSNE_PERPLEXITY
        tsne = {
            "perplexity": main,
            "seed": seed,
            "points": len(data.test_images),
            "date": now,
            "command": command,
            "views": maps[main],
            "other_perplexities": {
                str(p): views for p, views in maps.items() if p != main
            },
        }
        write_bytes(
            out_dir / digits_model.TSNE_FILE.name,
            json.dumps(tsne, separators=(",", ":")).encode(),
        )
    return cnn_meta


def save_model(
    model: torch.nn.Module,
    path: Path,
    meta: dict[str, Any],
    *,
    numpy_copy: bool = False,
) -> dict:
    """``torch.save(state_dict)`` plus a JSON of ``meta`` and the file's SHA-256.

    ``numpy_copy``: the same arrays also as ``.npz`` (``npz_file``, ``npz_sha256``
    in the JSON), for the runtime that serves the model without torch.
    """
    import torch

    from models_store.download import sha256_of

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    write_bytes(path, buffer.getvalue())
    meta = {**meta, "file": path.name, "sha256": sha256_of(path)}
    if numpy_copy:
        npz = path.with_suffix(".npz")
        write_bytes(npz, state_npz_bytes(model.state_dict()))
        meta |= {"npz_file": npz.name, "npz_sha256": sha256_of(npz)}
    write_bytes(path.with_suffix(".json"), (json.dumps(meta, indent=2) + "\n").encode())
    return meta


def state_npz_bytes(state: dict[str, torch.Tensor]) -> bytes:
    """A state dict's float tensors as an ``.npz`` under the same names (batch
    norm's ``num_batches_tracked`` counter is training bookkeeping: left out)."""
    buffer = io.BytesIO()
    arrays: dict[str, Any] = {
        name: tensor.detach().cpu().numpy()
        for name, tensor in state.items()
        if tensor.is_floating_point()
    }
    np.savez(buffer, **arrays)
    return buffer.getvalue()
