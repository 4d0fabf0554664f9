"""A new student signs up, logs in, sees their profile with their id, and logs out."""

from __future__ import annotations

import re

import pytest

from accounts.models import User

pytestmark = pytest.mark.e2e


def test_student_signs_up_logs_in_sees_profile_and_logs_out(
    browser_page, live_url, transactional_db
) -> None:
    page = browser_page
    page.goto(f"{live_url}/accounts/signup/")
    page.fill("input[name=username]", "minji")
    page.fill("input[name=display_name]", "김민지")
    page.fill("input[name=password1]", "tensor-flow-42x")
    page.fill("input[name=password2]", "tensor-flow-42x")
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{live_url}/")
    assert "김민지" in page.content()

    page.click("[data-testid=logout]")
    page.wait_for_url(f"{live_url}/")
    assert page.locator("[data-testid=logout]").count() == 0

    page.goto(f"{live_url}/accounts/login/")
    page.fill("input[name=username]", "minji")
    page.fill("input[name=password]", "tensor-flow-42x")
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{live_url}/")

    page.goto(f"{live_url}/accounts/profile/")
    user = User.objects.get(username="minji")
    assert page.text_content("[data-testid=user-id]").strip() == str(user.id)
    assert page.text_content("[data-testid=username]").strip() == "minji"

    page.click("[data-testid=lang-ko]")
    page.wait_for_load_state()
    assert "프로필" in page.content()

    page.click("[data-testid=logout]")
    page.goto(f"{live_url}/accounts/profile/")
    assert re.search(r"/accounts/login/\?next=", page.url)
