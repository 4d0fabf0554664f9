"""Rows of the person demo (a run and its detections) and of the lessons.

Files belonging to a run live under ``MEDIA_ROOT/runs/<owner id>/<public id>/``;
the paths stored here are relative to ``MEDIA_ROOT`` and are only ever served
through views that check ownership.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class DemoRun(models.Model):
    """One photo run through one person detector."""

    public_id = models.UUIDField(
        _("public ID"), default=uuid.uuid4, unique=True, editable=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="demo_runs",
        verbose_name=_("owner"),
    )
    detector = models.CharField(_("detector"), max_length=64)
    score_threshold = models.FloatField(_("score threshold"))
    original_name = models.CharField(
        _("uploaded file name"), max_length=120, blank=True
    )
    image_path = models.CharField(_("photo file"), max_length=255)
    thumbnail_path = models.CharField(_("thumbnail file"), max_length=255)
    image_sha256 = models.CharField(_("photo SHA-256"), max_length=64)
    image_width = models.PositiveIntegerField(_("width (px)"))
    image_height = models.PositiveIntegerField(_("height (px)"))
    elapsed_ms = models.FloatField(_("detector time (ms)"))
    # Bytes of the stored photo and thumbnail: counted against the owner's quota.
    stored_bytes = models.PositiveBigIntegerField(_("stored bytes"), default=0)
    # The doubt range of detectors calibrated for it (null for the others): people
    # the detector is sure of, and how many there may be with the unsure boxes.
    count_low = models.PositiveIntegerField(_("sure count"), null=True, blank=True)
    count_high = models.PositiveIntegerField(
        _("count with the unsure"), null=True, blank=True
    )
    # The student's own boxes ([[x1, y1, x2, y2], ...], photo pixels): the people
    # really there. Null until corrected; the detections themselves stay.
    truth_boxes = models.JSONField(_("corrected boxes"), null=True, blank=True)
    compared_with = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("compared with"),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("person-demo run")
        verbose_name_plural = _("person-demo runs")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score_threshold__gte=0)
                & models.Q(score_threshold__lte=1),
                name="demorun_threshold_0_1",
            )
        ]

    def __str__(self) -> str:
        return f"{self.detector} run {self.public_id}"

    @property
    def unsure_count(self) -> int | None:
        """How many more people there may be beyond the sure count (None: no range)."""
        if self.count_low is None or self.count_high is None:
            return None
        return self.count_high - self.count_low

    @property
    def folder(self) -> str:
        return f"runs/{self.owner_id}/{self.public_id}"


class Detection(models.Model):
    """One person box of a run, kept down to the floor score so the threshold can move.

    ``rank`` is the box's place among all stored boxes of the run, left to right
    (1-based); its crop is cut from the run's photo when asked for, by that rank.
    """

    run = models.ForeignKey(
        DemoRun,
        on_delete=models.CASCADE,
        related_name="detections",
        verbose_name=_("run"),
    )
    rank = models.PositiveIntegerField(_("number"))
    x1 = models.PositiveIntegerField(_("left (px)"))
    y1 = models.PositiveIntegerField(_("top (px)"))
    x2 = models.PositiveIntegerField(_("right (px)"))
    y2 = models.PositiveIntegerField(_("bottom (px)"))
    score = models.FloatField(_("score"))
    is_unsure = models.BooleanField(
        _("unsure"),
        default=False,
        help_text=_("Scored between the detector's maybe and sure cut-offs."),
    )

    class Meta:
        ordering = ["run", "rank"]
        verbose_name = _("detected person")
        verbose_name_plural = _("detected persons")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "rank"], name="detection_unique_rank"
            ),
            models.CheckConstraint(
                condition=models.Q(x2__gt=models.F("x1"))
                & models.Q(y2__gt=models.F("y1")),
                name="detection_box_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} ({self.score:.2f})"

    @property
    def box(self) -> list[int]:
        return [self.x1, self.y1, self.x2, self.y2]

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1

    @property
    def crop_name(self) -> str:
        """The crop's file name everywhere (download, ZIP, manifest): by its number."""
        return f"person_{self.rank:02d}.jpg"


class Lesson(models.Model):
    """One lesson of the course; text in Korean and English (Markdown)."""

    slug = models.SlugField(_("address name"), unique=True)
    order = models.PositiveIntegerField(_("order"), unique=True)
    title_en = models.CharField(_("title (English)"), max_length=120)
    title_ko = models.CharField(_("title (Korean)"), max_length=120)
    summary_en = models.CharField(_("summary (English)"), max_length=255, blank=True)
    summary_ko = models.CharField(_("summary (Korean)"), max_length=255, blank=True)
    body_en = models.TextField(_("text (English, Markdown)"))
    body_ko = models.TextField(_("text (Korean, Markdown)"))
    widget = models.CharField(
        _("live widget"),
        max_length=40,
        blank=True,
        help_text=_("Which interactive element the lesson page shows."),
    )
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["order"]
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")

    def __str__(self) -> str:
        return f"{self.order}. {self.title_en}"

    @property
    def title(self) -> str:
        return (
            self.title_ko if (get_language() or "").startswith("ko") else self.title_en
        )

    @property
    def summary(self) -> str:
        return (
            self.summary_ko
            if (get_language() or "").startswith("ko")
            else self.summary_en
        )

    @property
    def body(self) -> str:
        return self.body_ko if (get_language() or "").startswith("ko") else self.body_en


