"""Lesson pages: /lessons/, /lessons/<slug>/ and /lessons/<slug>/done/."""

from __future__ import annotations

import pytest
from django.test import Client

from demos.lessons.services import load_lessons, mark_lesson_done
from demos.models import Lesson, LessonProgress

pytestmark = pytest.mark.django_db

COURSE = {
    "convolution": "kernel-playground",
    "stride-padding": "output-size",
    "pooling": "pooling",
    "feature-maps": "feature-maps",
    "draw-a-digit": "draw-digit",
    "activation-batchnorm-dropout": "activations",
    "classic-architectures": "architectures",
    "transfer-learning": "transfer-learning",
    "data-augmentation": "augmentation",
    "object-detection": "iou-nms",
    "autoencoders-tsne": "autoencoder-tsne",
    "training": "training-curves",
    "recurrent-networks": "lstm-gates",
    "vision-tasks": "vision-tasks",
    "how-login-works": "session-inspector",
}
OWN_WIDGETS = {"convolution", "stride-padding", "pooling", "object-detection"}
# Lessons whose text places its widget(s) next to a paragraph ({{ widget: key }}).
PLACED = {
    "convolution",
    "classic-architectures",
    "object-detection",
    "training",
    "recurrent-networks",
    "vision-tasks",
}


@pytest.fixture
def course(db) -> dict[str, Lesson]:
    load_lessons()
    return {lesson.slug: lesson for lesson in Lesson.objects.all()}


