"""Writes for the lessons (load the Markdown course, mark lessons done) and the
server-side computations of the lesson widgets (kernel playground, output size,
pooling, NMS).

The widget functions only read sample photos or an upload and return plain
dataclasses; the arithmetic itself lives in the pure ``demos.ml.playgrounds``.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from demos.common.imaging import decode_image, encode_png
from demos.common.limits import image_limits
from demos.lessons import exercise, quizzes
from demos.lessons.loading import LessonFormatError, LessonSource, discover_lessons
from demos.lessons.selectors import LESSON_SAMPLES, LessonSample
from demos.ml import playgrounds
from demos.models import DemoRun, Lesson, LessonProgress, QuizScore
from demos.people.selectors import persons_above
from portal.lib.errors import BadInput, ServiceUnavailable

logger = logging.getLogger(__name__)

LESSONS_DIR = Path(__file__).resolve().parent / "content"
WIDGET_IMAGE_SIDE = 512  # uploads are shrunk to this before any widget maths
NMS_FALLBACK_NOTE = "fallback"

# --- Loading the course ----------------------------------------------------------

FIELDS = (
    "order",
    "widget",
    "title_en",
    "title_ko",
    "summary_en",
    "summary_ko",
    "body_en",
    "body_ko",
)


@dataclass
class LoadReport:
    """What ``load_lessons`` did (or would do, in a dry run), by slug."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # in the database, not in the files
    removed: list[str] = field(default_factory=list)


def _values(source: LessonSource) -> dict[str, object]:
    en, ko = source.text("en"), source.text("ko")
    return {
        "order": source.order,
        "widget": source.widget,
        "title_en": en.title,
        "title_ko": ko.title,
        "summary_en": en.summary,
        "summary_ko": ko.summary,
        "body_en": en.body,
        "body_ko": ko.body,
    }


