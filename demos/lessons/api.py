"""Lessons API (/api/v1/lessons/...) and the JSON endpoints of the lesson widgets
(/api/v1/playgrounds/...).

Reading lessons, taking a quiz and using the widgets need no account (a teaching
site); marking a lesson done, and keeping a quiz score, do. Bad input raises
``BadInput`` subclasses, which the project's exception handler turns into 400 JSON.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict

from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.lessons import exercise_checks, exercise_steps, quizzes
from demos.lessons import selectors as selectors
from demos.lessons import services as services
from demos.people.selectors import get_demo_run_for_user
from portal.lib.api import UploadRateThrottle

# --- Lessons -----------------------------------------------------------------------


class LessonListApi(APIView):
    """GET → the course in order with ``done`` for the student (not paginated)."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        slug = serializers.SlugField()
        title = serializers.CharField()  # in the request's language
        order = serializers.IntegerField()
        done = serializers.BooleanField(source="is_done")

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        lessons = selectors.lessons_with_progress(request.user)
        return Response(self.OutputSerializer(lessons, many=True).data)


class LessonDoneApi(APIView):
    """POST → mark the lesson done; DELETE → unmark. Answer: ``{"slug", "done"}``."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        slug = serializers.SlugField()
        done = serializers.BooleanField()

    def _answer(self, request: Request, slug: str, done: bool) -> Response:
        lesson = selectors.get_lesson(slug)
        services.set_lesson_done(user=request.user, lesson=lesson, done=done)
        return Response(self.OutputSerializer({"slug": lesson.slug, "done": done}).data)

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request: Request, slug: str) -> Response:
        return self._answer(request, slug, True)

    @extend_schema(request=None, responses=OutputSerializer)
    def delete(self, request: Request, slug: str) -> Response:
        return self._answer(request, slug, False)


class QuizChoiceSerializer(serializers.Serializer):
    id = serializers.CharField()  # stable: what POST sends back
    text = serializers.CharField()


class QuizQuestionSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=["choice", "number"])
    prompt = serializers.CharField()
    choices = QuizChoiceSerializer(many=True)


def request_language() -> str:
    return "ko" if (get_language() or "").startswith("ko") else "en"


class LessonQuizApi(APIView):
    """GET → the lesson's questions in the request's language (no answers), each
    choice question's ``choices`` as ``[{"id", "text"}]`` in a new order per GET.
    POST ``{"answers": {"<id>": <choice id or number>}}`` → the grade.

    Grading happens here; a number may be typed as ``67,617``, ``６７６１７`` or
    ``1/4``, and an unreadable answer is reported on its own question (``error``)
    while the others are graded. A logged-in student's best score and every answer
    are kept, and passing (``pass_mark`` right answers) marks the lesson done.
    Anonymous visitors are graded too, but nothing is stored (``saved`` is false).
    """

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        slug = serializers.SlugField()
        pass_mark = serializers.IntegerField()
        questions = QuizQuestionSerializer(many=True)

    class InputSerializer(serializers.Serializer):
        answers = serializers.DictField(child=serializers.JSONField(), allow_empty=True)

        def validate_answers(self, value: dict) -> dict:
            if len(value) > 20 or any(len(key) > 40 for key in value):
                raise serializers.ValidationError("Too many or too long answer ids.")
            return value

    class FeedbackSerializer(serializers.Serializer):
        id = serializers.CharField()
        correct = serializers.BooleanField()
        explanation = serializers.CharField()
        choice_explanation = serializers.CharField(allow_blank=True)
        error = serializers.CharField(allow_blank=True)
        choice = serializers.CharField(allow_blank=True)
        answer_text = serializers.CharField(allow_blank=True)

    class GradeSerializer(serializers.Serializer):
        score = serializers.IntegerField()
        total = serializers.IntegerField()
        passed = serializers.BooleanField()
        pass_mark = serializers.IntegerField()
        saved = serializers.BooleanField()
        best_score = serializers.IntegerField(allow_null=True)
        feedback = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        quiz = selectors.get_quiz(selectors.get_lesson(slug))
        body = {
            "slug": slug,
            "pass_mark": quizzes.pass_mark(quiz.total),
            "questions": quizzes.public_questions(quiz, request_language()),
        }
        return Response(self.OutputSerializer(body).data)

    @extend_schema(request=InputSerializer, responses=GradeSerializer)
    def post(self, request: Request, slug: str) -> Response:
        lesson = selectors.get_lesson(slug)
        selectors.get_quiz(lesson)  # 404 before looking at the answers
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = services.submit_quiz(
            user=request.user,
            lesson=lesson,
            answers=data.validated_data["answers"],
            lang=request_language(),
        )
        grade = outcome.grade
        body = {
            "score": grade.score,
            "total": grade.total,
            "passed": grade.passed,
            "pass_mark": quizzes.pass_mark(grade.total),
            "saved": outcome.saved,
            "best_score": outcome.best_score,
            "feedback": self.FeedbackSerializer(
                [asdict(item) for item in grade.feedback], many=True
            ).data,
        }
        return Response(self.GradeSerializer(body).data)


# --- Widgets -------------------------------------------------------------------


class PeopleExerciseApi(APIView):
    """POST ``{"run": <uuid>, "output": <what the loop printed>}`` → each printed
    person matched by its box to the run's people, the loop or indexing bug named
    where they differ (``diagnosis``: a stable code), in Korean for a Korean
    printout. Every check is stored. The run must be the student's own."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "checks"

    class InputSerializer(serializers.Serializer):
        run = serializers.UUIDField()
        output = serializers.CharField(max_length=20_000, trim_whitespace=False)
        # The loop's code, read with ast (never run) for the bugs it shows.
        code = serializers.CharField(
            max_length=8_000, trim_whitespace=False, required=False, allow_blank=True
        )

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = get_demo_run_for_user(request.user, data.validated_data["run"])
        report = exercise_checks.check_people_exercise(
            user=request.user,
            run=run,
            output=data.validated_data["output"],
            code=data.validated_data.get("code", ""),
        )
        return Response(report)


