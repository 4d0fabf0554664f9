"""Reads for the lessons: the course with each student's marks, one lesson, its
neighbours, rendered bodies, and the sample photos the widgets use.

Views, the API and the template tags all read through here, so "done" means the
same everywhere and anonymous visitors simply have nothing done.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import (
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import get_language
from PIL import Image

from demos.common import samples
from demos.lessons import formulas, quizzes, raw_boxes
from demos.lessons.loading import (
    render_markdown,
    split_at_widgets,
    split_code_section,
    split_intro,
)
from demos.models import DemoRun, Lesson, LessonProgress, QuizScore
from demos.people.selectors import (
    get_demo_run_for_user,
    list_demo_runs_for_user,
    persons_above,
)

User = AbstractBaseUser | AnonymousUser
logger = logging.getLogger(__name__)
# KaTeX from package-lock.json (``make install``), run by node to typeset formulas.
KATEX_DIR = settings.BASE_DIR / "node_modules" / "katex"


def lessons_with_progress(user: User) -> QuerySet[Lesson]:
    """The course in order; every lesson carries ``is_done`` for this user and
    ``quiz_best`` / ``quiz_total`` (None before the first attempt)."""
    lessons = Lesson.objects.order_by("order")
    if not user.is_authenticated:
        return lessons.annotate(
            is_done=Exists(LessonProgress.objects.none()),
            quiz_best=Value(None, output_field=IntegerField()),
            quiz_total=Value(None, output_field=IntegerField()),
        )
    done = LessonProgress.objects.filter(user=user, lesson=OuterRef("pk"))
    scores = QuizScore.objects.filter(user=user, lesson=OuterRef("pk"))
    return lessons.annotate(
        is_done=Exists(done),
        quiz_best=Subquery(scores.values("best_score")[:1]),
        quiz_total=Subquery(scores.values("total")[:1]),
    )


def get_lesson(slug: str) -> Lesson:
    """One lesson by slug, or 404."""
    return get_object_or_404(Lesson, slug=slug)


def is_lesson_done(user: User, lesson: Lesson) -> bool:
    if not user.is_authenticated:
        return False
    return LessonProgress.objects.filter(user=user, lesson=lesson).exists()


def quiz_score(user: User, lesson: Lesson) -> QuizScore | None:
    """The student's quiz results for this lesson, if any."""
    if not user.is_authenticated:
        return None
    return QuizScore.objects.filter(user=user, lesson=lesson).first()


def get_quiz(lesson: Lesson) -> quizzes.Quiz:
    """The lesson's quiz (read from ``content/quizzes/<slug>.json``), or 404."""
    quiz = quizzes.read_quiz(quizzes.QUIZZES_DIR, lesson.slug)
    if quiz is None:
        raise Http404("This lesson has no quiz.")
    return quiz


def has_quiz(lesson: Lesson) -> bool:
    return (quizzes.QUIZZES_DIR / f"{lesson.slug}.json").is_file()


