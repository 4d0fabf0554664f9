"""A student answers a lesson quiz in a real browser: wrong first, then right; the
best score is kept and passing marks the lesson done. No script or CSP error."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from demos.lessons.quizzes import QUIZZES_DIR, read_quiz
from demos.lessons.services import load_lessons
from demos.models import LessonProgress, QuizScore

pytestmark = pytest.mark.e2e


def answer(page, slug: str, *, right: bool) -> None:
    for question in read_quiz(QUIZZES_DIR, slug).questions:
        item = page.locator(f".quiz-question[data-id='{question.id}']")
        if question.kind == "choice":
            index = question.answer if right else (question.answer + 1) % 2
            item.locator("input[type=radio]").nth(index).check()
        else:
            value = question.answer if right else question.answer + 100
            item.locator("input[type=text]").fill(str(value))
    page.click("[data-testid=quiz-submit]")


def test_a_student_fails_then_passes_the_quiz(
    logged_in_page, live_url, transactional_db
) -> None:
    load_lessons()
    page = logged_in_page
    found: list[str] = []
    page.on("pageerror", lambda exc: found.append(str(exc)))
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_url}/lessons/pooling/")
    expect(page.locator(".quiz-question")).to_have_count(5)
    answer(page, "pooling", right=False)
    status = page.locator("[data-testid=quiz-status]")
    expect(status).to_contain_text("0 of 5 right.")
    expect(page.locator(".quiz-question.wrong")).to_have_count(5)
    answer(page, "pooling", right=True)
    expect(status).to_contain_text("5 of 5 right. Passed")
    expect(page.locator(".quiz-question.right")).to_have_count(5)
    row = QuizScore.objects.get(user__username=page.username, lesson__slug="pooling")
    assert (row.best_score, row.attempts) == (5, 2)
    assert LessonProgress.objects.filter(user__username=page.username).count() == 1
    assert found == []
