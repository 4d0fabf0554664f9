"""Class API for instructors (/api/v1/classes/...): create and list classes, the
progress grid, the quiz item analysis and how good the person detectors are on
the students' own corrected photos.

Staff only (``IsAdminUser``): students get 403, and so does an instructor asking
for another instructor's class (``get_cohort_for_instructor``); superusers see
every class. Students join a class through ``POST /api/v1/classes/join/``
(``accounts.api.ClassJoinApi``).
"""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as class_selectors
from accounts import services as class_services
from demos.teach import detector_quality, selectors


class ClassListCreateApi(APIView):
    """GET → the instructor's classes (every class for a superuser).
    POST ``{"name", "term"?, "time_zone"?}`` → 201 ``{"id", "join_code", ...}``."""

    permission_classes = [IsAdminUser]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=80)
        term = serializers.CharField(max_length=40, required=False, allow_blank=True)
        time_zone = serializers.CharField(
            max_length=64, required=False, allow_blank=True
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="public_id")
        name = serializers.CharField()
        term = serializers.CharField()
        join_code = serializers.CharField()
        time_zone = serializers.CharField()
        this_week_lesson = serializers.CharField()
        student_count = serializers.IntegerField()
        created = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        cohorts = class_selectors.cohorts_for_instructor(request.user)
        return Response(self.OutputSerializer(cohorts, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cohort = class_services.create_cohort(
            instructor=request.user, **data.validated_data
        )
        cohort.student_count = 0
        return Response(
            self.OutputSerializer(cohort).data, status=status.HTTP_201_CREATED
        )


class LessonCellSerializer(serializers.Serializer):
    done = serializers.BooleanField()
    best_score = serializers.IntegerField(allow_null=True)
    total = serializers.IntegerField(allow_null=True)
    attempts = serializers.IntegerField()


class StudentProgressSerializer(serializers.Serializer):
    username = serializers.CharField(source="student.username")
    display_name = serializers.CharField(source="student.display_name")
    lessons = serializers.DictField(child=LessonCellSerializer())
    last_active = serializers.DateTimeField(allow_null=True)
    runs = serializers.IntegerField()
    stuck = serializers.ListField(child=serializers.CharField())


class ClassProgressApi(APIView):
    """GET → every student of the class with each lesson's done / best score /
    attempts (keyed by lesson slug), the last activity, person-demo runs and why
    the student looks stuck ("idle", "quiz", "exercise"; empty if not)."""

    permission_classes = [IsAdminUser]

    class OutputSerializer(serializers.Serializer):
        students = StudentProgressSerializer(many=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, public_id: UUID) -> Response:
        cohort = class_selectors.get_cohort_for_instructor(request.user, public_id)
        grid = selectors.class_grid(cohort)
        students = [
            {
                "student": row.student,
                "lessons": {
                    lesson.slug: cell
                    for lesson, cell in zip(grid.lessons, row.cells, strict=True)
                },
                "last_active": row.last_active,
                "runs": row.runs,
                "stuck": row.stuck,
            }
            for row in grid.rows
        ]
        return Response(self.OutputSerializer({"students": students}).data)


class WrongAnswerSerializer(serializers.Serializer):
    choice = serializers.CharField(allow_blank=True)  # "" for a number question
    text = serializers.CharField(allow_blank=True)
    count = serializers.IntegerField()


class ClassQuizItemsApi(APIView):
    """GET → one row per quiz question the class answered: ``attempts``,
    ``correct_rate`` (0 to 1) and ``top_wrong``, the most frequent wrong answer
    (``choice`` id and its ``text``, or the typed number as ``text``), or null."""

    permission_classes = [IsAdminUser]

    class OutputSerializer(serializers.Serializer):
        lesson = serializers.SlugField(source="lesson.slug")
        question = serializers.CharField()
        prompt = serializers.CharField(allow_blank=True)
        attempts = serializers.IntegerField()
        correct_rate = serializers.FloatField(allow_null=True)
        top_wrong = WrongAnswerSerializer(allow_null=True)

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request, public_id: UUID) -> Response:
        cohort = class_selectors.get_cohort_for_instructor(request.user, public_id)
        items = selectors.quiz_items(cohort)
        return Response(self.OutputSerializer(items, many=True).data)


class ClassDetectorQualityApi(APIView):
    """GET → per person detector, over the runs the class's students corrected
    (drew their own boxes): ``photos``, ``precision`` and ``recall`` (boxes pooled
    over the photos, 0 to 1), ``mean_iou`` of the matched boxes (null when none
    matched), ``mean_count_error`` (people shown vs. people marked) and
    ``range_hit_rate``: how often the shown range held the marked count (null
    when no run showed a range)."""

    permission_classes = [IsAdminUser]

    class OutputSerializer(serializers.Serializer):
        detector = serializers.CharField()
        name = serializers.CharField()
        photos = serializers.IntegerField()
        precision = serializers.FloatField()
        recall = serializers.FloatField()
        mean_iou = serializers.FloatField(allow_null=True)
        mean_count_error = serializers.FloatField()
        photos_with_range = serializers.IntegerField()
        range_hit_rate = serializers.FloatField(allow_null=True)

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request, public_id: UUID) -> Response:
        cohort = class_selectors.get_cohort_for_instructor(request.user, public_id)
        rows = detector_quality.detector_quality(cohort)
        return Response(self.OutputSerializer(rows, many=True).data)
