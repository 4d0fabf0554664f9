"""Lesson pages under /lessons/ and the lessons/CNN API under /api/v1/."""

app_name = "lessons"

urlpatterns: list = []
api_urlpatterns: list = []
