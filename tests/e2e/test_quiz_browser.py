"""A student answers a lesson quiz in a real browser: wrong first, then right; the
best score is kept, every answer is stored and passing marks the lesson done. A
number typed with a thousands separator is graded. No script or CSP error."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from demos.lessons.quizzes import QUIZZES_DIR, read_quiz
from demos.lessons.services import load_lessons
from demos.models import LessonProgress, QuizAnswer, QuizScore

pytestmark = pytest.mark.e2e


def answer(page, slug: str, *, right: bool) -> None:
    for question in read_quiz(QUIZZES_DIR, slug).questions:
        item = page.locator(f".quiz-question[data-id='{question.id}']")
        if question.kind == "choice":
            wrong = next(c.id for c in question.choices if c.id != question.answer)
            picked = question.answer if right else wrong
            item.locator(f".quiz-choice[data-choice='{picked}'] input").check()
        else:
            value = question.answer if right else question.answer + 100
            item.locator("input[type=text]").fill(f"{value:,}")
    page.click("[data-testid=quiz-submit]")


def test_a_student_fails_then_passes_the_quiz(
    logged_in_page, live_url, transactional_db
) -> None:
    load_lessons()
    page = logged_in_page
    found: list[str] = []
    page.on("pageerror", lambda exc: found.append(str(exc)))
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    total = read_quiz(QUIZZES_DIR, "pooling").total
    page.goto(f"{live_url}/lessons/pooling/")
    expect(page.locator(".quiz-question")).to_have_count(total)
    expect(page.locator(".quiz-prompt pre code").first).to_be_visible()
    answer(page, "pooling", right=False)
    status = page.locator("[data-testid=quiz-status]")
    expect(status).to_contain_text(f"0 of {total} right.")
    expect(page.locator(".quiz-question.wrong")).to_have_count(total)
    answer(page, "pooling", right=True)
    expect(status).to_contain_text(f"{total} of {total} right. Passed")
    expect(page.locator(".quiz-question.right")).to_have_count(total)
    row = QuizScore.objects.get(user__username=page.username, lesson__slug="pooling")
    assert (row.best_score, row.attempts) == (total, 2)
    answers = QuizAnswer.objects.filter(user__username=page.username)
    assert answers.count() == 2 * total
    assert answers.filter(attempt=2, is_correct=True).count() == total
    assert LessonProgress.objects.filter(user__username=page.username).count() == 1
    assert found == []
