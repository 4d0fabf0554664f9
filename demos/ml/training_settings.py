"""The switches of the training-curves demo and their limits (pure: no torch,
no Django).

The web worker checks a run's settings with ``TrainingSettings.check`` before it
queues the run; ``demos.ml.training`` (torch) trains with them. The limits bound
a run's memory: at most ``MAX_SUBSET`` images of 64 pixels, at most
``MAX_EPOCHS`` epochs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from portal.lib.errors import BadInput

MIN_SUBSET, MAX_SUBSET = 20, 1437  # 1437 = the whole training split
MAX_EPOCHS = 60
BATCH_SIZE = 32
LEARNING_RATES = (0.0001, 0.001, 0.01, 0.1, 1.0)
OPTIMISERS = ("sgd", "momentum", "adam", "adamw")
MOMENTUM = 0.9  # "momentum" is SGD with this mu


class InvalidTrainingSettings(BadInput):
    """A training switch is outside what the demo allows."""


@dataclass(frozen=True)
class TrainingSettings:
    subset: int = 100
    epochs: int = 30
    dropout: float = 0.0
    weight_decay: float = 0.0
    augment: bool = False
    learning_rate: float = 0.01
    seed: int = 0
    optimizer: str = "adam"
    lr_step_size: int = 0  # StepLR every this many epochs; 0 = constant rate
    lr_gamma: float = 0.1  # StepLR's factor (multiplies the rate)
    patience: int = 5  # early stopping's patience, for the marker only

    def check(self) -> TrainingSettings:
        if not MIN_SUBSET <= self.subset <= MAX_SUBSET:
            raise InvalidTrainingSettings(
                f"subset must be {MIN_SUBSET}..{MAX_SUBSET} images."
            )
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise InvalidTrainingSettings(f"epochs must be 1..{MAX_EPOCHS}.")
        if not 0 <= self.dropout < 1 or not 0 <= self.weight_decay <= 0.1:
            raise InvalidTrainingSettings("dropout 0..0.9, weight decay 0..0.1.")
        if not 1e-5 <= self.learning_rate <= 2:
            raise InvalidTrainingSettings("learning rate must be 0.00001..2.")
        if self.optimizer not in OPTIMISERS:
            raise InvalidTrainingSettings(f"optimizer must be one of {OPTIMISERS}.")
        if not 0 <= self.lr_step_size <= MAX_EPOCHS or not 0.01 <= self.lr_gamma <= 1:
            raise InvalidTrainingSettings("step size 0..60, gamma 0.01..1.")
        if not 1 <= self.patience <= MAX_EPOCHS:
            raise InvalidTrainingSettings(f"patience must be 1..{MAX_EPOCHS}.")
        return self

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