class LessonProgress(models.Model):
    """A student marked a lesson done."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="lesson_progress",
        verbose_name=_("student"),
    )
    lesson = models.ForeignKey(
        Lesson,
        on_delete=models.CASCADE,
        related_name="progress",
        verbose_name=_("lesson"),
    )
    completed_at = models.DateTimeField(_("completed"), auto_now_add=True)

    class Meta:
        # Without a plural Django appends an "s": "Lesson progresss".
        verbose_name = _("lesson completion")
        verbose_name_plural = _("lesson completions")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "lesson"], name="progress_once_per_lesson"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ✓ {self.lesson.slug}"


class QuizScore(models.Model):
    """A student's quiz results for one lesson: the best score and how often tried."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="quiz_scores",
        verbose_name=_("student"),
    )
    lesson = models.ForeignKey(
        Lesson,
        on_delete=models.CASCADE,
        related_name="quiz_scores",
        verbose_name=_("lesson"),
    )
    best_score = models.PositiveSmallIntegerField(_("best score"))
    last_score = models.PositiveSmallIntegerField(_("last score"))
    total = models.PositiveSmallIntegerField(_("questions"))
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    passed = models.BooleanField(_("passed"), default=False)
    first_at = models.DateTimeField(_("first tried"), auto_now_add=True)
    best_at = models.DateTimeField(_("best score on"))

    class Meta:
        verbose_name = _("quiz score")
        verbose_name_plural = _("quiz scores")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "lesson"], name="quiz_score_once_per_lesson"
            ),
            models.CheckConstraint(
                condition=models.Q(best_score__lte=models.F("total")),
                name="quiz_best_score_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.lesson.slug} {self.best_score}/{self.total}"


class WorkState(models.TextChoices):
    """Where a piece of background work stands: a detection job or a training run."""

    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class DetectionJob(models.Model):
    """One uploaded photo waiting for, or processed by, a worker (issue 6).

    The upload sits under ``MEDIA_ROOT/jobs/<owner id>/<public id>/upload``
    (private) until the job is done or failed. ``run`` is set in the same
    transaction that stores the run, and is one-to-one: a retried task can
    never attach a second run to the same job.
    """

    State = WorkState

    public_id = models.UUIDField(
        _("public ID"), default=uuid.uuid4, unique=True, editable=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="detection_jobs",
        verbose_name=_("owner"),
    )
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=State.choices,
        default=State.QUEUED,
        db_index=True,
    )
    detail = models.CharField(_("reason"), max_length=500, blank=True)
    detector = models.CharField(_("detector"), max_length=64)
    score_threshold = models.FloatField(_("score threshold"))
    upload_path = models.CharField(_("uploaded file"), max_length=255)
    original_name = models.CharField(
        _("uploaded file name"), max_length=120, blank=True
    )
    # The uploader's language: the worker writes a failure's reason in it.
    language = models.CharField(_("language"), max_length=16, blank=True)
    run = models.OneToOneField(
        DemoRun,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="job",
        verbose_name=_("run"),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    started = models.DateTimeField(_("started"), null=True, blank=True)
    finished = models.DateTimeField(_("finished"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("detection job")
        verbose_name_plural = _("detection jobs")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="job_progress_0_100"
            ),
            models.CheckConstraint(
                condition=models.Q(score_threshold__gte=0)
                & models.Q(score_threshold__lte=1),
                name="job_threshold_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.detector} job {self.public_id} ({self.state})"

    @property
    def folder(self) -> str:
        return f"jobs/{self.owner_id}/{self.public_id}"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)


class TrainingRun(models.Model):
    """One run of the training lesson's widget: a small MLP trained on a digits
    subset in a background thread; the curves grow while it runs."""

    State = WorkState

    public_id = models.UUIDField(
        _("public id"), default=uuid.uuid4, unique=True, editable=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="training_runs",
        verbose_name=_("student"),
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.QUEUED
    )
    options = models.JSONField(_("settings"))
    # One dict per epoch.
    curves = models.JSONField(_("curves"), default=list, blank=True)
    detail = models.CharField(_("reason"), max_length=500, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    started = models.DateTimeField(_("started"), null=True, blank=True)
    finished = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("training run")
        verbose_name_plural = _("training runs")

    def __str__(self) -> str:
        return f"{self.owner} training {self.state}"

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)


class QuizAnswer(models.Model):
    """One answer to one quiz question in one attempt: what the instructor's item
    analysis reads (which question a class fails, with which wrong choice)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="quiz_answers",
        verbose_name=_("student"),
    )
    lesson = models.ForeignKey(
        Lesson,
        on_delete=models.CASCADE,
        related_name="quiz_answers",
        verbose_name=_("lesson"),
    )
    # The student's attempt number for this lesson's quiz (1 for the first).
    attempt = models.PositiveIntegerField(_("attempt"))
    question = models.CharField(_("question"), max_length=32)
    # The stable id of the chosen choice (choice questions), else blank.
    choice = models.CharField(_("chosen choice"), max_length=32, blank=True)
    # What the student typed (number questions), as typed, else blank.
    answer_text = models.CharField(_("typed answer"), max_length=64, blank=True)
    is_correct = models.BooleanField(_("correct"))
    created = models.DateTimeField(_("answered"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("quiz answer")
        verbose_name_plural = _("quiz answers")
        indexes = [models.Index(fields=["lesson", "question"])]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "lesson", "attempt", "question"],
                name="quiz_answer_once_per_attempt",
            ),
        ]

    def __str__(self) -> str:
        mark = "✓" if self.is_correct else "✗"
        return f"{self.user} {self.lesson.slug} #{self.attempt} {self.question} {mark}"


class ExerciseAttempt(models.Model):
    """One checked attempt at a guided exercise step ("people one by one"): passed
    or not, and the bug the checker diagnosed, for the student and the instructor."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="exercise_attempts",
        verbose_name=_("student"),
    )
    exercise = models.CharField(_("exercise"), max_length=64)
    step = models.CharField(_("step"), max_length=32, blank=True)
    passed = models.BooleanField(_("passed"))
    # A stable code of the diagnosed mistake ("loop-index-zero"), blank when none.
    diagnosis = models.CharField(_("diagnosed mistake"), max_length=64, blank=True)
    created = models.DateTimeField(_("tried"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("exercise attempt")
        verbose_name_plural = _("exercise attempts")
        indexes = [models.Index(fields=["exercise", "step"])]

    def __str__(self) -> str:
        mark = "✓" if self.passed else "✗"
        return f"{self.user} {self.exercise}/{self.step} {mark}"


class ClassDataset(models.Model):
    """An ImageFolder ZIP an instructor uploads for a class (the notes' 33-class
    exercise): checked like a student's ZIP, stored under
    ``MEDIA_ROOT/datasets/<public id>/`` with a preview strip per class. Students
    of its class (everyone, without one) may train on it."""

    public_id = models.UUIDField(
        _("public ID"), default=uuid.uuid4, unique=True, editable=False
    )
    name = models.CharField(_("name"), max_length=80)
    description = models.TextField(_("description"), blank=True)
    # Blank: every student sees it. A class with datasets cannot be deleted.
    cohort = models.ForeignKey(
        "accounts.Cohort",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="class_datasets",
        verbose_name=_("class"),
        help_text=_("Only this class's students see it; blank: every student."),
    )
    zip_path = models.CharField(_("ZIP file"), max_length=255, editable=False)
    zip_bytes = models.PositiveBigIntegerField(_("ZIP size (bytes)"), editable=False)
    # [{"name": ..., "count": ...}] in the order of the class indices (sorted).
    classes = models.JSONField(_("classes"), default=list, editable=False)
    image_count = models.PositiveIntegerField(_("images"), editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
        editable=False,
    )
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["name", "-created"]
        verbose_name = _("class dataset")
        verbose_name_plural = _("class datasets")

    def __str__(self) -> str:
        return self.name

    @property
    def folder(self) -> str:
        return f"datasets/{self.public_id}"

    @property
    def class_names(self) -> list[str]:
        return [row["name"] for row in self.classes]


class TransferRun(models.Model):
    """One transfer-learning run: an ImageFolder ZIP, a pretrained CNN with a new
    head, trained in a background thread; the curves grow while it runs and the
    trained part is kept for predictions (files under ``MEDIA_ROOT/transfer/``)."""

    State = WorkState

    public_id = models.UUIDField(
        _("public id"), default=uuid.uuid4, unique=True, editable=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="transfer_runs",
        verbose_name=_("student"),
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.QUEUED
    )
    options = models.JSONField(_("settings"))
    # Where the images came from: an instructor's class dataset, else the run's
    # own dataset.zip (an uploaded ZIP or the student's photos per class).
    class_dataset = models.ForeignKey(
        ClassDataset,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
        verbose_name=_("class dataset"),
    )
    classes = models.JSONField(_("classes"), default=list, blank=True)
    # One dict per epoch: train_loss, val_loss, val_accuracy, lr, seconds.
    curves = models.JSONField(_("curves"), default=list, blank=True)
    # Confusion matrix, wrong validation images, frozen parameters, run time.
    result = models.JSONField(_("result"), default=dict, blank=True)
    detail = models.CharField(_("reason"), max_length=500, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    started = models.DateTimeField(_("started"), null=True, blank=True)
    finished = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("transfer-learning run")
        verbose_name_plural = _("transfer-learning runs")

    def __str__(self) -> str:
        return f"{self.owner} transfer {self.state}"

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)

    @property
    def val_accuracy(self) -> float | None:
        return self.curves[-1]["val_accuracy"] if self.curves else None