def page(client: Client, path: str, lang: str = "en") -> str:
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200, (path, lang, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("slug", list(COURSE))
def test_every_lesson_page_renders_in_both_languages_with_its_widget(
    client: Client, course: dict[str, Lesson], slug: str, lang: str
) -> None:
    lesson = course[slug]
    html = page(client, f"/lessons/{slug}/", lang)
    title = lesson.title_ko if lang == "ko" else lesson.title_en
    assert f'<html lang="{lang}">' in html
    assert title in html
    assert 'data-testid="lesson-widget"' in html
    assert 'data-testid="lesson-code"' in html  # "show the PyTorch code"
    assert "import torch" in html
    if slug in OWN_WIDGETS:
        assert f'data-widget="{COURSE[slug]}"' in html
        assert f"js/widgets/{COURSE[slug]}.js" in html


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("slug", list(COURSE))
def test_every_lesson_opens_with_its_goals_then_the_widget_then_the_text(
    client: Client, course: dict[str, Lesson], slug: str, lang: str
) -> None:
    html = page(client, f"/lessons/{slug}/", lang)
    goals = html.index('data-testid="lesson-goals"')
    widget = html.index('data-testid="lesson-widget"')
    text = html.index('data-testid="lesson-body"')
    if slug in PLACED:  # the widget stands in the text, after its paragraph
        assert goals < text < widget
        widget = text
    else:
        assert goals < widget < text
    opening = html[goals:widget]
    assert ("In this lesson you will" if lang == "en" else "배울 내용") in opening
    assert "<h2>" not in opening  # the first section comes after the widget


def test_korean_text_follows_the_language_cookie_set_by_the_switcher(
    client: Client, course: dict[str, Lesson]
) -> None:
    response = client.post(
        "/i18n/setlang/", {"language": "ko", "next": "/lessons/pooling/"}
    )
    assert response.status_code == 302
    html = page(client, "/lessons/pooling/")
    assert "풀링, 평탄화(Flatten), 완전 연결층" in html
    assert "최대 풀링" in html


def test_lesson_text_is_rendered_markdown_with_tables_and_code(
    client: Client, course: dict[str, Lesson]
) -> None:
    html = page(client, "/lessons/convolution/")
    assert "<table>" in html and "<td>identity</td>" in html
    assert '<code class="language-python">' in html
    assert "<h2>PyTorch code</h2>" in html  # folded under "show the PyTorch code"
    assert "&lt;script" not in html.split('data-testid="lesson-body"')[1][:200]


def test_anonymous_visitors_read_lessons_and_are_asked_to_log_in_to_track(
    client: Client, course: dict[str, Lesson]
) -> None:
    html = page(client, "/lessons/convolution/")
    assert 'data-testid="login-to-track"' in html
    assert "/accounts/login/?next=/lessons/convolution/" in html
    assert 'data-testid="mark-done"' not in html


def test_anonymous_post_to_done_goes_to_login_and_records_nothing(
    client: Client, course: dict[str, Lesson]
) -> None:
    response = client.post("/lessons/convolution/done/", {"done": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/lessons/convolution/"
    assert LessonProgress.objects.count() == 0


def test_marking_done_shows_on_the_page_and_in_the_list(
    logged_in_client: Client, user, course: dict[str, Lesson]
) -> None:
    response = logged_in_client.post("/lessons/pooling/done/", {"done": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/lessons/pooling/"
    assert LessonProgress.objects.filter(user=user, lesson__slug="pooling").exists()
    detail = page(logged_in_client, "/lessons/pooling/")
    assert 'data-testid="lesson-done-badge"' in detail
    assert 'data-testid="mark-undone"' in detail
    listing = page(logged_in_client, "/lessons/")
    assert 'data-testid="done-pooling"' in listing
    assert 'data-testid="todo-convolution"' in listing
    assert "1 of 15 lessons done" in listing


def test_done_form_toggles_back_and_marking_twice_keeps_one_row(
    logged_in_client: Client, user, course: dict[str, Lesson]
) -> None:
    logged_in_client.post("/lessons/pooling/done/", {"done": "1"})
    logged_in_client.post("/lessons/pooling/done/", {"done": "1"})
    assert LessonProgress.objects.filter(user=user).count() == 1
    logged_in_client.post("/lessons/pooling/done/")  # no "done": toggle
    assert LessonProgress.objects.filter(user=user).count() == 0
    logged_in_client.post("/lessons/pooling/done/")
    assert LessonProgress.objects.filter(user=user).count() == 1
    logged_in_client.post("/lessons/pooling/done/", {"done": "0"})
    assert not LessonProgress.objects.filter(user=user).exists()


def test_progress_is_per_user(
    logged_in_client: Client, other_client: Client, user, course: dict[str, Lesson]
) -> None:
    logged_in_client.post("/lessons/convolution/done/", {"done": "1"})
    theirs = page(other_client, "/lessons/")
    assert 'data-testid="todo-convolution"' in theirs
    assert 'data-testid="done-convolution"' not in theirs
    assert "0 of 15 lessons done" in theirs
    other_client.post("/lessons/convolution/done/", {"done": "0"})
    assert LessonProgress.objects.filter(user=user).count() == 1


def test_done_redirects_to_a_safe_next_page_only(
    logged_in_client: Client, course: dict[str, Lesson]
) -> None:
    response = logged_in_client.post(
        "/lessons/pooling/done/", {"done": "1", "next": "/lessons/"}
    )
    assert response["Location"] == "/lessons/"
    response = logged_in_client.post(
        "/lessons/pooling/done/", {"done": "0", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/lessons/pooling/"


def test_done_needs_post_and_a_csrf_token(user, course: dict[str, Lesson]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/lessons/pooling/done/").status_code == 405
    assert client.post("/lessons/pooling/done/", {"done": "1"}).status_code == 403
    assert LessonProgress.objects.count() == 0


def test_unknown_lesson_is_404(client: Client, course: dict[str, Lesson]) -> None:
    assert client.get("/lessons/no-such-lesson/").status_code == 404
    assert client.post("/lessons/no-such-lesson/done/").status_code == 404


def test_pages_link_to_the_previous_and_next_lessons(
    client: Client, course: dict[str, Lesson]
) -> None:
    first = page(client, "/lessons/convolution/")
    assert 'data-testid="previous-lesson"' not in first
    assert 'href="/lessons/stride-padding/" data-testid="next-lesson"' in first
    middle = page(client, "/lessons/pooling/")
    assert 'href="/lessons/stride-padding/" data-testid="previous-lesson"' in middle
    assert 'href="/lessons/feature-maps/" data-testid="next-lesson"' in middle
    last = page(client, "/lessons/how-login-works/")
    assert 'data-testid="next-lesson"' not in last


def test_list_shows_the_course_in_order_in_korean(
    client: Client, course: dict[str, Lesson]
) -> None:
    html = page(client, "/lessons/", "ko")
    positions = [html.index(f'data-testid="lesson-{slug}"') for slug in COURSE]
    assert positions == sorted(positions)
    assert "합성곱(Convolution)" in html
    assert 'data-testid="done-' not in html  # anonymous: no marks


def test_a_widget_not_written_yet_shows_a_placeholder(
    client: Client, course: dict[str, Lesson]
) -> None:
    Lesson.objects.filter(slug="pooling").update(widget="not-built-yet")
    html = page(client, "/lessons/pooling/")
    assert 'data-testid="widget-missing"' in html
    Lesson.objects.filter(slug="pooling").update(widget="../../base")
    html = page(client, "/lessons/pooling/")
    assert 'data-testid="widget-missing"' in html


def test_kernel_playground_offers_presets_and_samples(
    client: Client, course: dict[str, Lesson]
) -> None:
    html = page(client, "/lessons/convolution/")
    for preset in ("identity", "box-blur", "gaussian", "sharpen", "sobel-x"):
        assert f'value="{preset}"' in html
    assert 'data-text="1/9 1/9 1/9' in html
    assert "/static/img/samples/chelsea.jpg" in html
    assert 'data-api="/api/v1/playgrounds/kernel/"' in html


def test_detection_lesson_links_to_the_person_demo(
    client: Client, course: dict[str, Lesson]
) -> None:
    html = page(client, "/lessons/object-detection/")
    assert 'href="/demos/people/"' in html
    assert 'data-api="/api/v1/playgrounds/nms/"' in html
    assert "chelsea" not in html  # only photos with people are offered


def test_profile_lists_the_lessons_done_and_the_next_one(
    logged_in_client: Client, user, course: dict[str, Lesson]
) -> None:
    mark_lesson_done(user=user, lesson=course["convolution"])
    html = page(logged_in_client, "/accounts/profile/")
    box = html.split('data-testid="lesson-progress"')[1]
    assert "1 of 15 lessons done" in box
    assert 'href="/lessons/convolution/"' in box.split('data-testid="lessons-done"')[1]
    assert 'href="/lessons/stride-padding/" data-testid="next-lesson"' in box


def test_staff_see_lessons_in_the_admin_with_a_sanitised_preview(
    staff_user, course: dict[str, Lesson]
) -> None:
    staff_user.is_superuser = True
    staff_user.save()
    client = Client()
    client.force_login(staff_user)
    listing = client.get("/admin/demos/lesson/")
    assert listing.status_code == 200
    assert "object-detection" in listing.content.decode()
    lesson = course["pooling"]
    lesson.body_en += "\n<script>alert('x')</script>\n"
    lesson.save()
    change = client.get(f"/admin/demos/lesson/{lesson.pk}/change/").content.decode()
    preview = change.split('class="lesson-preview"')[1]
    assert "<h2>Why pool at all?</h2>" in preview
    assert "<script>alert" not in preview
    assert client.get("/admin/demos/lessonprogress/").status_code == 200
