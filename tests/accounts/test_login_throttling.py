"""Admin login throttling (django-axes) and password validators (issue 11, finding 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


def log_in(username: str, password: str, ip: str = "198.51.100.7"):
    client = Client(REMOTE_ADDR=ip)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return response, "_auth_user_id" in client.session


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(username="sam", password="right-horse-battery", is_staff=True)


def test_it_locks_a_username_out_after_the_configured_failures(settings, staff):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        response, logged_in = log_in("sam", "wrong")
        assert response.status_code == 200 and not logged_in
    locked, _ = log_in("sam", "wrong")  # the third failure locks
    assert locked.status_code == 429

    response, logged_in = log_in("sam", "right-horse-battery")
    assert response.status_code == 429 and not logged_in  # even the right password, while locked

    # The lock is per username and address: the same user elsewhere, and others here, may still log in.
    assert log_in("sam", "right-horse-battery", ip="203.0.113.50")[1]
    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=1)):
        assert log_in("sam", "right-horse-battery")[1]


def test_it_forgets_failures_after_a_successful_login(settings, staff):
    settings.AXES_FAILURE_LIMIT = 3
    log_in("sam", "wrong")
    log_in("sam", "wrong")
    assert log_in("sam", "right-horse-battery")[1]
    log_in("sam", "wrong")
    log_in("sam", "wrong")
    assert log_in("sam", "right-horse-battery")[1]


def test_it_still_logs_the_seeded_demo_admin_in_with_admin_admin():
    """The README promises `login: admin / admin` after `make run`; validators apply to forms only."""
    call_command("seed_demo", stdout=None)
    assert log_in("admin", "admin")[1]


@pytest.mark.parametrize(
    "password",
    ["admin", "short", "password123", "12345678901234", "sam-the-staffer"],
    ids=["too short and common", "too short", "common", "numeric", "like the username"],
)
def test_it_refuses_weak_passwords_where_one_is_chosen(staff, password):
    staff.username = "sam-the-staffer"
    with pytest.raises(ValidationError):
        validate_password(password, user=staff)


def test_it_accepts_a_strong_password(staff):
    validate_password("correct-horse-battery-staple", user=staff)