def lesson_neighbours(lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
    """The lessons just before and just after this one in course order."""
    previous = Lesson.objects.filter(order__lt=lesson.order).order_by("-order").first()
    following = Lesson.objects.filter(order__gt=lesson.order).order_by("order").first()
    return previous, following


@dataclass(frozen=True)
class ProgressSummary:
    total: int
    done: int
    done_lessons: list[Lesson]
    next_lesson: Lesson | None
    scored_lessons: list[Lesson]  # with ``quiz_best`` / ``quiz_total``

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


def progress_summary(user: User) -> ProgressSummary:
    """How far a student is: counts, the lessons done, the first one not done,
    and the lessons whose quiz they have taken."""
    lessons = list(lessons_with_progress(user))
    done = [lesson for lesson in lessons if lesson.is_done]
    next_lesson = next((lesson for lesson in lessons if not lesson.is_done), None)
    scored = [lesson for lesson in lessons if lesson.quiz_best is not None]
    return ProgressSummary(len(lessons), len(done), done, next_lesson, scored)


@dataclass(frozen=True)
class BodyPart:
    html: str  # a stretch of the lesson text
    widget: str  # the widget placed right after it ("" for none)


@dataclass(frozen=True)
class RenderedBody:
    intro_html: str  # the opening goals (may be empty)
    parts: tuple[BodyPart, ...]  # the lesson text, cut at its widget markers
    code_html: str  # its closing "PyTorch code" section (may be empty)

    @property
    def text_html(self) -> str:
        return "".join(part.html for part in self.parts)

    @property
    def placed_widgets(self) -> list[str]:
        """The widgets the text places itself; none: the page shows the lesson's
        widget above the text."""
        return [part.widget for part in self.parts if part.widget]

    @property
    def has_math(self) -> bool:
        return 'class="katex"' in self.intro_html + self.text_html + self.code_html


def typeset_formulas(
    markdown_text: str,
) -> tuple[dict[formulas.Formula, str], dict[str, str]]:
    """KaTeX markup for every formula of ``markdown_text``, its inline styles moved
    into classes, and those classes' styles (served by ``lessons:math-css``).

    Without KaTeX (not installed, node missing) the formulas show as their TeX.
    """
    found = formulas.extract(markdown_text)[1]
    if not found:
        return {}, {}
    try:
        typeset = formulas.render(found, katex=KATEX_DIR)
    except formulas.MathError as exc:
        logger.warning("Lesson formulas shown as TeX source: %s", exc)
        return {}, {}
    markup: dict[formulas.Formula, str] = {}
    styles: dict[str, str] = {}
    for formula, html in typeset.items():
        markup[formula], more = formulas.styles_to_classes(html)
        styles.update(more)
    return markup, styles


def rendered_body(lesson: Lesson) -> RenderedBody:
    """The lesson's body in the active language as safe HTML, cached until edited."""
    lang = "ko" if (get_language() or "").startswith("ko") else "en"
    key = f"lesson-html:v3:{lesson.pk}:{lang}:{lesson.updated.timestamp()}"
    cached = cache.get(key)
    if cached is None:
        typeset, _ = typeset_formulas(lesson.body)
        complete = len(typeset) == len(set(formulas.extract(lesson.body)[1]))
        text, code = split_code_section(lesson.body)
        intro, text = split_intro(text)
        cached = RenderedBody(
            render_markdown(intro, typeset) if intro.strip() else "",
            tuple(
                BodyPart(render_markdown(part, typeset), widget)
                for part, widget in split_at_widgets(text)
            ),
            render_markdown(code, typeset) if code else "",
        )
        if complete:  # TeX shown as code (KaTeX missing) is not kept for a day
            cache.set(key, cached, 60 * 60 * 24)
    return cached


def math_stylesheet(lesson: Lesson) -> str:
    """The CSS for the KaTeX markup of both languages of ``lesson`` (the page's
    Content-Security-Policy allows no inline style), cached until edited."""
    key = f"lesson-math-css:v1:{lesson.pk}:{lesson.updated.timestamp()}"
    css = cache.get(key)
    if css is None:
        _, styles = typeset_formulas(lesson.body_en + "\n\n" + lesson.body_ko)
        css = formulas.stylesheet(styles)
        if styles or "$" not in lesson.body_en + lesson.body_ko:
            cache.set(key, css, 60 * 60 * 24)
    return css


# The shipped sample photos live in one catalogue (demos/common/samples.py).


PROGRESS_CSV_HEADER = (
    "username",
    "lesson_order",
    "lesson",
    "done",
    "done_at",
    "quiz_best",
    "quiz_total",
    "quiz_attempts",
    "quiz_passed",
    "quiz_best_at",
)


def progress_rows(user_ids: Iterable[int]) -> list[tuple[object, ...]]:
    """Every lesson for each of these students: done (and when) and quiz results.

    One row per (student, lesson), ordered by username then lesson, for the
    instructors' CSV export; cells are empty where there is nothing yet.
    """
    users = get_user_model().objects.filter(pk__in=set(user_ids)).order_by("username")
    lessons = list(Lesson.objects.order_by("order"))
    done = {
        (row.user_id, row.lesson_id): row
        for row in LessonProgress.objects.filter(user__in=users)
    }
    scores = {
        (row.user_id, row.lesson_id): row
        for row in QuizScore.objects.filter(user__in=users)
    }
    rows: list[tuple[object, ...]] = []
    for user in users:
        for lesson in lessons:
            mark = done.get((user.pk, lesson.pk))
            score = scores.get((user.pk, lesson.pk))
            rows.append(
                (
                    user.get_username(),
                    lesson.order,
                    lesson.slug,
                    "yes" if mark else "no",
                    mark.completed_at.isoformat() if mark else "",
                    score.best_score if score else "",
                    score.total if score else "",
                    score.attempts if score else "",
                    ("yes" if score.passed else "no") if score else "",
                    score.best_at.isoformat() if score else "",
                )
            )
    return rows


# --- Lesson 15: the student's own session ------------------------------------------


# --- The "people one by one" exercise -----------------------------------------


def get_exercise_run_for_user(
    user: AbstractBaseUser | AnonymousUser, public_id: uuid.UUID | str
) -> DemoRun:
    """The student's **own** person-demo run (staff included: the exercise runs a
    student's code on their own photo), else ``Http404``."""
    run = get_demo_run_for_user(user, public_id)
    if run.owner_id != getattr(user, "pk", None):
        raise Http404("No such run.")
    return run


def _exercise_photo(
    stored: list[raw_boxes.StoredPerson],
    *,
    width: int,
    height: int,
    threshold: float,
    seed: str,
) -> dict:
    raw = raw_boxes.raw_detections(
        stored, width=width, height=height, threshold=threshold, seed=seed
    )
    return {
        "width": width,
        "height": height,
        "threshold": threshold,
        "derived": True,
        "detections": [d.as_dict() for d in raw],
    }


def people_exercise_data(run: DemoRun) -> dict:
    """The photo (upright, as the demo shows it), the raw-like detections derived
    from the run's stored people (``demos.lessons.raw_boxes``) and the demo's own
    people at the run's threshold (the crops the student's loop should produce);
    under ``other``, the same for the last step's second photo
    (``another_photo_data``)."""
    return {
        "run": str(run.public_id),
        "detector": run.detector,
        **people_exercise_data_single(run),
        "other": another_photo_data(run),
    }


SAMPLE_SCORE = 0.9  # an annotated person in a sample: surely a person
SAMPLE_THRESHOLD = 0.5


def another_photo_data(run: DemoRun) -> dict:
    """The last step's second photo: the student's newest other run with someone
    in it, else a shipped sample with annotated people; its raw-like boxes and its
    people (``crop_url`` null for a sample: the page cuts them from the photo)."""
    other = (
        list_demo_runs_for_user(run.owner)
        .exclude(pk=run.pk)
        .filter(shown_count__gt=0)
        .first()
    )
    if other is not None:
        body = people_exercise_data_single(other)
        return body | {"source": "run", "title": other.original_name or other.detector}
    sample = samples.all_samples(with_people=True)[0]
    with Image.open(io.BytesIO(samples.sample_bytes(sample.key))) as image:
        width, height = image.size
    stored = [
        raw_boxes.StoredPerson(box=box, score=round(SAMPLE_SCORE - 0.02 * i, 2))
        for i, box in enumerate(sample.people)
    ]
    body = _exercise_photo(
        stored,
        width=width,
        height=height,
        threshold=SAMPLE_THRESHOLD,
        seed=f"sample:{sample.key}",
    )
    people = sorted(stored, key=lambda p: p.box)
    return body | {
        "source": "sample",
        "title": str(sample.title),
        "image_url": sample.url,
        "demo_people": [
            {"number": n, "box": list(p.box), "score": p.score, "crop_url": None}
            for n, p in enumerate(people, start=1)
        ],
    }


def people_exercise_data_single(run: DemoRun) -> dict:
    """``people_exercise_data`` without ``other`` (the second photo's own data)."""
    stored = [
        raw_boxes.StoredPerson(box=(d.x1, d.y1, d.x2, d.y2), score=d.score)
        for d in run.detections.order_by("rank")
    ]
    return {
        "image_url": reverse("demos:people-image", kwargs={"public_id": run.public_id}),
        **_exercise_photo(
            stored,
            width=run.image_width,
            height=run.image_height,
            threshold=run.score_threshold,
            seed=str(run.public_id),
        ),
        "demo_people": [
            {
                "number": number,
                "box": d.box,
                "score": round(d.score, 4),
                "crop_url": reverse(
                    "demos:people-crop",
                    kwargs={"public_id": run.public_id, "rank": d.rank},
                ),
            }
            for number, d in enumerate(persons_above(run), start=1)
        ],
    }


def exercise_runs_for_user(user: AbstractBaseUser) -> list[DemoRun]:
    """The student's own runs to pick from, newest first, with ``shown_count``."""
    return list(list_demo_runs_for_user(user)[:20])
