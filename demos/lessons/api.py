"""Lessons API (/api/v1/lessons/...) and the JSON endpoints of the lesson widgets
(/api/v1/playgrounds/...).

Reading lessons, taking a quiz and using the widgets need no account (a teaching
site); marking a lesson done, and keeping a quiz score, do. Bad input raises
``BadInput`` subclasses, which the project's exception handler turns into 400 JSON.
"""

from __future__ import annotations

from dataclasses import asdict

from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.lessons import quizzes
from demos.lessons import selectors as selectors
from demos.lessons import services as services
from demos.ml import playgrounds
from demos.people.selectors import get_demo_run_for_user
from portal.lib.api import BoundedFloatField, BoundedIntegerField, UploadRateThrottle

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


def request_language() -> str:
    return "ko" if (get_language() or "").startswith("ko") else "en"


class LessonQuizApi(APIView):
    """GET → the lesson's questions in the request's language (no answers).
    POST ``{"answers": {"<id>": <choice index or number>}}`` → the grade.

    Grading happens here; a logged-in student's best score is kept and passing
    (``pass_mark`` right answers) marks the lesson done. Anonymous visitors are
    graded too, but nothing is stored (``saved`` is false).
    """

    permission_classes = [AllowAny]

    class QuestionSerializer(serializers.Serializer):
        id = serializers.CharField()
        kind = serializers.ChoiceField(choices=["choice", "number"])
        prompt = serializers.CharField()
        choices = serializers.ListField(child=serializers.CharField())

    class OutputSerializer(serializers.Serializer):
        slug = serializers.SlugField()
        pass_mark = serializers.IntegerField()
        questions = serializers.ListField(child=serializers.DictField())

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
            "feedback": [asdict(item) for item in grade.feedback],
        }
        return Response(self.GradeSerializer(body).data)


# --- Widgets -------------------------------------------------------------------