class PeopleExerciseDataApi(APIView):
    """GET the data the in-browser exercise runs the student's loop on: their own
    run's photo URL (upright, as shown), the detector's raw-like detections (float
    boxes, every COCO-80 class, scores below the threshold, boxes past the edges,
    duplicates; derived from the stored people, ``demos.lessons.raw_boxes``) and
    the demo's own people at the run's threshold. Owner only (404 for anyone
    else, staff included)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, public_id: uuid.UUID) -> Response:
        run = selectors.get_exercise_run_for_user(request.user, public_id)
        return Response(selectors.people_exercise_data(run))


class PeopleExerciseStepApi(APIView):
    """POST ``{"run": <uuid>, "step": "loop", "passed": false, "diagnosis":
    "loop-index-zero"}``: the browser's verdict on one step of the in-browser
    exercise (the student's code ran there, never here), stored as an
    ``ExerciseAttempt``. The run must be the student's own."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "checks"

    class InputSerializer(serializers.Serializer):
        run = serializers.UUIDField()
        step = serializers.ChoiceField(choices=exercise_steps.STEPS)
        passed = serializers.BooleanField()
        diagnosis = serializers.ChoiceField(
            choices=sorted(exercise_checks.STEP_DIAGNOSES),
            required=False,
            allow_blank=True,
        )

    class OutputSerializer(serializers.Serializer):
        step = serializers.CharField()
        passed = serializers.BooleanField()
        diagnosis = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        selectors.get_exercise_run_for_user(request.user, data.validated_data["run"])
        attempt = exercise_checks.record_exercise_step(
            user=request.user,
            step=data.validated_data["step"],
            passed=data.validated_data["passed"],
            diagnosis=data.validated_data.get("diagnosis", ""),
        )
        return Response(self.OutputSerializer(attempt).data, status=201)
