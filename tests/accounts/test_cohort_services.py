"""Classes: creating one, joining with its code, adding students by name or CSV."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import JOIN_CODE_ALPHABET, CohortMembership
from tests.factories import make_cohort, make_user

pytestmark = pytest.mark.django_db


def test_a_new_class_has_a_short_unambiguous_join_code_and_its_instructor(
    staff_user,
) -> None:
    cohort = services.create_cohort(instructor=staff_user, name=" CNN 1기 ", term="봄")
    assert cohort.name == "CNN 1기"
    assert len(cohort.join_code) == 6
    assert set(cohort.join_code) <= set(JOIN_CODE_ALPHABET)
    assert not set(cohort.join_code) & set("0O1IL")
    assert list(cohort.instructors.all()) == [staff_user]
    assert cohort.time_zone == "Asia/Seoul"


def test_join_codes_differ_between_classes(staff_user) -> None:
    codes = {
        services.create_cohort(instructor=staff_user, name=f"c{i}").join_code
        for i in range(20)
    }
    assert len(codes) == 20


def test_an_unknown_time_zone_is_refused_and_nothing_is_saved(staff_user) -> None:
    with pytest.raises(services.InvalidTimeZone, match="Mars/Olympus"):
        services.create_cohort(
            instructor=staff_user, name="x", time_zone="Mars/Olympus"
        )
    assert not staff_user.taught_cohorts.exists()


def test_a_student_joins_with_the_code_typed_loosely(user) -> None:
    cohort = make_cohort()
    code = cohort.join_code
    loose = f" {code[:3].lower()}-{code[3:]} "
    joined, created = services.join_cohort_with_code(student=user, code=loose)
    assert (joined, created) == (cohort, True)
    assert list(cohort.students.all()) == [user]
    membership = CohortMembership.objects.get(cohort=cohort, student=user)
    assert membership.added_by is None


def test_joining_twice_keeps_one_membership(user) -> None:
    cohort = make_cohort()
    services.join_cohort_with_code(student=user, code=cohort.join_code)
    _cohort, created = services.join_cohort_with_code(
        student=user, code=cohort.join_code
    )
    assert created is False
    assert CohortMembership.objects.filter(student=user).count() == 1


def test_a_wrong_code_says_so(user) -> None:
    make_cohort()
    with pytest.raises(services.InvalidJoinCode, match="ZZZZZZ"):
        services.join_cohort_with_code(student=user, code="ZZZZZZ")


def test_a_student_may_be_in_several_classes(user, staff_user) -> None:
    first = make_cohort(instructor=staff_user, name="A")
    second = make_cohort(instructor=staff_user, name="B")
    services.join_cohort_with_code(student=user, code=first.join_code)
    services.join_cohort_with_code(student=user, code=second.join_code)
    assert set(user.cohorts.values_list("name", flat=True)) == {"A", "B"}


def test_csv_adds_by_username_or_email_and_reports_unknown_rows(staff_user) -> None:
    cohort = make_cohort(instructor=staff_user)
    alice = make_user(username="alice", email="alice@example.com")
    bob = make_user(username="bob", email="Bob@Example.com")
    services.add_student(cohort=cohort, student=alice)
    text = "username\nalice\nBOB@example.com,Bob Lee\n\nnobody\nghost@example.com\n"
    report = services.add_students_from_csv(
        cohort=cohort, text=text, added_by=staff_user
    )
    assert report.added == ["bob"]
    assert report.already == ["alice"]
    assert report.unknown == [(5, "nobody"), (6, "ghost@example.com")]
    assert set(cohort.students.all()) == {alice, bob}
    assert CohortMembership.objects.get(student=bob).added_by == staff_user


def test_an_email_shared_by_two_users_is_reported_not_guessed(staff_user) -> None:
    cohort = make_cohort(instructor=staff_user)
    make_user(username="a1", email="same@example.com")
    make_user(username="a2", email="same@example.com")
    report = services.add_students_from_csv(
        cohort=cohort, text="same@example.com", added_by=staff_user
    )
    assert report.unknown == [(1, "same@example.com")]
    assert not cohort.students.exists()


def test_too_many_rows_are_refused_before_adding_anyone(staff_user) -> None:
    cohort = make_cohort(instructor=staff_user)
    text = "\n".join(f"user{i}" for i in range(services.MAX_CSV_ROWS + 1))
    with pytest.raises(services.TranslatedBadInput):
        services.add_students_from_csv(cohort=cohort, text=text, added_by=staff_user)


def test_this_week_lesson_is_kept_and_cleared(staff_user) -> None:
    cohort = make_cohort(instructor=staff_user)
    services.set_this_week_lesson(cohort=cohort, slug="pooling")
    cohort.refresh_from_db()
    assert cohort.this_week_lesson == "pooling"
    services.set_this_week_lesson(cohort=cohort, slug="")
    cohort.refresh_from_db()
    assert cohort.this_week_lesson == ""


def test_the_admin_cannot_save_an_unknown_time_zone(staff_user) -> None:
    from django.core.exceptions import ValidationError

    cohort = make_cohort(instructor=staff_user)
    cohort.time_zone = "Asia/Nowhere"
    with pytest.raises(ValidationError):
        cohort.full_clean()


def test_a_class_uses_the_sites_time_zone_by_default(settings, staff_user) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    assert make_cohort(instructor=staff_user).time_zone == "Europe/Berlin"