@transaction.atomic
def load_lessons(
    *, directory: Path = LESSONS_DIR, prune: bool = False, dry_run: bool = False
) -> LoadReport:
    """Upsert every lesson in ``directory`` by slug; safe to run again and again.

    Changed text is updated; identical lessons are left untouched (their
    ``updated`` time does not move). Lessons in the database but no longer in
    the files are kept, with their students' progress, and moved after the
    course; only ``prune=True`` deletes them (and that progress). ``dry_run``
    reports the same counts and rolls everything back.
    """
    sources = discover_lessons(directory)
    for source in sources:  # a broken quiz stops the load like a broken lesson
        try:
            quizzes.read_quiz(directory / "quizzes", source.slug)
        except quizzes.QuizFormatError as exc:
            raise LessonFormatError(str(exc)) from exc
    by_slug = {source.slug: source for source in sources}
    existing = {lesson.slug: lesson for lesson in Lesson.objects.select_for_update()}
    report = LoadReport()

    # Orders are unique: park every lesson whose order changes (or that blocks
    # an order the files need) above all orders in use before assigning any.
    wanted = {source.order for source in sources}
    top = max([*wanted, *(lesson.order for lesson in existing.values()), 0]) + 1
    parking = [
        lesson
        for slug, lesson in existing.items()
        if (slug in by_slug and by_slug[slug].order != lesson.order)
        or (slug not in by_slug and lesson.order in wanted)
    ]
    for offset, lesson in enumerate(parking):
        # update() skips auto_now: parking alone does not count as an edit.
        Lesson.objects.filter(pk=lesson.pk).update(order=top + offset)
        lesson.order = top + offset

    for source in sources:
        values = _values(source)
        lesson = existing.get(source.slug)
        if lesson is None:
            lesson = Lesson(slug=source.slug, **values)
            lesson.full_clean()
            lesson.save()
            report.created.append(source.slug)
        elif any(getattr(lesson, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(lesson, name, value)
            lesson.full_clean()
            lesson.save()
            report.updated.append(source.slug)
        else:
            report.unchanged.append(source.slug)

    for slug, lesson in existing.items():
        if slug in by_slug:
            continue
        if prune:
            lesson.delete()
            report.removed.append(slug)
        else:
            report.kept.append(slug)

    if dry_run:
        transaction.set_rollback(True)
    return report


# --- Progress ------------------------------------------------------------------


@transaction.atomic
def mark_lesson_done(*, user: AbstractBaseUser, lesson: Lesson) -> LessonProgress:
    """Record that ``user`` finished ``lesson``; marking twice changes nothing."""
    progress, _created = LessonProgress.objects.get_or_create(user=user, lesson=lesson)
    return progress


@transaction.atomic
def unmark_lesson_done(*, user: AbstractBaseUser, lesson: Lesson) -> bool:
    """Remove the mark; returns whether there was one."""
    deleted, _by_model = LessonProgress.objects.filter(
        user=user, lesson=lesson
    ).delete()
    return deleted > 0


def set_lesson_done(*, user: AbstractBaseUser, lesson: Lesson, done: bool) -> bool:
    """Mark or unmark; returns the new state."""
    if done:
        mark_lesson_done(user=user, lesson=lesson)
    else:
        unmark_lesson_done(user=user, lesson=lesson)
    return done


# --- Quizzes -------------------------------------------------------------------


@dataclass(frozen=True)
class QuizOutcome:
    grade: quizzes.Grade
    saved: bool  # False for anonymous visitors: graded, not stored
    best_score: int | None


@transaction.atomic
def record_quiz_score(
    *, user: AbstractBaseUser, lesson: Lesson, score: int, total: int, passed: bool
) -> QuizScore:
    """Keep the best score (and count the attempt); passing marks the lesson done."""
    now = timezone.now()
    row = QuizScore.objects.select_for_update().filter(user=user, lesson=lesson).first()
    if row is None:
        row = QuizScore(
            user=user,
            lesson=lesson,
            best_score=score,
            last_score=score,
            total=total,
            attempts=1,
            passed=passed,
            best_at=now,
        )
    else:
        row.attempts += 1
        row.last_score = score
        if total != row.total or score > row.best_score:
            # A better score, or a quiz that changed size: this one is the best.
            row.best_score, row.total, row.best_at = score, total, now
        row.passed = row.passed or passed
    row.full_clean()
    row.save()
    if passed:
        mark_lesson_done(user=user, lesson=lesson)
    return row


def submit_quiz(
    *,
    user: AbstractBaseUser | AnonymousUser,
    lesson: Lesson,
    answers: object,
    lang: str,
) -> QuizOutcome:
    """Grade ``answers`` against the lesson's quiz; store the score for a student."""
    quiz = quizzes.read_quiz(quizzes.QUIZZES_DIR, lesson.slug)
    if quiz is None:
        raise quizzes.InvalidAnswers(_("This lesson has no quiz."))
    grade = quizzes.grade(quiz, answers, lang)
    if not user.is_authenticated:
        return QuizOutcome(grade, saved=False, best_score=None)
    row = record_quiz_score(
        user=user,
        lesson=lesson,
        score=grade.score,
        total=grade.total,
        passed=grade.passed,
    )
    return QuizOutcome(grade, saved=True, best_score=row.best_score)


# --- Widget inputs -----------------------------------------------------------------


class UnknownSample(BadInput):
    """The widget asked for a sample photo that does not exist."""


def get_sample(key: str) -> LessonSample:
    try:
        return LESSON_SAMPLES[key]
    except KeyError:
        raise UnknownSample(
            _("Unknown sample %(key)r; choose one of: %(keys)s.")
            % {"key": key, "keys": ", ".join(LESSON_SAMPLES)}
        ) from None


def load_sample_rgb(key: str) -> np.ndarray:
    """The sample photo as an ``H x W x 3`` uint8 RGB array (files are <= 512 px)."""
    sample = get_sample(key)
    path = finders.find(sample.static_path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path else None
    if image is None:
        raise ServiceUnavailable(
            _("The sample photo %(key)s is missing.") % {"key": key}
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def shrink(rgb: np.ndarray, side: int = WIDGET_IMAGE_SIDE) -> np.ndarray:
    """Scale down so the longest side is at most ``side`` (never up)."""
    scale = side / max(rgb.shape[:2])
    if scale >= 1:
        return rgb
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def decode_upload(data: bytes) -> np.ndarray:
    """Validate an uploaded photo (same limits as the person demo) and shrink it."""
    return shrink(decode_image(data, image_limits()).rgb)


def png_data_url(image: np.ndarray) -> str:
    rgb = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    return "data:image/png;base64," + base64.b64encode(encode_png(rgb)).decode()


# --- Lesson 1: kernel playground -------------------------------------------------


@dataclass(frozen=True)
class KernelResult:
    input_url: str
    output_url: str
    width: int
    height: int
    kernel: list[list[float]]
    kernel_sum: float
    response_min: float
    response_max: float
    negative_share: float  # share of outputs below 0 (black in "clip" mode)


def run_kernel(
    *, rgb: np.ndarray, kernel: np.ndarray, mode: str, grey: bool
) -> KernelResult:
    """Filter a photo with one kernel, exactly as ``cv2.filter2D`` would."""
    image = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if grey else rgb
    response = playgrounds.correlate(image, kernel)
    output = playgrounds.apply_kernel(image, kernel, mode=mode)
    return KernelResult(
        input_url=png_data_url(image),
        output_url=png_data_url(output),
        width=int(image.shape[1]),
        height=int(image.shape[0]),
        kernel=[[round(float(v), 6) for v in row] for row in kernel],
        kernel_sum=round(float(kernel.sum()), 6),
        response_min=round(float(response.min()), 2),
        response_max=round(float(response.max()), 2),
        negative_share=round(float((response < -0.5).mean()), 4),
    )


# --- Lesson 2: output size ----------------------------------------------------------

ANIMATION_MAX_SIDE = 16  # larger inputs are animated on a 12x12 stand-in
ANIMATION_STAND_IN = 12


@dataclass(frozen=True)
class OutputSizeReport:
    n: int
    k: int
    stride: int
    padding: int
    dilation: int
    in_channels: int
    out_channels: int
    out: int
    span: int  # input pixels one dilated kernel covers
    params: int
    weights: int
    biases: int
    mult_adds: int
    flops: int
    guess: int | None
    is_guess_right: bool | None
    animation_n: int
    animation_out: int | None


def output_size_report(
    *,
    n: int,
    k: int,
    stride: int,
    padding: int,
    dilation: int,
    in_channels: int,
    out_channels: int,
    guess: int | None = None,
) -> OutputSizeReport:
    """Output size, parameters and multiply-adds of one square ``nn.Conv2d``."""
    out = playgrounds.conv_output_size(n, k, stride, padding, dilation)
    cost = playgrounds.conv_cost(in_channels, out_channels, k, out, out)
    animation_n = n if n <= ANIMATION_MAX_SIDE else ANIMATION_STAND_IN
    try:
        animation_out = playgrounds.conv_output_size(
            animation_n, k, stride, padding, dilation
        )
    except playgrounds.InvalidLayerShape:
        animation_out = None  # the stand-in grid is too small for this kernel
    return OutputSizeReport(
        n=n,
        k=k,
        stride=stride,
        padding=padding,
        dilation=dilation,
        in_channels=in_channels,
        out_channels=out_channels,
        out=out,
        span=dilation * (k - 1) + 1,
        params=cost.params,
        weights=cost.weights,
        biases=cost.biases,
        mult_adds=cost.mult_adds,
        flops=cost.flops,
        guess=guess,
        is_guess_right=None if guess is None else guess == out,
        animation_n=animation_n,
        animation_out=animation_out,
    )


# --- Lesson 3: pooling ---------------------------------------------------------

FEATURE_MAP_SIDE = 96


@dataclass(frozen=True)
class PoolingResult:
    sample: str
    size: int
    stride: int
    feature_map: list[list[int]]  # ReLU(Sobel-x) of the shrunk photo, 0..255
    max_pooled: list[list[float]]
    avg_pooled: list[list[float]]


def pooling_demo(*, sample: str, size: int, stride: int) -> PoolingResult:
    """A real feature map of a sample photo, max- and average-pooled."""
    fmap = playgrounds.edge_feature_map(load_sample_rgb(sample), FEATURE_MAP_SIDE)
    max_pooled = playgrounds.pool(fmap, "max", size, stride)
    avg_pooled = playgrounds.pool(fmap, "avg", size, stride)
    return PoolingResult(
        sample=sample,
        size=size,
        stride=stride,
        feature_map=fmap.astype(int).tolist(),
        max_pooled=max_pooled.astype(int).tolist(),
        avg_pooled=[[round(float(v), 1) for v in row] for row in avg_pooled],
    )


# --- Lesson 10: NMS on real detector boxes -------------------------------------


@dataclass(frozen=True)
class NmsDemo:
    sample: str
    image_url: str
    width: int
    height: int
    detector: str  # registry key, or NMS_FALLBACK_NOTE when no detector could run
    note: str  # why the fallback was used; empty otherwise
    iou_threshold: float
    score_threshold: float
    candidates: list[dict]  # {"box": [x1, y1, x2, y2], "score", "view"}
    steps: list[dict]  # {"keep", "compared": [[i, iou]], "suppressed", "remaining"}
    kept: list[int]
    truth: list[list[int]] = field(default_factory=list)  # annotated people


def _detector_candidates(sample: str, rgb: np.ndarray) -> tuple[str, float, list[dict]]:
    """Candidates from the portal's person detector, cached per (sample, detector),
    with the detector's own default score threshold.

    Raises ``ServiceUnavailable`` when no detector can be loaded.
    """
    try:
        from demos.ml.detection.detectors import default_detector_key, get_detector
        from models_store.registry import get_spec
    except ImportError as exc:  # the model store is not installed
        raise ServiceUnavailable(str(exc)) from exc
    key = default_detector_key()
    default = float(
        get_spec(key).meta.get("default_threshold", settings.DEFAULT_SCORE_THRESHOLD)
    )
    cache_key = f"lesson-nms-candidates:{sample}:{key}"
    found = cache.get(cache_key)
    if found is None:
        detector = get_detector(key)
        floor = settings.DETECTION_FLOOR_SCORE

        def detect(view: np.ndarray) -> list[tuple[playgrounds.Box, float]]:
            return [
                ((b.x1, b.y1, b.x2, b.y2), b.score)
                for b in detector.detect(view, floor)
            ]

        found = [
            {"box": list(c.box), "score": round(c.score, 4), "view": c.view}
            for c in playgrounds.candidate_boxes(rgb, detect)
        ]
        cache.set(cache_key, found, 60 * 60 * 24)
    return key, default, found


def _fallback_candidates(sample: LessonSample) -> list[dict]:
    """Made-up duplicates around the annotated people, so the lesson still works."""
    rng = np.random.default_rng(len(sample.key))
    found = []
    for person in sample.people:
        x1, y1, x2, y2 = person
        w, h = x2 - x1, y2 - y1
        for view, score in zip(
            ("original", "mirrored", "zoom-top-left"), (0.9, 0.75, 0.6), strict=True
        ):
            jitter = rng.uniform(-0.08, 0.08, size=4) * (w, h, w, h)
            box = [round(float(v), 1) for v in np.add(person, jitter)]
            found.append(
                {
                    "box": box,
                    "score": round(score - rng.uniform(0, 0.1), 4),
                    "view": view,
                }
            )
    return found


MIN_CANDIDATES = 4


def suggested_score_threshold(scores: list[float], default: float) -> float:
    """The detector's default threshold, lowered in 0.05 steps when fewer than
    ``MIN_CANDIDATES`` boxes pass it (HOG scores small photos low), so the
    lesson always has boxes to suppress."""
    ranked = sorted(scores, reverse=True)
    if not ranked or sum(score >= default for score in ranked) >= MIN_CANDIDATES:
        return default
    pick = ranked[min(len(ranked), 2 * MIN_CANDIDATES) - 1]
    return float(max(0.05, min(default, np.floor(pick / 0.05) * 0.05)))


def nms_demo(
    *, sample: str, iou_threshold: float, score_threshold: float | None = None
) -> NmsDemo:
    """NMS step by step on the person detector's boxes for a sample photo.

    Without ``score_threshold`` the detector's default is used (see
    ``suggested_score_threshold``).
    """
    info = get_sample(sample)
    rgb = load_sample_rgb(sample)
    note = ""
    try:
        detector, default, candidates = _detector_candidates(sample, rgb)
    except (RuntimeError, BadInput) as exc:  # missing/corrupt model, bad setting
        logger.info("NMS lesson without a detector: %s", exc)
        detector, candidates = NMS_FALLBACK_NOTE, _fallback_candidates(info)
        default = settings.DEFAULT_SCORE_THRESHOLD
        note = str(exc)
    if score_threshold is None:
        score_threshold = suggested_score_threshold(
            [c["score"] for c in candidates], default
        )
    score_threshold = round(float(score_threshold), 2)
    shown = [c for c in candidates if c["score"] >= score_threshold]
    shown.sort(key=lambda c: -c["score"])
    steps = playgrounds.nms_steps(
        [c["box"] for c in shown], [c["score"] for c in shown], iou_threshold
    )
    return NmsDemo(
        sample=sample,
        image_url=info.url,
        width=int(rgb.shape[1]),
        height=int(rgb.shape[0]),
        detector=detector,
        note=note,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        candidates=shown,
        steps=[
            {
                "keep": step.keep,
                "compared": [[i, round(value, 3)] for i, value in step.compared],
                "suppressed": list(step.suppressed),
                "remaining": list(step.remaining),
            }
            for step in steps
        ],
        kept=[step.keep for step in steps],
        truth=[list(box) for box in info.people],
    )


# --- Lesson 14: computer-vision tasks and YOLOv1 --------------------------------


def vision_tasks_demo(*, sample: str, yolo: dict) -> dict:
    """One sample photo through each task (from its annotated people) and YOLOv1's
    arithmetic for ``yolo`` (the keyword arguments of ``playgrounds.yolo_report``).

    ``people``: each annotated person's box in photo pixels and, with the photo
    stretched to the square YOLO input, its responsible cell and targets;
    ``localisation``: the index of the largest box (a one-object head's answer).
    """
    info = get_sample(sample)
    rgb = load_sample_rgb(sample)
    height, width = rgb.shape[:2]
    report = playgrounds.yolo_report(**yolo)
    side = report.image_size
    people = []
    for box in info.people:
        x1, y1, x2, y2 = box
        centre = ((x1 + x2) / 2 * side / width, (y1 + y2) / 2 * side / height)
        size = ((x2 - x1) * side / width, (y2 - y1) * side / height)
        target = playgrounds.yolo_report(
            grid=report.grid,
            boxes_per_cell=report.boxes_per_cell,
            classes=report.classes,
            image_size=side,
            centre=(min(centre[0], side - 1e-6), min(centre[1], side - 1e-6)),
            size=size,
        )
        people.append(
            {
                "box": list(box),
                "cell": [target.cell_row, target.cell_col],
                "targets": {
                    key: round(getattr(target, key), 4) for key in ("x", "y", "w", "h")
                },
            }
        )
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in info.people]
    return {
        "sample": sample,
        "image_url": info.url,
        "width": int(width),
        "height": int(height),
        "label": "person",
        "people": people,
        "localisation": int(np.argmax(areas)) if areas else None,
        "yolo": {
            key: (list(value) if isinstance(value, tuple) else value)
            for key, value in asdict(report).items()
        },
    }


# --- Lesson 10: the "every person one by one" exercise -----------------------------

EXERCISE_PROBLEMS = {
    "missing": gettext_lazy("Not printed: this person is missing from your output."),
    "extra": gettext_lazy("The demo has no person with this number."),
    "no-box": gettext_lazy("No box (x1, y1, x2, y2) on this line."),
    "no-crop": gettext_lazy("No crop shape on this line: print crop.shape."),
    "xy-order": gettext_lazy(
        "x and y are swapped: a numpy image is img[y1:y2, x1:x2] (rows first), "
        "and its shape is (height, width, 3)."
    ),
    "int-casts": gettext_lazy(
        "Not whole pixels: round with np.rint and cast with int() before slicing."
    ),
    "clipping": gettext_lazy(
        "Outside the image: clip x to [0, width] and y to [0, height] first "
        "(a negative index counts from the end)."
    ),
    "sort-order": gettext_lazy(
        "This is another person's box: sort left to right by x1 (then y1), as the "
        "demo numbers them."
    ),
    "wrong-box": gettext_lazy("This box is not the demo's box for this person."),
    "crop-size": gettext_lazy(
        "The crop's size is not the box's size (y2 - y1, x2 - x1)."
    ),
    "threshold-low-count": gettext_lazy(
        "You printed fewer people than the demo shows: keep score >= the run's "
        "threshold (at or above, not above)."
    ),
    "threshold-high-count": gettext_lazy(
        "You printed more people than the demo shows: use the same threshold as "
        "the run."
    ),
}


def check_people_exercise(*, run: DemoRun, output: str) -> dict:
    """Hold a student's printout against the run's persons at its threshold."""
    expected = [(d.x1, d.y1, d.x2, d.y2) for d in persons_above(run)]
    report = exercise.check_people(
        exercise.parse_printed_people(output),
        expected,
        width=run.image_width,
        height=run.image_height,
    )
    return {
        "run": str(run.public_id),
        "threshold": run.score_threshold,
        "width": run.image_width,
        "height": run.image_height,
        "passed": report.passed,
        "expected_count": report.expected_count,
        "printed_count": report.printed_count,
        "problems": [
            {"key": key, "text": str(EXERCISE_PROBLEMS[key])} for key in report.problems
        ],
        "people": [
            {
                "number": check.number,
                "ok": check.ok,
                "expected_box": check.expected_box,
                "expected_crop": check.expected_crop,
                "printed_box": check.printed_box,
                "printed_crop": check.printed_crop,
                "problems": [
                    {"key": key, "text": str(EXERCISE_PROBLEMS[key])}
                    for key in check.problems
                ],
            }
            for check in report.people
        ],
    }
