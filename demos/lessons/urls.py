"""Lesson pages under /lessons/ and the lessons/CNN API under /api/v1/.

The CNN visualisations (demos/cnn/urls.py) and the architecture lessons
(demos/architectures/urls.py) contribute their own patterns here; they come first so
the ``<slug>/`` catch-all of the lesson pages never shadows them.
"""

from __future__ import annotations

from django.urls import path

from demos.architectures import urls as arch_urls
from demos.cnn import urls as cnn_urls
from demos.lessons import api as lessons_api
from demos.lessons import views as lesson_views

app_name = "lessons"

urlpatterns: list = [
    *cnn_urls.urlpatterns,
    *arch_urls.urlpatterns,
    path("", lesson_views.lesson_list, name="list"),
    path("<slug:slug>/", lesson_views.lesson_detail, name="detail"),
    path("<slug:slug>/done/", lesson_views.lesson_done, name="done"),
]

api_urlpatterns: list = [
    *cnn_urls.api_urlpatterns,
    *arch_urls.api_urlpatterns,
    path("lessons/", lessons_api.LessonListApi.as_view(), name="lesson-list"),
    path(
        "lessons/<slug:slug>/done/",
        lessons_api.LessonDoneApi.as_view(),
        name="lesson-done",
    ),
    path(
        "lessons/<slug:slug>/quiz/",
        lessons_api.LessonQuizApi.as_view(),
        name="lesson-quiz",
    ),
    path(
        "playgrounds/kernel/",
        lessons_api.KernelPlaygroundApi.as_view(),
        name="playground-kernel",
    ),
    path(
        "playgrounds/output-size/",
        lessons_api.OutputSizeApi.as_view(),
        name="playground-output-size",
    ),
    path(
        "playgrounds/pooling/",
        lessons_api.PoolingApi.as_view(),
        name="playground-pooling",
    ),
    path("playgrounds/nms/", lessons_api.NmsApi.as_view(), name="playground-nms"),
    path(
        "playgrounds/conv-steps/",
        lessons_api.ConvStepsApi.as_view(),
        name="playground-conv-steps",
    ),
    path(
        "session/", lessons_api.SessionInspectorApi.as_view(), name="session-inspector"
    ),
    path(
        "exercises/people-one-by-one/",
        lessons_api.PeopleExerciseApi.as_view(),
        name="exercise-people",
    ),
    path(
        "playgrounds/vision-tasks/",
        lessons_api.VisionTasksApi.as_view(),
        name="playground-vision-tasks",
    ),
]