class SampleField(serializers.ChoiceField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(choices=list(selectors.LESSON_SAMPLES), **kwargs)


class KernelPlaygroundApi(APIView):
    """POST a kernel and a sample name (or an ``image`` upload) → input and output PNGs.

    ``kernel`` is typed text ("0 -1 0; -1 5 -1; 0 -1 0", fractions allowed) or
    ``preset`` names one of the built-in kernels. ``mode`` "clip" matches
    ``cv2.filter2D``; "abs" shows negative responses too.
    """

    permission_classes = [AllowAny]
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        sample = SampleField(required=False)
        image = serializers.ImageField(required=False)
        preset = serializers.ChoiceField(
            choices=list(playgrounds.KERNELS), required=False
        )
        kernel = serializers.CharField(required=False, max_length=2000)
        mode = serializers.ChoiceField(choices=["clip", "abs"], default="clip")
        grey = serializers.BooleanField(default=False)

        def validate(self, attrs: dict) -> dict:
            if not attrs.get("sample") and not attrs.get("image"):
                attrs["sample"] = next(iter(selectors.LESSON_SAMPLES))
            if not attrs.get("kernel") and not attrs.get("preset"):
                raise serializers.ValidationError(
                    {"kernel": "Type a kernel or choose a preset."}
                )
            return attrs

    class OutputSerializer(serializers.Serializer):
        input_url = serializers.CharField()
        output_url = serializers.CharField()
        width = serializers.IntegerField()
        height = serializers.IntegerField()
        kernel = serializers.ListField(child=serializers.ListField())
        kernel_sum = serializers.FloatField()
        response_min = serializers.FloatField()
        response_max = serializers.FloatField()
        negative_share = serializers.FloatField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("kernel"):
            kernel = playgrounds.parse_kernel(values["kernel"])
        else:
            kernel = playgrounds.KERNELS[values["preset"]]
        upload = values.get("image")
        if upload is not None:
            upload.seek(0)
            rgb = services.decode_upload(upload.read())
        else:
            rgb = services.load_sample_rgb(values["sample"])
        result = services.run_kernel(
            rgb=rgb, kernel=kernel, mode=values["mode"], grey=values["grey"]
        )
        return Response(self.OutputSerializer(asdict(result)).data)


class OutputSizeApi(APIView):
    """GET layer settings → output size, parameters, multiply-adds (PyTorch rules)."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        n = BoundedIntegerField(min_value=1, max_value=4096)
        k = BoundedIntegerField(min_value=1, max_value=15)
        stride = BoundedIntegerField(min_value=1, max_value=16, default=1)
        padding = BoundedIntegerField(min_value=0, max_value=32, default=0)
        dilation = BoundedIntegerField(min_value=1, max_value=8, default=1)
        in_channels = BoundedIntegerField(min_value=1, max_value=4096, default=3)
        out_channels = BoundedIntegerField(min_value=1, max_value=4096, default=16)
        guess = BoundedIntegerField(required=False, allow_null=True)

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        report = services.output_size_report(**data.validated_data)
        return Response(asdict(report))


class PoolingApi(APIView):
    """GET a sample → its Sobel-x + ReLU feature map and both pooled versions."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        sample = SampleField(default="cat")
        size = BoundedIntegerField(min_value=2, max_value=4, default=2)
        stride = BoundedIntegerField(min_value=1, max_value=4, required=False)

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = services.pooling_demo(
            sample=values["sample"],
            size=values["size"],
            stride=values.get("stride") or values["size"],
        )
        return Response(asdict(result))


class NmsApi(APIView):
    """GET a sample → candidate person boxes and NMS recorded step by step."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        sample = SampleField(default="cyclists")
        iou_threshold = BoundedFloatField(min_value=0.0, max_value=1.0, default=0.5)
        # Left out: the detector's own default (see suggested_score_threshold).
        score_threshold = BoundedFloatField(
            min_value=0.0, max_value=1.0, required=False
        )

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        result = services.nms_demo(**data.validated_data)
        return Response(asdict(result))


class VisionTasksApi(APIView):
    """GET → a sample photo's people as each task would report them, and YOLOv1's
    output layout, responsible cell, targets and confidence = Pr(object) * IoU."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        sample = serializers.ChoiceField(
            choices=[s.key for s in selectors.lesson_samples(with_people=True)],
            default="cyclists",
        )
        grid = serializers.IntegerField(min_value=1, max_value=32, default=7)
        boxes_per_cell = serializers.IntegerField(min_value=1, max_value=9, default=2)
        classes = serializers.IntegerField(min_value=1, max_value=1000, default=20)
        image_size = serializers.IntegerField(min_value=32, max_value=1024, default=448)
        cx = serializers.FloatField(min_value=0, max_value=1024, default=200)
        cy = serializers.FloatField(min_value=0, max_value=1024, default=150)
        w = serializers.FloatField(min_value=1, max_value=2048, default=100)
        h = serializers.FloatField(min_value=1, max_value=2048, default=80)
        pred_cx = serializers.FloatField(min_value=0, max_value=1024, required=False)
        pred_cy = serializers.FloatField(min_value=0, max_value=1024, required=False)
        pred_w = serializers.FloatField(min_value=1, max_value=2048, required=False)
        pred_h = serializers.FloatField(min_value=1, max_value=2048, required=False)
        class_probability = serializers.FloatField(
            min_value=0, max_value=1, default=0.9
        )

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        yolo = {
            "grid": v["grid"],
            "boxes_per_cell": v["boxes_per_cell"],
            "classes": v["classes"],
            "image_size": v["image_size"],
            "centre": (v["cx"], v["cy"]),
            "size": (v["w"], v["h"]),
            "predicted_centre": (
                v.get("pred_cx", v["cx"] + 16),
                v.get("pred_cy", v["cy"] + 8),
            ),
            "predicted_size": (v.get("pred_w", v["w"]), v.get("pred_h", v["h"])),
            "class_probability": v["class_probability"],
        }
        return Response(services.vision_tasks_demo(sample=v["sample"], yolo=yolo))


class SessionInspectorApi(APIView):
    """GET → the student's own session: cookie flags and masked value, the
    ``django_session`` row's expiry and key names, the user it points to."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        response = Response(selectors.session_facts(request))
        response["Cache-Control"] = "private, no-store"
        return response


class ConvStepsApi(APIView):
    """GET → the notes' convolution worked cell by cell: ``example=single`` (a 5x5
    input and a 3x3 filter) or ``rgb`` (three channels and a bias)."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        example = serializers.ChoiceField(choices=["single", "rgb"], default="single")

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        if data.validated_data["example"] == "rgb":
            image, kernels = playgrounds.STEP_RGB_INPUT, playgrounds.STEP_RGB_KERNELS
            bias = playgrounds.STEP_RGB_BIAS
        else:
            image, kernels = playgrounds.STEP_INPUT[None], playgrounds.STEP_KERNEL[None]
            bias = 0
        output, steps = playgrounds.conv_steps(image, kernels, bias)
        return Response(
            {
                "example": data.validated_data["example"],
                "input": image.tolist(),
                "kernels": kernels.tolist(),
                "bias": bias,
                "output": output.tolist(),
                "steps": [asdict(step) for step in steps],
            }
        )


class PeopleExerciseApi(APIView):
    """POST ``{"run": <uuid>, "output": <what the loop printed>}`` → each printed
    person held against the person demo's crop of the same photo, with the
    classic bug named where they differ. The run must be the student's own."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        run = serializers.UUIDField()
        output = serializers.CharField(max_length=20_000, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = get_demo_run_for_user(request.user, data.validated_data["run"])
        report = services.check_people_exercise(
            run=run, output=data.validated_data["output"]
        )
        return Response(report)
