"""Which torch device a torchvision detector runs on (``cpu``, ``cuda``, ``cuda:N``).

Pure module: torch is imported only when CUDA availability must be asked, never
``django``.
"""

from __future__ import annotations

from portal.lib.errors import ServiceUnavailable


class TorchDeviceUnavailable(ServiceUnavailable):
    """The configured torch device (e.g. ``cuda``) does not exist on this machine."""


def choose_torch_device(requested: str, cuda_available: bool | None = None) -> str:
    """The torch device to run on: ``cpu``, ``cuda`` or ``cuda:N``.

    ``auto`` picks ``cuda`` when CUDA is available, else ``cpu``. Asking for CUDA
    on a machine without it raises ``TorchDeviceUnavailable`` (→ 503) rather than
    silently running a GPU-sized model on the CPU. ``cuda_available`` defaults to
    ``torch.cuda.is_available()``.
    """
    value = requested.strip().lower() or "auto"
    is_cuda = value == "cuda" or (
        value.startswith("cuda:") and value.removeprefix("cuda:").isdigit()
    )
    if value not in {"auto", "cpu"} and not is_cuda:
        raise ValueError(
            f"torch device must be auto, cpu, cuda or cuda:N, got {requested!r}"
        )
    if value == "cpu":
        return "cpu"
    if cuda_available is None:
        import torch

        cuda_available = bool(torch.cuda.is_available())
    if value == "auto":
        return "cuda" if cuda_available else "cpu"
    if not cuda_available:
        raise TorchDeviceUnavailable(
            f"PORTAL_TORCH_DEVICE is {requested!r} but CUDA is not available on "
            "this machine (no GPU, or torch was built without CUDA). Set "
            "PORTAL_TORCH_DEVICE=auto or cpu, or run this worker on a GPU host."
        )
    return value
