"""Lesson pages under /lessons/ (namespace "lessons") and the lessons API.

The widgets serve their files under /lessons/ too, so their routes
(``demos.widgets.urls``) are included here, in this namespace, before the
``<slug>/`` catch-all of the lesson pages. ``api_urlpatterns`` is mounted under
/api/v1/ by portal/api_urls.py, next to the other areas' own API patterns.
"""

from __future__ import annotations

from django.urls import include, path

from demos.lessons import api as lessons_api
from demos.lessons import views as lesson_views

app_name = "lessons"

urlpatterns: list = [
    path("", include("demos.widgets.urls")),
    path("", lesson_views.lesson_list, name="list"),
    path(
        "exercises/people-one-by-one/",
        lesson_views.people_exercise,
        name="people-exercise",
    ),
    path(
        "exercises/people-one-by-one/worker.js",
        lesson_views.people_exercise_worker,
        name="people-exercise-worker",
    ),
    path(
        "exercises/people-one-by-one/<slug:name>.py",
        lesson_views.people_exercise_module,
        name="people-exercise-module",
    ),
    path("<slug:slug>/", lesson_views.lesson_detail, name="detail"),
    path("<slug:slug>/done/", lesson_views.lesson_done, name="done"),
    path("<slug:slug>/notebook.ipynb", lesson_views.lesson_notebook, name="notebook"),
    path("<slug:slug>/math.css", lesson_views.lesson_math_css, name="math-css"),
]

api_urlpatterns: list = [
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
        "exercises/people-one-by-one/",
        lessons_api.PeopleExerciseApi.as_view(),
        name="exercise-people",
    ),
    path(
        "exercises/people-one-by-one/runs/<uuid:public_id>/",
        lessons_api.PeopleExerciseDataApi.as_view(),
        name="exercise-people-data",
    ),
    path(
        "exercises/people-one-by-one/steps/",
        lessons_api.PeopleExerciseStepApi.as_view(),
        name="exercise-people-step",
    ),
]
